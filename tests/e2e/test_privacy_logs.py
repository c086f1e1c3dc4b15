"""Issue 15, minimisation: at the default log level no log line holds a customer's text or full address.

Hostile and normal mails go through the real Dovecot, aiosmtpd, the Jira Service Management stand-in and
the webhook receiver: a name in From, marker words in subject, body, attachment names, a header value
that makes a rule fire and a Message-ID; a mail that cannot be parsed; a stranger's reply to a ticket; a
follow-up whose attachment Jira refuses. Every record of every logger (formatted, with exception text)
and the stderr of `mailbot run --once` as a process are searched for the markers and the addresses.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from tests.e2e.conftest import SUPPORT, Bot, make_mail, parse
from tests.e2e.test_jira_mirror import jira_section
from tests.e2e.test_second_level import OUTAGE, make_bot
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm
from tests.servers.webhook_sink import WebhookSink

pytestmark = pytest.mark.servers

ERIKA = "erika.kuckuck@kunde.example"
MAX = "max.ochsner@kunde.example"
STRANGER = "fremder.pfeffer@andere.example"
NOBODY = "niemand.zwirbel@kunde.example"
ADDRESSES = (ERIKA, MAX, STRANGER, NOBODY)
MARKERS = {
    "name": "Kuckucksuhrenbauer",
    "subject": "Quellwasserbrunnen",
    "body": "Zwetschgenröster",
    "attachment": "Hagebuttenmarmelade",
    "header": "Ochsenschwanzsuppe",
    "message_id": "Pfefferminzbonbon",
    "unparsed": "Schlehenfeuer",
    "follow_up": "Wacholderdrossel",
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
SECRET = "webhook-secret-0123456789"


def at(bot: Bot, raw: bytes, when: str) -> None:
    bot.dovecot.append(bot.user, "INBOX", raw, msg_time=datetime.fromisoformat(when))


def outage_with_attachment() -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Erika {MARKERS['name']} <{ERIKA}>"
    mail["To"] = SUPPORT
    mail["Subject"] = f"App stürzt ab {MARKERS['subject']}"
    mail["Message-ID"] = make_msgid(domain="kunde.example")
    mail.set_content(f"{OUTAGE}\nMein Gerät heißt {MARKERS['body']}.\n")
    mail.add_attachment(PNG, maintype="image", subtype="png", filename=f"{MARKERS['attachment']}.png")
    return mail.as_bytes(policy=policy.SMTP)


def follow_up(ack: EmailMessage, sender: str, message_id: str, attachment: str | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = SUPPORT
    mail["Subject"] = f"Re: {ack['Subject']}"
    mail["Message-ID"] = message_id
    mail["In-Reply-To"] = ack["Message-ID"]
    mail.set_content(f"Noch etwas: {MARKERS['follow_up']} geht auch nicht.\n")
    if attachment:
        mail.add_attachment(PNG, maintype="image", subtype="png", filename=attachment)
    return mail.as_bytes(policy=policy.SMTP)


def without_from() -> bytes:
    raw = make_mail(NOBODY, f"Hilfe {MARKERS['unparsed']}", f"{MARKERS['unparsed']} kaputt")
    return b"\r\n".join(line for line in raw.split(b"\r\n") if not line.startswith(b"From:"))


def leaks(text: str) -> list[str]:
    found = [f"{kind}: {word}" for kind, word in MARKERS.items() if word.lower() in text.lower()]
    found += [address for address in ADDRESSES if address in text or address.replace("@", "%40") in text]
    return found


@pytest.fixture
def backends(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeJsm, WebhookSink]]:
    monkeypatch.setenv("MAILBOT_WEBHOOK_SECRET", SECRET)
    with FakeJsm(attachments=False) as jsm, WebhookSink(SECRET) as hook:  # Jira refuses attachments
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        yield jsm, hook


def test_no_customer_text_or_address_in_any_log_record_at_the_default_level(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    backends: tuple[FakeJsm, WebhookSink],
    caplog: pytest.LogCaptureFixture,
) -> None:
    jsm, hook = backends
    extra = jira_section(jsm) + f'[webhook]\nurl = "{hook.url}"\n'
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=extra)
    hook.respond_next(503)  # a deferred webhook call is logged too
    at(bot, outage_with_attachment(), "2026-05-26T09:00+02:00")
    auto = {"Auto-Submitted": f"auto-replied ({MARKERS['header']})"}
    at(bot, make_mail(MAX, "Ihre Nachricht", "Ich bin nicht da.", headers=auto), "2026-05-26T09:00+02:00")
    at(bot, without_from(), "2026-05-26T09:00+02:00")
    with caplog.at_level(logging.INFO):  # the level `mailbot run` logs at unless told otherwise
        bot.run_once("--now", "2026-05-26T09:01+02:00")
        [ack] = [parse(m) for m in bot.sent_to(ERIKA)]
        stranger_id = f"<{MARKERS['message_id']}.{STRANGER}>"  # a Message-ID that carries an address
        at(bot, follow_up(ack, STRANGER, stranger_id), "2026-05-26T09:10+02:00")
        attachment = f"{MARKERS['attachment']}-2.png"
        at(
            bot,
            follow_up(ack, ERIKA, make_msgid(domain="kunde.example"), attachment),
            "2026-05-26T09:11+02:00",
        )
        bot.run_once("--now", "2026-05-26T09:12+02:00")
        bot.run_once("--now", "2026-05-26T11:00+02:00")  # the webhook's retry and the Jira reply
        records = list(caplog.records)

    outcomes = sorted(str(row.outcome) for row in bot.inbound())
    assert outcomes.count("quarantined") == 1 and "ignored" in outcomes and "escalated" in outcomes
    request = jsm.request("HELP-1")  # (HELP-2 is the stranger's: a new conversation)
    assert request.comments and not request.attachments  # the follow-up reached Jira, its file did not
    assert [d.status for d in hook.deliveries][:2] == [503, 204]
    logged = caplog.text
    every_record = "\n".join(
        logging.Formatter("%(name)s %(levelname)s %(message)s").format(record) for record in records
    )
    assert leaks(logged) == [] and leaks(every_record) == []
    # what the operator needs is still there: ids, the ticket, the rule, the Jira request
    assert "MB-000001" in logged and "rule auto_submitted" in logged and "quarantined" in logged
    assert "an attachment of" in logged and "not attached" in logged
    assert "e***@kunde.example" in logged  # addresses appear shortened


def test_run_once_as_a_process_writes_no_customer_text_to_its_log(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink
) -> None:
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink)
    at(bot, outage_with_attachment(), "2026-05-26T09:00+02:00")
    auto = {"Auto-Submitted": f"auto-replied ({MARKERS['header']})"}
    at(bot, make_mail(MAX, "Ihre Nachricht", "Ich bin nicht da.", headers=auto), "2026-05-26T09:00+02:00")
    at(bot, without_from(), "2026-05-26T09:00+02:00")
    env = {k: v for k, v in os.environ.items() if k != "MAILBOT_LOG_LEVEL"}  # the default level
    done = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "run", "--once", "--config", str(bot.config),
         "--now", "2026-05-26T09:01+02:00"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "inbound #" in done.stderr and "MB-000001" in done.stderr  # it did log, at INFO
    assert leaks(done.stderr + done.stdout) == []


def test_at_debug_the_log_has_the_imap_conversation_and_mailbots_details_not_library_chatter(
    bot: Bot,
) -> None:
    # markdown-it wrote ~1,400 lines per answer at DEBUG, mailparser-reply its patterns for every mail
    bot.deliver(make_mail(ERIKA, "Passwort vergessen", "Ich habe mein Passwort vergessen. Was nun?"))
    done = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "--log-level", "DEBUG", "run", "--once",
         "--config", str(bot.config)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    loggers = {line.split()[3] for line in done.stderr.splitlines() if " DEBUG " in line}
    assert any(name.startswith("mailbot.") for name in loggers)  # mailbot's own details
    assert any(name.startswith("imapclient") for name in loggers)  # what DEBUG is for (docs/privacy.md)
    assert not [name for name in loggers if name.startswith(("markdown_it", "mailparser_reply"))]
    assert "answered" in done.stderr
