"""The durable outbox over a real SMTP server: crash before send, 4xx retry, 5xx failure."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from mailbot.app import App, build_app
from mailbot.config import load_settings
from mailbot.pipeline.process import process_pending
from mailbot.reply import outbox_states
from mailbot.worker import deliverer_for
from tests.e2e.conftest import TEAM, Bot, make_mail, text_of

CUSTOMER = "erika.muster@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def decide_without_delivering(app: App) -> None:
    """Fetch and decide (committed), as a worker does before its outbox goes out."""
    source = app.make_source()
    try:
        source.fetch_new()
        process_pending(app)
    finally:
        source.close()


def test_crash_between_decision_and_send_sends_once_after_restart(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    app = build_app(load_settings(bot.config))
    decide_without_delivering(app)  # the process "dies" before delivering
    app.close()
    assert bot.sink.messages == []
    assert [row.state for row in bot.outbox()] == ["pending"]

    bot.run_once()  # the restarted worker
    bot.run_once()
    assert len(bot.sent_to(CUSTOMER)) == 1
    assert [row.state for row in bot.outbox()] == ["sent"]


def test_temporary_failure_is_retried_with_backoff_and_permanent_failure_is_reported(bot: Bot, capsys):
    bot.sink.fail_next(451, "4.3.0 try again later")
    bot.sink.fail_recipient("gone@example.net", 550, "5.1.1 no such user")
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    bot.deliver(make_mail("gone@example.net", "Passwort vergessen", QUESTION))
    bot.run_once()

    rows = {row.recipient: row for row in bot.outbox()}
    assert rows[CUSTOMER].state == "pending" and "451" in (rows[CUSTOMER].last_error or "")
    assert rows["gone@example.net"].state == "failed"
    deferred_until = rows[CUSTOMER].next_attempt_at
    assert deferred_until > rows[CUSTOMER].created_at

    bot.run_once()  # not due yet: nothing is sent
    assert bot.sent_to(CUSTOMER) == []
    later = (deferred_until + timedelta(seconds=1)).isoformat()
    bot.run_once("--now", later)
    assert len(bot.sent_to(CUSTOMER)) == 1

    status = bot.status(capsys)
    assert status["outbox"] == {"sent": 2, "failed": 1}  # the answer, the team's notice of the failure
    [failed] = status["failed"]
    assert failed["recipient"] == "gone@example.net" and "550" in failed["reason"]
    [notice] = [raw for raw in bot.sent_to(TEAM) if b"gone@example.net" in raw]
    assert "550" in text_of(notice)


def test_a_crash_during_delivery_leaves_only_the_mail_in_flight_waiting(bot: Bot, monkeypatch):
    """Regression (bench/torture.py): rows were claimed 50 at a time, so a kill during delivery parked
    all of them for the lease; now only the row being sent is claimed."""
    for number in range(3):
        bot.deliver(make_mail(f"kunde{number}@example.org", "Passwort vergessen", QUESTION))
    app = build_app(load_settings(bot.config))
    try:
        decide_without_delivering(app)
        deliverer = deliverer_for(app)

        async def die(*_args, **_kwargs):
            raise KeyboardInterrupt  # the process dies in the middle of the first SMTP transaction

        monkeypatch.setattr("aiosmtplib.SMTP.sendmail", die)
        with pytest.raises(KeyboardInterrupt):
            deliverer.deliver_due()
    finally:
        app.close()
    states = sorted(row.state for row in bot.outbox())
    assert states == ["pending", "pending", "sending"]  # the other two are due at once, not leased

    monkeypatch.undo()
    bot.run_once()
    assert len(bot.sink.messages) == 2  # the two untouched ones; the one in flight waits for its lease


def test_smtp_server_down_keeps_mail_until_it_returns(bot: Bot):
    bot.sink.stop()
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    bot.run_once(expect=1)  # decided and queued; the outage is reported in the exit code
    [row] = bot.outbox()
    assert row.state == "pending" and row.last_error

    bot.sink.start()
    app = build_app(load_settings(bot.config))
    try:
        app.clock = lambda: row.next_attempt_at + timedelta(seconds=1)
        report = deliverer_for(app).deliver_due()
    finally:
        app.close()
    assert report.sent == 1
    assert len(bot.sent_to(CUSTOMER)) == 1


def test_a_mail_that_keeps_failing_is_quarantined_after_max_attempts_not_retried_forever(
    bot: Bot, capsys, monkeypatch
):
    def broken(*_args, **_kwargs):
        raise RuntimeError("template store unavailable")

    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    monkeypatch.setattr("mailbot.pipeline.process.apply_decision", broken)
    bot.run_once()
    [row] = bot.inbound()
    assert (row.state, row.attempts) == ("quarantined", 3)
    assert "failed 3 times" in (row.reason or "") and "template store unavailable" in (row.reason or "")
    assert bot.sink.messages == [] and bot.outbox() == []  # the failed attempts left no half-done effects
    assert len(bot.dovecot.list_folder(bot.user, "Quarantine")) == 1
    [item] = bot.status(capsys)["quarantined"]
    assert "template store unavailable" in item["reason"]


def test_a_mail_the_server_accepted_before_the_crash_is_not_sent_again(bot: Bot, monkeypatch):
    """The worker dies after the server's 250 but before the row is marked sent (on SQLite it waits
    for the write lock the process stage holds): after the lease the row is marked sent from the
    accepted journal, not sent a second time."""
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    app = build_app(load_settings(bot.config))
    try:
        decide_without_delivering(app)

        def die(sessions, mailbox, accepted, *rest):
            if accepted:
                raise KeyboardInterrupt  # killed before the accepted row is marked sent
            return real(sessions, mailbox, accepted, *rest)

        real = outbox_states.settle_and_claim
        monkeypatch.setattr(outbox_states, "settle_and_claim", die)
        with pytest.raises(KeyboardInterrupt):
            deliverer_for(app).deliver_due()
    finally:
        app.close()
    monkeypatch.undo()
    [row] = bot.outbox()
    assert row.state == "sending" and len(bot.sink.messages) == 1  # sent, but the database does not know

    later = (row.lease_until + timedelta(seconds=1)).replace(tzinfo=UTC).isoformat()
    bot.run_once("--now", later)  # a new worker, after the lease
    [row] = bot.outbox()
    assert row.state == "sent" and len(bot.sink.messages) == 1
    assert (bot.config.parent / "mailbot.db.accepted").read_text() == f"{row.id}\n"
