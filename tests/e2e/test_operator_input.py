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
