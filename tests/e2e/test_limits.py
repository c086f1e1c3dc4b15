"""Oversized mail is quarantined at ingest without being loaded whole; odd small mail gets an outcome."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import TEAM, Bot, make_mail, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
LIMIT = 20_000


@pytest.fixture
def bot(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    extra = f"[limits]\nmax_message_bytes = {LIMIT}\n"
    return Bot(
        dovecot,
        imap_user,
        smtp_sink,
        write_config(tmp_path / "m.toml", dovecot, imap_user, smtp_sink, extra=extra),
    )


def test_oversized_mail_is_quarantined_with_its_header_only_and_moved_aside(bot: Bot, capsys) -> None:
    big = make_mail(
        "kunde@example.org", "Riesiger Anhang", "Hallo,\n" + "x" * 80 + "\n" * 0 + ("y" * 76 + "\n") * 400
    )
    small = make_mail("kunde2@example.org", "Passwort vergessen", "Wie setze ich mein Passwort zurück?")
    bot.deliver(big)
    bot.deliver(small)
    bot.run_once()

    [large] = [row for row in bot.inbound() if row.size > LIMIT]
    assert large.state == "quarantined" and "too large" in (large.reason or "")
    assert len(large.raw) < 5_000 and b"Subject: Riesiger Anhang" in large.raw  # the header only
    assert len(bot.inbound()) == 2 and any(row.state == "done" for row in bot.inbound())
    assert bot.sent_to("kunde@example.org") == []
    assert len(bot.dovecot.list_folder(bot.user, "Quarantine")) == 1
    [item] = bot.status(capsys)["quarantined"]
    assert "max_message_bytes" in item["reason"]


def test_empty_and_attachment_only_mails_end_with_a_reason(bot: Bot) -> None:
    bot.deliver(make_mail("leer@example.org", "", ""))
    bot.deliver(make_mail("anhang@example.org", "Screenshot", ""))
    bot.run_once()
    assert all(row.state in ("done", "quarantined") and row.reason for row in bot.inbound())


def test_quarantine_list_show_and_release(bot: Bot, capsys) -> None:
    from mailbot.cli import main

    bot.deliver(b"Subject: kaputt\r\n\r\nkein Absender, keine Header")
    bot.deliver(make_mail("kunde@example.org", "Riesig", ("y" * 76 + "\n") * 400))
    bot.run_once()
    config = ["--config", str(bot.config)]
    capsys.readouterr()
    assert main(["quarantine", "list", "--json", *config]) == 0
    items = json.loads(capsys.readouterr().out)
    [broken] = [item for item in items if "too large" not in item["reason"]]
    [large] = [item for item in items if "too large" in item["reason"]]

    assert main(["quarantine", "show", str(broken["id"]), *config]) == 0
    assert "reason:" in capsys.readouterr().out
    assert main(["quarantine", "release", str(large["id"]), *config]) == 1  # header only: needs --force
    assert main(["quarantine", "release", str(broken["id"]), *config]) == 0
    assert {row.id: row.state for row in bot.inbound()}[broken["id"]] == "received"
    bot.run_once()
    row = {row.id: row for row in bot.inbound()}[broken["id"]]
    assert row.state in ("done", "quarantined") and row.reason  # decided again, with a reason
    assert main(["quarantine", "show", "999", *config]) == 1


def test_a_flood_from_one_sender_opens_tickets_but_caps_replies_and_team_notices(bot: Bot) -> None:
    for number in range(14):
        bot.deliver(make_mail("flood@example.org", f"Problem {number}", f"Etwas Unbekanntes {number}."))
    bot.run_once()
    assert len(bot.tickets()) == 14
    assert len(bot.sent_to("flood@example.org")) == 3  # [limits] replies_per_sender_per_day
    assert len(bot.sent_to(TEAM)) == 10  # [limits] team_notices_per_sender_per_hour
