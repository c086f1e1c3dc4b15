"""Operator commands meet odd input without surprises (issue 11, low items), over real Dovecot + aiosmtpd:
a header-only mail released with --force never answers anyone automatically, `tickets reply` refuses
text that is not UTF-8 or too large with one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mailbot.cli import main
from tests.e2e.conftest import TEAM, Bot, make_mail, parse, text_of, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
LIMIT = 20_000
CUSTOMER = "kunde@example.org"
VICTIM = "opfer@elsewhere.example"


@pytest.fixture
def bot(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    extra = f"[limits]\nmax_message_bytes = {LIMIT}\n"
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, extra=extra)
    return Bot(dovecot, imap_user, smtp_sink, config)


def release_large(bot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    config = ["--config", str(bot.config)]
    capsys.readouterr()
    assert main(["quarantine", "list", "--json", *config]) == 0
    [large] = [item for item in json.loads(capsys.readouterr().out) if "too large" in item["reason"]]
    assert main(["quarantine", "release", str(large["id"]), "--force", *config]) == 0


def test_a_header_only_mail_released_with_force_becomes_a_ticket_and_answers_nobody(bot: Bot, capsys):
    body = "Wie setze ich mein Passwort zurück?\n" + ("y" * 76 + "\n") * 400  # too large: header only
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", body, headers={"Reply-To": VICTIM}))
    bot.run_once()
    release_large(bot, capsys)
    bot.run_once()

    (row,) = bot.inbound()
    assert (row.state, row.outcome) == ("done", "escalated")
    assert "header_only" in [hit["name"] for hit in row.decision["rule_hits"]]
    assert bot.sent_to(VICTIM) == [] and bot.sent_to(CUSTOMER) == []  # nothing automatic to anyone
    (ticket,) = bot.tickets()
    assert ticket.state == "escalated"
    (notice,) = bot.sent_to(TEAM)
    assert ticket.reference in parse(notice)["Subject"]
    assert "header_only: header only" in text_of(notice)  # the team sees why nobody was answered


def test_a_header_only_mail_released_while_closed_gets_no_out_of_hours_note(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, capsys
):
    hours = 'timezone = "Europe/Berlin"\nmonday = ["08:00-18:00"]\noutside_hours = "acknowledge"\n'
    extra = f"[limits]\nmax_message_bytes = {LIMIT}\n"
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, extra=extra, hours=hours)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    body = "Wie setze ich mein Passwort zurück?\n" + ("y" * 76 + "\n") * 400
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", body, headers={"Reply-To": VICTIM}))
    bot.run_once("--now", "2026-05-23T10:00+02:00")  # Saturday: taken, quarantined (too large)
    release_large(bot, capsys)
    bot.run_once("--now", "2026-05-23T10:05+02:00")
    assert bot.sink.messages == []
    (row,) = bot.inbound()
    assert row.state == "received"  # waits for Monday's opening, without a note


# --- tickets reply: what an agent types or pipes in --------------------------------------------------


OUTAGE = (
    "Seit dem Update heute stürzt die App bei allen Nutzern sofort beim Start ab. "
    "Niemand kann mehr Kurse buchen, es geht gar nichts mehr."
)


@pytest.fixture
def ticket_bot(bot: Bot) -> Bot:
    bot.deliver(make_mail(CUSTOMER, "App stürzt ab", OUTAGE))
    bot.run_once()
    assert [t.reference for t in bot.tickets()] == ["MB-000001"]
    bot.sink.clear()
    return bot


def reply(bot: Bot, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(
        ["tickets", "reply", "MB-000001", *args, "--agent", "Katrin Berger", "--config", str(bot.config)]
    )
    return code, capsys.readouterr().err


def nothing_sent(bot: Bot) -> bool:
    return bot.sent_to(CUSTOMER) == [] and not any(row.kind == "agent_reply" for row in bot.outbox())


def test_a_latin1_file_is_refused_with_one_line_naming_the_file(ticket_bot: Bot, capsys, tmp_path: Path):
    text = tmp_path / "antwort.txt"
    text.write_bytes("Sehr geehrte Frau Müller,\nwir kümmern uns.\n".encode("latin-1"))
    code, err = reply(ticket_bot, capsys, "--file", str(text))
    assert code == 1 and "Traceback" not in err
    [line] = err.strip().splitlines()
    assert str(text) in line and "not UTF-8" in line and "line 1" in line and "iconv" in line
    assert nothing_sent(ticket_bot)


def test_latin1_on_stdin_is_refused_too(ticket_bot: Bot, capsys, monkeypatch):
    import io
    import sys

    latin1 = io.TextIOWrapper(io.BytesIO("Grüße\n".encode("latin-1")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", latin1)
    code, err = reply(ticket_bot, capsys, "--file", "-")
    assert code == 1 and "standard input" in err and "not UTF-8" in err and "Traceback" not in err
    assert nothing_sent(ticket_bot)


def test_a_message_argument_with_undecodable_bytes_is_refused(ticket_bot: Bot, capsys):
    # what Python makes of non-UTF-8 bytes in argv under a UTF-8 locale (surrogateescape)
    code, err = reply(ticket_bot, capsys, "-m", b"Gr\xfc\xdfe".decode("utf-8", "surrogateescape"))
    assert code == 1 and "--message" in err and "not UTF-8" in err
    assert nothing_sent(ticket_bot)


def test_a_reply_over_the_limit_is_refused_and_one_at_the_limit_goes_out(ticket_bot: Bot, capsys, tmp_path):
    big = tmp_path / "log.txt"
    big.write_bytes(
        ("Zeile mit Logausgabe und etwas Text, die sich wiederholt.\n" * 110_000).encode()
    )  # 6 MB
    code, err = reply(ticket_bot, capsys, "--file", str(big))
    assert code == 1 and "1 MB" in err and "Traceback" not in err
    assert nothing_sent(ticket_bot)

    from mailbot.tickets.commands import MAX_AGENT_TEXT_BYTES

    fits = tmp_path / "fits.txt"
    fits.write_bytes(("ä" * 70 + "\n").encode() * (MAX_AGENT_TEXT_BYTES // 141))
    code, err = reply(ticket_bot, capsys, "--file", str(fits))
    assert code == 0, err
    (sent,) = ticket_bot.sent_to(CUSTOMER)
    assert len(sent) < 5 * MAX_AGENT_TEXT_BYTES  # carried twice (text and HTML) and encoded: bounded


def test_a_utf8_file_with_a_byte_order_mark_is_sent_without_it(ticket_bot: Bot, capsys, tmp_path):
    text = tmp_path / "antwort.txt"
    text.write_bytes("\ufeffSehr geehrte Frau Müller,\nwir kümmern uns.\n".encode())
    code, err = reply(ticket_bot, capsys, "--file", str(text))
    assert code == 0, err
    (sent,) = ticket_bot.sent_to(CUSTOMER)
    assert "wir kümmern uns." in text_of(sent) and "\ufeff" not in text_of(sent)
