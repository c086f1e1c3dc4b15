"""Issue 4 end to end over real Dovecot + aiosmtpd: severity, SLA due times in business hours, the SLA
watch, resolving via the CLI and via the Jira Service Management stand-in, incidents, status answers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.cli import main
from tests.e2e.conftest import TEAM, Bot, make_mail, parse, text_of, write_config
from tests.servers import DovecotServer, SmtpSink
from tests.servers.jsm import FakeJsm
from tests.servers.webhook_sink import WebhookSink

pytestmark = pytest.mark.servers
BERLIN = ZoneInfo("Europe/Berlin")
HOURS = """timezone = "Europe/Berlin"
monday = ["08:00-12:00", "13:00-18:00"]
tuesday = ["08:00-12:00", "13:00-18:00"]
wednesday = ["08:00-12:00", "13:00-18:00"]
thursday = ["08:00-12:00", "13:00-18:00"]
friday = ["08:00-12:00", "13:00-18:00"]
holidays = { country = "DE", subdivision = "BY" }
"""
SLA = """
[sla.critical]
response_hours = 2
resolution_hours = 8
"""
CUSTOMER = "erika@kunde.example"
OUTAGE = (
    "Seit dem Update heute stürzt die App bei allen Nutzern sofort beim Start ab. "
    "Niemand kann mehr Kurse buchen, es geht gar nichts mehr."
)


@pytest.fixture
def jsm() -> Iterator[FakeJsm]:
    with FakeJsm() as fake:
        yield fake


def make_bot(tmp_path: Path, dovecot: DovecotServer, user: str, sink: SmtpSink, extra: str = "") -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, user, sink, hours=HOURS, extra=SLA + extra)
    return Bot(dovecot, user, sink, config)


@pytest.fixture
def bot(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    return make_bot(tmp_path, dovecot, imap_user, smtp_sink)


def report_outage(
    bot: Bot, sender: str, when: str, body: str = OUTAGE, subject: str = "App stürzt ab"
) -> None:
    raw = make_mail(sender, subject, body, name="Erika Muster")
    bot.dovecot.append(bot.user, "INBOX", raw, msg_time=datetime.fromisoformat(when))


def test_critical_report_on_friday_evening_is_due_on_tuesday_after_whit_monday(bot: Bot) -> None:
    report_outage(bot, CUSTOMER, "2026-05-22T17:55+02:00")
    bot.run_once("--now", "2026-05-22T17:56+02:00")

    (ticket,) = bot.tickets()
    assert ticket.severity == "critical" and ticket.state == "escalated"
    assert ticket.severity_reasons  # the reasons travel with the guess
    # 5 minutes on Friday, Saturday/Sunday closed, Monday 25 May is Whit Monday in Bavaria, 1 h 55 on Tuesday
    assert ticket.response_due_at.astimezone(BERLIN) == datetime(2026, 5, 26, 9, 55, tzinfo=BERLIN)
    (ack,) = bot.sent_to(CUSTOMER)
    text = text_of(ack)
    assert "MB-000001" in parse(ack)["Subject"]
    assert "Dienstag, 26. Mai 2026, 09:55 Uhr" in text
    assert "kritisch" in text.lower()
    (notice,) = bot.sent_to(TEAM)
    notice_text = text_of(notice)
    assert "critical" in notice_text.lower() or "kritisch" in notice_text.lower()
    assert "26. Mai 2026, 09:55" in notice_text


def test_sla_watch_warns_before_the_breach_and_records_it_once(bot: Bot, capsys) -> None:
    report_outage(bot, CUSTOMER, "2026-05-22T17:55+02:00")
    bot.run_once("--now", "2026-05-22T17:56+02:00")
    team_before = len(bot.sent_to(TEAM))

    bot.run_once("--now", "2026-05-26T09:00+02:00")  # 65 of 120 minutes used: quiet
    assert len(bot.sent_to(TEAM)) == team_before
    bot.run_once("--now", "2026-05-26T09:35+02:00")  # 100 of 120 minutes: warn
    alerts = bot.sent_to(TEAM)[team_before:]
    assert len(alerts) == 1 and "SLA" in parse(alerts[0])["Subject"]
    bot.run_once("--now", "2026-05-26T09:40+02:00")  # warned already
    bot.run_once("--now", "2026-05-26T09:55+02:00")  # due now: not yet breached
    assert len(bot.sent_to(TEAM)) == team_before + 1
    assert bot.tickets()[0].sla_breached_at is None

    bot.run_once("--now", "2026-05-26T09:56+02:00")
    bot.run_once("--now", "2026-05-26T10:30+02:00")
    (ticket,) = bot.tickets()
    assert ticket.sla_breached_at is not None and ticket.sla_warned_at is not None
    assert len(bot.sent_to(TEAM)) == team_before + 2  # one warning, one breach
    assert bot.status(capsys)["sla_breached"] == 1


def test_resolving_from_the_cli_tells_the_customer_once_in_the_same_thread(bot: Bot, capsys) -> None:
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    customer_mail = bot.inbound()[0].message_id
    config = ["--config", str(bot.config), "--now", "2026-05-26T11:00+02:00"]

    assert (
        main(["tickets", "resolve", "MB-000001", "-m", "Behoben mit Version 2.3.1.\n{{ 7*7 }}", *config]) == 0
    )
    assert main(["tickets", "resolve", "MB-000001", "-m", "noch einmal", *config]) == 1  # already solved
    bot.run_once("--now", "2026-05-26T11:05+02:00")

    solved = bot.sent_to(CUSTOMER)[1:]
    assert len(solved) == 1
    message = parse(solved[0])
    assert message["In-Reply-To"] == customer_mail and "MB-000001" in message["Subject"]
    assert "Behoben mit Version 2.3.1." in text_of(solved[0]) and "{{ 7*7 }}" in text_of(solved[0])
    (ticket,) = bot.tickets()
    assert ticket.state == "solved" and ticket.responded_at is not None

    capsys.readouterr()
    assert main(["tickets", "show", "MB-000001", "--json", *config]) == 0
    assert '"solved"' in capsys.readouterr().out


def test_customer_reply_reopens_a_solved_ticket_but_an_auto_reply_does_not(bot: Bot) -> None:
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    config = ["--config", str(bot.config), "--now", "2026-05-26T11:00+02:00"]
    assert main(["tickets", "resolve", "MB-000001", "-m", "Behoben.", *config]) == 0
    solved = parse(bot.sent_to(CUSTOMER)[-1])

    auto = make_mail(
        CUSTOMER,
        f"Re: {solved['Subject']}",
        "Ich bin im Urlaub.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": solved["Message-ID"]},
    )
    bot.dovecot.append(bot.user, "INBOX", auto)
    bot.run_once("--now", "2026-05-26T11:10+02:00")
    assert bot.tickets()[0].state == "solved"

    again = make_mail(
        CUSTOMER,
        f"Re: {solved['Subject']}",
        "Leider stürzt die App immer noch ab.",
        headers={"In-Reply-To": solved["Message-ID"]},
    )
    bot.dovecot.append(bot.user, "INBOX", again)
    bot.run_once("--now", "2026-05-26T11:20+02:00")
    (ticket,) = bot.tickets()
    assert ticket.state == "escalated" and ticket.resolved_at is None


def test_status_question_is_answered_with_state_and_due_time_at_most_once_in_a_while(bot: Bot) -> None:
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    ack = parse(bot.sent_to(CUSTOMER)[0])
    for minute in ("09:10", "09:20"):
        ask = make_mail(
            CUSTOMER,
            f"Re: {ack['Subject']}",
            "Gibt es Neuigkeiten?",
            headers={"In-Reply-To": ack["Message-ID"]},
        )
        bot.dovecot.append(bot.user, "INBOX", ask)
        bot.run_once("--now", f"2026-05-26T{minute}+02:00")
    answers = bot.sent_to(CUSTOMER)[1:]
    assert len(answers) == 1  # the second question within status_reply_hours gets no second answer
    assert "Dienstag, 26. Mai 2026, 11:00 Uhr" in text_of(answers[0])


def test_three_reports_of_one_outage_become_one_incident_and_three_solved_mails(bot: Bot) -> None:
    customers = ["a@kunde.example", "b@kunde.example", "c@kunde.example"]
    bodies = [
        OUTAGE,
        "Hallo, seit dem Update stürzt die App bei allen sofort beim Start ab, keiner kann buchen.",
        "Since today's update the app crashes for all users right at start, nobody can book anything.",
    ]
    for customer, body in zip(customers, bodies, strict=True):
        report_outage(bot, customer, "2026-05-26T09:00+02:00", body=body)
    bot.run_once("--now", "2026-05-26T09:05+02:00")
    parent, *children = bot.tickets()
    assert [t.severity for t in bot.tickets()] == ["critical"] * 3
    assert [child.parent_id for child in children] == [parent.id, parent.id]

    config = ["--config", str(bot.config), "--now", "2026-05-26T10:00+02:00"]
    assert (
        main(["tickets", "resolve", parent.reference, "-m", "Version 2.3.1 behebt den Absturz.", *config])
        == 0
    )
    for customer in customers:
        assert len(bot.sent_to(customer)) == 2  # acknowledgement + solved
        assert "2.3.1" in text_of(bot.sent_to(customer)[-1])
    assert {t.state for t in bot.tickets()} == {"solved"}


def test_jira_mirror_comment_and_resolution_reach_the_customer_once(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, jsm: FakeJsm, monkeypatch
) -> None:
    monkeypatch.setenv("MAILBOT_JIRA_TOKEN", jsm.token)
    jira = f"""
[jira]
base_url = "{jsm.base_url}"
user = "{jsm.user}"
service_desk_id = "{jsm.service_desk_id}"
request_type_id = "{jsm.request_type_id}"
"""
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=jira)
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")

    (created,) = jsm.calls("POST", "/rest/servicedeskapi/request")
    assert created.json["requestFieldValues"]["priority"] == {"name": "Highest"}
    assert created.json["requestFieldValues"]["summary"].startswith("[MB-000001]")
    (ticket,) = bot.tickets()
    key = ticket.external_key
    assert key

    jsm.add_comment(key, "Wir haben den Fehler gefunden und arbeiten an einem Update.")
    bot.run_once("--now", "2026-05-26T09:30+02:00")
    bot.run_once("--now", "2026-05-26T09:35+02:00")  # the same comment is not relayed twice
    customer_mails = bot.sent_to(CUSTOMER)
    assert len(customer_mails) == 2 and "arbeiten an einem Update" in text_of(customer_mails[1])
    assert bot.tickets()[0].responded_at is not None

    jsm.add_comment(key, "Version 2.3.1 ist veröffentlicht und behebt den Absturz.")
    jsm.set_status(key, "Resolved", "DONE")
    bot.run_once("--now", "2026-05-26T10:00+02:00")
    bot.run_once("--now", "2026-05-26T10:05+02:00")
    customer_mails = bot.sent_to(CUSTOMER)
    assert len(customer_mails) == 3 and "2.3.1" in text_of(customer_mails[2])
    assert bot.tickets()[0].state == "solved"
    assert len(jsm.calls("POST", "/rest/servicedeskapi/request")) == 1


def test_out_of_hours_mail_gets_a_note_at_once_and_is_decided_at_the_opening(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink
) -> None:
    config = write_config(
        tmp_path / "mailbot.toml",
        dovecot,
        imap_user,
        smtp_sink,
        hours=HOURS + 'outside_hours = "acknowledge"\n',
        extra=SLA,
    )
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    report_outage(bot, CUSTOMER, "2026-05-23T10:00+02:00")  # Saturday
    bot.run_once("--now", "2026-05-23T10:01+02:00")
    (note,) = bot.sent_to(CUSTOMER)
    assert "Dienstag, 26. Mai 2026, 08:00 Uhr" in text_of(note)
    assert bot.tickets() == []
    bot.run_once("--now", "2026-05-23T11:00+02:00")
    assert len(bot.sent_to(CUSTOMER)) == 1  # one note per mail

    bot.run_once("--now", "2026-05-26T08:00+02:00")
    (ticket,) = bot.tickets()
    assert ticket.response_due_at.astimezone(BERLIN) == datetime(2026, 5, 26, 10, 0, tzinfo=BERLIN)
    assert len(bot.sent_to(CUSTOMER)) == 2


def test_mail_waits_outside_hours_and_the_backlog_is_decided_in_arrival_order(bot: Bot) -> None:
    report_outage(bot, "late@kunde.example", "2026-05-23T18:00+02:00")  # appended first, arrived later
    report_outage(bot, "early@kunde.example", "2026-05-23T10:00+02:00")
    bot.run_once("--now", "2026-05-23T18:01+02:00")
    assert bot.inbound() == [] and bot.sink.messages == []
    bot.run_once("--now", "2026-05-26T08:00+02:00")
    assert [t.customer for t in bot.tickets()] == ["early@kunde.example", "late@kunde.example"]
    assert len(bot.sent_to("early@kunde.example")) == 1


def test_webhook_gets_signed_escalated_and_solved_events_once_even_after_a_failure(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, monkeypatch
) -> None:
    secret = "webhook-secret-0123456789"
    monkeypatch.setenv("MAILBOT_WEBHOOK_SECRET", secret)
    with WebhookSink(secret) as sink:
        bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, extra=f'[webhook]\nurl = "{sink.url}"\n')
        sink.respond_next(503)  # the first try fails: the job is retried later, not lost
        report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
        bot.run_once("--now", "2026-05-26T09:01+02:00")
        bot.run_once("--now", "2026-05-26T11:00+02:00")  # after the backoff
        config = ["--config", str(bot.config), "--now", "2026-05-26T11:30+02:00"]
        assert main(["tickets", "resolve", "MB-000001", "-m", "Behoben.", *config]) == 0
        bot.run_once("--now", "2026-05-26T11:31+02:00")
        bot.run_once("--now", "2026-05-26T13:00+02:00")

        accepted = [d for d in sink.deliveries if d.status == 204]
        assert all(d.verified for d in sink.deliveries)
        assert [d.event["type"] for d in accepted] == ["ticket.escalated", "ticket.solved"]
        assert accepted[0].event["ticket"]["severity"] == "critical"
        assert accepted[0].headers["x-mailbot-delivery"] == sink.deliveries[0].headers["x-mailbot-delivery"]
