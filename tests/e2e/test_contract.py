"""The contract as agencies sell it, over real Dovecot + aiosmtpd + the webhook sink: critical faults
are handled without delay (a 24/7 SLA calendar, an on-call alert), confident answers may go out at any
time, and everything else waits for the opening, untouched, and is decided there exactly once."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mailbot.app import build_app
from mailbot.clock import fixed_clock
from mailbot.config import load_settings
from mailbot.pipeline.deferral import OutsideHours
from mailbot.pipeline.process import process_pending
from tests.e2e.conftest import TEAM, Bot, make_mail, parse, text_of, write_config
from tests.servers import DovecotServer, SmtpSink
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
ONCALL = "oncall@agency.example"
CONTRACT = f"""
[sla.critical]
calendar = "24/7"
[oncall]
address = "{ONCALL}"
"""
SECRET = "webhook-secret-0123456789"
OUTAGE = (
    "Seit dem Update heute stürzt die App bei allen Nutzern sofort beim Start ab. "
    "Niemand kann mehr Kurse buchen, es geht gar nichts mehr."
)
COSMETIC = (
    "Auf der Startseite ist das Logo etwas verschoben und im Menü ist ein Buchstabe abgeschnitten. "
    "Sonst funktioniert alles."
)
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
DOWN, LOGO, ASKS = "down@kunde.example", "logo@kunde.example", "asks@kunde.example"


def make_bot(
    tmp_path: Path, dovecot: DovecotServer, user: str, sink: SmtpSink, hours: str, extra: str
) -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, user, sink, hours=hours, extra=extra)
    return Bot(dovecot, user, sink, config)


def arrives(bot: Bot, sender: str, subject: str, body: str, when: str) -> None:
    raw = make_mail(sender, subject, body, name="Erika Muster")
    bot.dovecot.append(bot.user, "INBOX", raw, msg_time=datetime.fromisoformat(when))


def state_of(bot: Bot, sender: str) -> tuple[str, int]:
    (row,) = [row for row in bot.inbound() if f"<{sender}>".encode() in row.raw]
    return row.state, row.attempts


def test_outage_on_the_thursday_before_easter_is_handled_at_once_and_the_rest_waits(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, monkeypatch
) -> None:
    monkeypatch.setenv("MAILBOT_WEBHOOK_SECRET", SECRET)
    with WebhookSink(SECRET) as hook:
        webhook = f'[webhook]\nurl = "{hook.url}"\nevents = ["ticket.escalated", "ticket.oncall_alert"]\n'
        bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, HOURS, CONTRACT + webhook)
        # Thursday 2 April 2026 after 18:00; Good Friday and Easter Monday are holidays
        arrives(bot, LOGO, "Logo verschoben", COSMETIC, "2026-04-02T18:20+02:00")
        arrives(bot, DOWN, "App stürzt ab", OUTAGE, "2026-04-02T18:30+02:00")
        arrives(bot, ASKS, "Passwort vergessen", QUESTION, "2026-04-02T18:40+02:00")
        bot.run_once("--now", "2026-04-02T18:45+02:00")

        (ticket,) = bot.tickets()
        assert (ticket.customer, ticket.severity, ticket.state) == (DOWN, "critical", "escalated")
        assert ticket.response_due_at.astimezone(BERLIN) == datetime(2026, 4, 2, 20, 30, tzinfo=BERLIN)
        (ack,) = bot.sent_to(DOWN)
        assert "Donnerstag, 2. April 2026, 20:30 Uhr" in text_of(ack)
        (notice,) = bot.sent_to(TEAM)  # the team notice still goes to the team
        assert "MB-000001" in parse(notice)["Subject"]
        (alert,) = bot.sent_to(ONCALL)
        assert "MB-000001" in parse(alert)["Subject"] and "2. April 2026, 20:30" in parse(alert)["Subject"]
        assert parse(alert)["Reply-To"] == TEAM
        assert "stürzt die App bei allen Nutzern" in text_of(alert)
        accepted = [d.event["type"] for d in hook.deliveries if d.status == 204]
        assert accepted == ["ticket.escalated", "ticket.oncall_alert"]
        assert all(d.verified for d in hook.deliveries)
        # everything else waits, untouched: no mail, no ticket, no attempt, still in the inbox
        assert bot.sent_to(LOGO) == [] and bot.sent_to(ASKS) == []
        assert state_of(bot, LOGO) == ("received", 0) and state_of(bot, ASKS) == ("received", 0)
        assert len(bot.dovecot.list_folder(bot.user, "INBOX")) == 2

        bot.run_once("--now", "2026-04-02T19:30+02:00")
        assert len(bot.sink.messages) == 3 and len(hook.deliveries) == 2  # nothing twice
        # the 24/7 clock runs at night: 75 % of two hours are used at 20:00, breached after 20:30
        bot.run_once("--now", "2026-04-02T20:00+02:00")
        bot.run_once("--now", "2026-04-03T10:00+02:00")  # Good Friday
        warning, breach = bot.sent_to(TEAM)[1:]
        assert "SLA" in parse(warning)["Subject"] and "SLA" in parse(breach)["Subject"]
        assert bot.tickets()[0].sla_breached_at is not None
        assert state_of(bot, LOGO) == ("received", 0) and state_of(bot, ASKS) == ("received", 0)
        assert bot.sent_to(LOGO) == [] and bot.sent_to(ASKS) == []

        bot.run_once("--now", "2026-04-07T08:00+02:00")  # the opening after Easter Monday
        assert [t.customer for t in bot.tickets()] == [DOWN, LOGO, ASKS]  # the backlog in arrival order
        logo, asks = bot.tickets()[1:]
        assert (logo.state, logo.severity, asks.state) == ("escalated", "cosmetic", "answered")
        assert logo.response_due_at.astimezone(BERLIN) > datetime(2026, 4, 7, 8, 0, tzinfo=BERLIN)
        assert len(bot.sent_to(LOGO)) == 1 and len(bot.sent_to(ASKS)) == 1
        assert state_of(bot, LOGO) == ("done", 1) and state_of(bot, ASKS) == ("done", 1)
        assert len(bot.sent_to(ONCALL)) == 1  # open again: the team is there, nobody is woken
        assert bot.dovecot.list_folder(bot.user, "INBOX") == []


@pytest.mark.parametrize("mode", ["wait", "acknowledge"])
def test_answers_go_out_at_any_time_while_escalations_keep_business_hours(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, mode: str
) -> None:
    hours = HOURS + f'outside_hours = "{mode}"\nanswer_outside_hours = true\n'
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, hours, "")
    arrives(bot, DOWN, "App stürzt ab", OUTAGE, "2026-05-23T09:50+02:00")  # Saturday before Whit Monday
    arrives(bot, ASKS, "Passwort vergessen", QUESTION, "2026-05-23T10:00+02:00")
    bot.run_once("--now", "2026-05-23T10:01+02:00")

    (answer,) = bot.sent_to(ASKS)  # the answer, and no out-of-hours note besides it
    assert parse(answer)["Subject"] == "Re: Passwort vergessen [MB-000001]"
    assert "Passwort" in text_of(answer)
    (ticket,) = bot.tickets()
    assert ticket.state == "answered"
    assert bot.sent_to(TEAM) == []  # team mail keeps business hours
    if mode == "acknowledge":
        (note,) = bot.sent_to(DOWN)
        assert "Dienstag, 26. Mai 2026, 08:00 Uhr" in text_of(note)
    else:
        assert bot.sent_to(DOWN) == []
    assert state_of(bot, DOWN) == ("received", 0)

    bot.run_once("--now", "2026-05-23T11:00+02:00")
    assert len(bot.sink.messages) == (2 if mode == "acknowledge" else 1)

    bot.run_once("--now", "2026-05-26T08:00+02:00")
    outage = bot.tickets()[1]
    assert (outage.customer, outage.severity) == (DOWN, "critical")
    # the SLA clock kept business hours: it started at the opening
    assert outage.sla_started_at.astimezone(BERLIN) == datetime(2026, 5, 26, 8, 0, tzinfo=BERLIN)
    assert outage.response_due_at.astimezone(BERLIN) == datetime(2026, 5, 26, 10, 0, tzinfo=BERLIN)
    assert len(bot.sent_to(TEAM)) == 1 and len(bot.sent_to(ASKS)) == 1
    assert "Dienstag, 26. Mai 2026, 10:00 Uhr" in text_of(bot.sent_to(DOWN)[-1])
    assert state_of(bot, DOWN) == ("done", 1)


def test_a_crash_while_closed_loses_nothing_and_decides_everything_once(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, monkeypatch
) -> None:
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, HOURS, CONTRACT)
    arrives(bot, LOGO, "Logo verschoben", COSMETIC, "2026-04-02T18:20+02:00")
    arrives(bot, DOWN, "App stürzt ab", OUTAGE, "2026-04-02T18:30+02:00")
    settings = load_settings(bot.config)
    app = build_app(settings, fixed_clock(datetime(2026, 4, 2, 18, 45, tzinfo=BERLIN)))
    source = app.make_source()
    try:
        source.fetch_new()

        def die(*_args: object) -> None:
            raise KeyboardInterrupt  # the process dies while looking at the first mail (the logo)

        monkeypatch.setattr("mailbot.pipeline.process.decide_now", die)
        with pytest.raises(KeyboardInterrupt):
            process_pending(app, OutsideHours.from_settings(settings))
    finally:
        source.close()
        app.close()
    monkeypatch.undo()
    # both were claimed in one batch: both stay leased, nothing of the batch was written
    assert state_of(bot, LOGO) == ("processing", 1) and state_of(bot, DOWN) == ("processing", 1)
    assert bot.outbox() == [] and bot.tickets() == []

    bot.run_once("--now", "2026-04-02T18:46+02:00")  # restarted: the batch is still leased
    assert bot.sent_to(DOWN) == []
    bot.run_once("--now", "2026-04-02T18:51+02:00")  # the lease ran out: each mail alone, as a suspect
    assert len(bot.sent_to(DOWN)) == 1 and len(bot.sent_to(ONCALL)) == 1
    assert state_of(bot, LOGO) == ("received", 1)  # the crash counted, looking again did not
    assert bot.sent_to(LOGO) == []

    bot.run_once("--now", "2026-04-07T08:00+02:00")
    bot.run_once("--now", "2026-04-07T08:05+02:00")
    assert state_of(bot, LOGO) == ("done", 2) and state_of(bot, DOWN) == ("done", 2)
    assert [len(bot.sent_to(address)) for address in (LOGO, DOWN, ONCALL)] == [1, 1, 1]
    kinds = sorted(row.kind for row in bot.outbox() if row.state == "sent")
    assert kinds == ["acknowledgement"] * 2 + ["oncall_alert", "sla_alert"] + ["team_notice"] * 2  # breach
    assert len(bot.tickets()) == 2
