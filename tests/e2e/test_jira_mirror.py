"""Issue 10, Jira Service Management end to end over real Dovecot + aiosmtpd + the JSM stand-in:
the customer's follow-up mail (with its screenshot) reaches the request and does not come back to
them; a customer Jira will not show is still raised; a permanent error fails at once in `status`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest

from mailbot.cli import main
from tests.e2e.conftest import SUPPORT, TEAM, Bot, parse, text_of
from tests.e2e.test_second_level import CUSTOMER, make_bot, report_outage
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm

pytestmark = pytest.mark.servers
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 16


def jira_section(jsm: FakeJsm, desk: str | None = None, extra: str = "") -> str:
    return f"""
[jira]
base_url = "{jsm.base_url}"
user = "{jsm.user}"
service_desk_id = "{desk or jsm.service_desk_id}"
request_type_id = "{jsm.request_type_id}"
{extra}
"""


@pytest.fixture
def jira_bot(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[Bot, FakeJsm]]:
    with FakeJsm() as jsm:
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        # the project key instead of the desk's number: resolved through GET /servicedesk
        yield make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=jira_section(jsm, desk="HELP")), jsm


def follow_up_with_screenshot(ack: EmailMessage) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Erika Muster <{CUSTOMER}>"
    mail["To"] = SUPPORT
    mail["Subject"] = f"Re: {ack['Subject']}"
    mail["Message-ID"] = make_msgid(domain="kunde.example")
    mail["In-Reply-To"] = ack["Message-ID"]
    mail.set_content("Hier der Screenshot von der Fehlermeldung.\n\n> alte Nachricht\n")
    mail.add_attachment(PNG, maintype="image", subtype="png", filename="Fehlermeldung.png")
    return mail.as_bytes(policy=policy.SMTP)


def test_follow_up_with_screenshot_reaches_the_request_once_and_not_the_customer_again(
    jira_bot: tuple[Bot, FakeJsm],
) -> None:
    bot, jsm = jira_bot
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    (ticket,) = bot.tickets()
    assert ticket.external_key == "HELP-1"
    (created,) = jsm.calls("POST", "/request")
    assert created.json["serviceDeskId"] == "7"  # "HELP" resolved to the desk's number
    assert "severity" not in created.json["requestFieldValues"]["description"].lower()
    (note,) = jsm.request("HELP-1").comments
    assert note["public"] is False and "Severity guess: critical" in note["body"]

    ack = parse(bot.sent_to(CUSTOMER)[0])
    bot.dovecot.append(bot.user, "INBOX", follow_up_with_screenshot(ack),
                       msg_time=datetime.fromisoformat("2026-05-26T09:20+02:00"))  # fmt: skip
    bot.run_once("--now", "2026-05-26T09:21+02:00")
    bot.run_once("--now", "2026-05-26T09:30+02:00")  # the next poll sees the comment: not mailed back

    request = jsm.request("HELP-1")
    reply = request.comments[-1]
    assert reply["public"] is True and reply["author"]["accountId"] == jsm.bot_account
    assert "Hier der Screenshot von der Fehlermeldung." in reply["body"]
    assert "alte Nachricht" not in reply["body"]  # the quoted history stays out
    assert [(a.filename, a.data) for a in request.attachments] == [("Fehlermeldung.png", PNG)]
    assert len(bot.sent_to(CUSTOMER)) == 1  # only the acknowledgement: their own words never come back
    assert len(bot.sent_to(TEAM)) == 2  # the notice of the ticket and of the follow-up, as before
    assert len(jsm.calls("POST", "/request")) == 1

    jsm.add_comment("HELP-1", "Danke, das Update kommt heute.")
    bot.run_once("--now", "2026-05-26T09:40+02:00")
    answers = bot.sent_to(CUSTOMER)[1:]
    assert len(answers) == 1 and "das Update kommt heute" in text_of(answers[0])


def test_customer_jira_will_not_show_is_raised_as_the_bot_and_recorded(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeJsm(jira_admin=False, browse_users=False) as jsm:
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        jsm.add_customer(CUSTOMER, "Erika Muster", on_desk=False, email_visible=False)
        bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=jira_section(jsm))
        report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
        bot.run_once("--now", "2026-05-26T09:01+02:00")

        (ticket,) = bot.tickets()
        request = jsm.request(ticket.external_key or "")
        assert request.reporter == jsm.bot_account
        assert request.fields["description"].startswith(f"E-mail from Erika Muster <{CUSTOMER}>")
        capsys.readouterr()
        config = ["--config", str(bot.config)]
        assert main(["tickets", "show", ticket.reference or "", "--json", *config]) == 0
        events = {e["kind"]: e["note"] for e in json.loads(capsys.readouterr().out)["events"]}
        assert "Browse users and groups" in events["jira_reporter_fallback"]
        assert events["mirrored"] == f"Jira Service Management {ticket.external_key}"

        jsm.add_comment(ticket.external_key or "", "Wir kümmern uns darum.")
        bot.run_once("--now", "2026-05-26T09:30+02:00")  # mailbot still tells the customer
        assert "Wir kümmern uns darum." in text_of(bot.sent_to(CUSTOMER)[-1])


def test_unknown_priority_fails_at_once_and_status_says_why(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeJsm() as jsm:
        monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
        extra = jira_section(jsm, extra='[jira.priorities]\ncritical = "Blocker"\n')
        bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=extra)
        report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
        bot.run_once("--now", "2026-05-26T09:01+02:00", expect=1)  # the failed job is reported
        bot.run_once("--now", "2026-05-26T12:00+02:00")

        status = bot.status(capsys)
        (failed,) = status["failed"]
        assert (failed["backend"], failed["event"], failed["attempts"]) == ("jira", "ticket.escalated", 1)
        assert (
            "Specify a valid value for priority" in failed["reason"]
            and "[jira] priorities" in failed["reason"]
        )
        assert len(jsm.calls("POST", "/request")) == 1


def test_a_priority_changed_in_jira_corrects_the_severity_once(jira_bot: tuple[Bot, FakeJsm]) -> None:
    bot, jsm = jira_bot
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    bot.run_once("--now", "2026-05-26T09:10+02:00")  # the first look: the priority mailbot sent
    (ticket,) = bot.tickets()
    assert ticket.severity == "critical" and jsm.request("HELP-1").fields["priority"] == {"name": "Highest"}

    jsm.set_priority("HELP-1", "High")  # the agent: one function, not an outage
    bot.run_once("--now", "2026-05-26T09:20+02:00")
    (corrected,) = bot.tickets()
    assert corrected.severity == "major"
    assert corrected.response_due_at > ticket.response_due_at  # major: more time than critical

    config = ["--config", str(bot.config)]
    assert main(["tickets", "severity", corrected.reference, "minor", *config]) == 0
    bot.run_once("--now", "2026-05-26T09:30+02:00")  # Jira still says High: no change since, no revert
    (kept,) = bot.tickets()
    assert kept.severity == "minor"
