"""The monthly report by mail (issue 14): due from its day and hour, queued once, sent over SMTP."""

from __future__ import annotations

import json
from pathlib import Path

from mailbot.cli import main
from tests.e2e.conftest import SUPPORT, Bot, make_mail, parse, write_config
from tests.servers import DovecotServer, SmtpSink

LEAD = "lead@client.example"


def test_the_months_report_goes_to_the_clients_contact_once(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink
) -> None:
    config = write_config(
        tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink,
        extra=f'[report]\nrecipients = ["{LEAD}"]\nday = 1\nhour = 7\n',
    )  # fmt: skip
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", "Wie setze ich mein Passwort zurück?"))

    bot.run_once("--now", "2026-12-01T06:55:00+01:00")  # before 07:00 local: not yet
    assert bot.sent_to(LEAD) == []
    bot.run_once("--now", "2026-12-01T07:05:00+01:00")
    bot.run_once("--now", "2026-12-01T07:20:00+01:00")  # again, and a restart: still once

    [raw] = bot.sent_to(LEAD)
    mail = parse(raw)
    assert mail["Subject"] == "Support-Bericht November 2026 – Aktivo Support"
    assert mail["From"] == f"Aktivo Support <{SUPPORT}>" and mail["Auto-Submitted"] == "auto-generated"
    kinds = {part.get_content_type() for part in mail.walk()}
    assert {"text/plain", "text/html"} <= kinds
    attached = {part.get_filename(): part.get_content() for part in mail.walk() if part.get_filename()}
    report = json.loads(attached["report.json"])
    assert report["period"]["label"] == "2026-11" and report["client"] == "default"
    assert "reference" in attached["facts.csv"]
    [row] = [r for r in bot.outbox() if r.kind == "report"]
    assert row.dedup_key == f"report:monthly:2026-11:{LEAD}" and row.state == "sent"
    assert main(["measures", "list", "--config", str(config)]) == 0
