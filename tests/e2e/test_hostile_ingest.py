"""Ingest under hostile or broken input (issue 11): reused Message-IDs lose nobody, true duplicates are
skipped and counted, and a mail the database refuses fails alone (real Dovecot, SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Bot, write_config

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def form_mail(sender: str, text: str, received: str = "") -> bytes:
    """What a careless form mailer writes: the same Message-ID for everyone."""
    return (
        f"{received}From: {sender}\r\nTo: support@example.com\r\nSubject: Kontaktformular\r\n"
        f"Message-ID: <1@localhost>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
    ).encode()


@pytest.fixture
def pg_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url) -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    return Bot(dovecot, imap_user, smtp_sink, config)


def test_a_reused_message_id_loses_no_customer_and_true_duplicates_are_counted(pg_bot: Bot, capsys):
    for number in range(5):
        pg_bot.deliver(form_mail(f"kunde{number}@example.org", f"{QUESTION} (Kundin {number})"))
    duplicate = form_mail("kunde0@example.org", f"{QUESTION} (Kundin 0)", received="Received: relay2\r\n")
    pg_bot.deliver(duplicate)  # the same mail once more, through another relay: a true duplicate
    pg_bot.run_once()
    rows = pg_bot.inbound()
    assert len(rows) == 5
    assert {row.outcome for row in rows} == {"answered"}
    assert {tuple(m.rcpt_tos) for m in pg_bot.sink.messages} == {(f"kunde{n}@example.org",) for n in range(5)}
    status = pg_bot.status(capsys)
    assert status["duplicates_skipped"] == 1


def test_a_message_id_longer_than_a_line_is_stored_and_decided_and_the_next_mail_too(pg_bot: Bot):
    long_id = "<" + "x" * 600 + "\r\n " + "y" * 600 + "@example.org>"  # folded: every line is legal
    pg_bot.deliver(
        (
            f"From: lang@example.org\r\nTo: support@example.com\r\nSubject: Passwort\r\n"
            f"Message-ID: {long_id}\r\n\r\n{QUESTION}\r\n"
        ).encode()
    )
    pg_bot.deliver(form_mail("danach@example.org", QUESTION))
    pg_bot.run_once()
    rows = pg_bot.inbound()
    assert len(rows) == 2
    assert all(row.state in ("done", "quarantined") for row in rows)
    assert all(len(row.message_id) <= 998 for row in rows)
    assert sorted(r for m in pg_bot.sink.messages for r in m.rcpt_tos) == [
        "danach@example.org",
        "lang@example.org",
    ]


def test_nul_bytes_surrogates_and_overlong_values_never_reach_the_database_raw(pg_bot: Bot):
    """PostgreSQL refuses NUL and invalid UTF-8 and enforces lengths that SQLite ignores."""
    name = "N\x00ame " + "x" * 500
    raw = (
        f"From: {name} <kunde@example.org>\r\nTo: support@example.com\r\n"
        f"Subject: Passwort\x00 vergessen \udcff\r\nMessage-ID: <nul-1@example.org>\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{QUESTION}\x00 Bitte helfen.\r\n"
    ).encode("utf-8", "surrogateescape")
    pg_bot.deliver(raw)
    pg_bot.deliver(form_mail("danach@example.org", QUESTION))
    pg_bot.run_once()
    rows = pg_bot.inbound()
    assert len(rows) == 2 and all(row.state in ("done", "quarantined") for row in rows)
    assert all("\x00" not in (row.subject or "") for row in rows)
    assert "danach@example.org" in [r for m in pg_bot.sink.messages for r in m.rcpt_tos]
