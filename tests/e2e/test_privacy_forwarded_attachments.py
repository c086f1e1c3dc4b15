"""Issue 15 end to end over real Dovecot + aiosmtpd + the JSM stand-in: a customer's outage report with a
screenshot, a zip and a 12 MB PDF escalates; the team's notice carries the screenshot and names the zip
and the PDF as removed, and Jira receives the screenshot only."""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes
from email import policy as email_policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.e2e.conftest import SUPPORT, TEAM, Bot, parse, text_of
from tests.e2e.test_jira_mirror import jira_section
from tests.e2e.test_second_level import CUSTOMER, OUTAGE, make_bot
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm

pytestmark = pytest.mark.servers
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16
ZIP = b"PK\x03\x04" + b"\x00" * 2000
PDF = b"%PDF-1.7\n" + b"%" * (12 * 1024 * 1024)


def outage_with_attachments() -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Erika Muster <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Subject"] = "App stürzt ab"
    mail["Message-ID"] = make_msgid(domain="kunde.example")
    mail.set_content(OUTAGE + "\n")
    mail.add_attachment(PNG, maintype="image", subtype="png", filename="Fehlermeldung.png")
    mail.add_attachment(ZIP, maintype="application", subtype="zip", filename="logs.zip")
    mail.add_attachment(PDF, maintype="application", subtype="pdf", filename="Handbuch.pdf")
    return mail.as_bytes(policy=email_policy.SMTP)


def test_team_and_jira_get_only_what_privacy_lets_out(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeJsm() as jsm:
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        bot: Bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=jira_section(jsm))
        bot.dovecot.append(bot.user, "INBOX", outage_with_attachments(),
                           msg_time=datetime.fromisoformat("2026-05-26T09:00+02:00"))  # fmt: skip
        bot.run_once("--now", "2026-05-26T09:01+02:00")

        (ticket,) = bot.tickets()
        assert ticket.state == "escalated" and ticket.external_key
        (notice,) = bot.sent_to(TEAM)
        text = text_of(notice)
        assert "ohne diese Anhänge" in text
        assert "logs.zip (application/zip): Dateityp application/zip ist nicht in" in text
        assert (
            "Handbuch.pdf (application/pdf): 12,0 MB ist größer als [privacy] forward_attachment_max_mb"
            in text
        )

        (original,) = [p for p in parse(notice).iter_attachments() if p.get_filename() == "original.eml"]
        inner = message_from_bytes(original.get_payload()[0].as_bytes())  # type: ignore[index]
        parts = inner.get_payload()
        assert isinstance(parts, list) and len(parts) == 4  # text, the PNG, two notes
        assert parts[1].get_filename() == "Fehlermeldung.png" and parts[1].get_payload(decode=True) == PNG
        notes = [p.get_payload(decode=True).decode() for p in parts[2:]]
        assert notes[0].startswith("Anhang entfernt: logs.zip (application/zip, 2,0 kB)")
        assert notes[1].startswith("Anhang entfernt: Handbuch.pdf (application/pdf, 12,0 MB)")
        assert len(notice) < 200_000  # neither the zip nor the 12 MB reached the team

        request = jsm.request(ticket.external_key or "")
        assert [(a.filename, a.data) for a in request.attachments] == [("Fehlermeldung.png", PNG)]
        (files_comment,) = [c for c in request.comments if c["body"].startswith("Attachments of the e-mail")]
        assert (
            "Not attached (kept in mailbot): logs.zip (type application/zip is not in"
            in files_comment["body"]
        )
        assert (
            "Handbuch.pdf (12.0 MB is over [privacy] forward_attachment_max_mb (10.0 MB))"
            in files_comment["body"]
        )

        bot.run_once("--now", "2026-05-26T09:10+02:00")  # a second pass uploads nothing again
        assert len(jsm.request(ticket.external_key or "").attachments) == 1
        assert len(bot.sent_to(TEAM)) == 1
