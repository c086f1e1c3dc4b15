"""`run --once` delivers in a process of its own (issue 13: both cores), over Dovecot and the aiosmtpd sink.

The child sends while the worker decides; its report (errors included) reaches the worker's; its death
loses nothing: the worker delivers what it left pending, and what it held comes back after the lease,
never twice.
"""

from __future__ import annotations

import os
import signal
from collections import Counter
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path

import aiosmtplib
import pytest

from mailbot.app import App, build_app
from mailbot.config import load_settings
from mailbot.pipeline.process import BATCH_SIZE
from mailbot.reply import outbox_states
from mailbot.reply.deliver import BUSY_BATCH_PER_CONNECTION, LEASE
from mailbot.reply.smtp_pool import SmtpConnector
from mailbot.worker import run_once
from tests.e2e.conftest import Bot, make_mail

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
CONNECTIONS = 3  # the default


@pytest.fixture
def app(bot: Bot):
    app = build_app(load_settings(bot.config))
    yield app
    app.close()


def ask(bot: Bot, count: int) -> None:
    for number in range(count):
        bot.deliver(make_mail(f"kunde{number}@example.org", "Passwort vergessen", QUESTION))


def message_ids(bot: Bot) -> Counter[str]:
    return Counter(str(message_from_bytes(m.data)["Message-ID"]) for m in bot.sink.messages)


def senders_of(bot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Each SMTP send appends its process id to a file (a forked child's memory is not the test's)."""
    written = tmp_path / "sending-pids"
    original = aiosmtplib.SMTP.sendmail

    async def noted(self, *args, **kwargs):
        with written.open("a") as file:
            file.write(f"{os.getpid()}\n")
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "sendmail", noted)
    return written


def test_run_once_sends_from_a_process_of_its_own_while_the_worker_decides(
    bot: Bot, app: App, monkeypatch, tmp_path
):
    mails = 2 * BATCH_SIZE + 8
    ask(bot, mails)
    pids = senders_of(bot, monkeypatch, tmp_path)
    report = run_once(app)
    assert report.processed.decided == mails and report.delivery.sent == mails and report.errors == []
    senders = set(pids.read_text().split())
    assert len(senders) == 1 and str(os.getpid()) not in senders  # one child sent them all
    assert {row.state for row in bot.outbox()} == {"sent"} and set(message_ids(bot).values()) == {1}


def test_the_delivery_process_dying_loses_nothing_and_sends_nothing_twice(bot: Bot, app: App, monkeypatch):
    mails = 2 * BATCH_SIZE + 8
    ask(bot, mails)
    worker = os.getpid()
    original = aiosmtplib.SMTP.sendmail
    sent_by_child = [0]

    async def child_killed_at_its_fourth_send(self, *args, **kwargs):
        if os.getpid() != worker:
            sent_by_child[0] += 1
            if sent_by_child[0] == 4:
                os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or an operator would
        return await original(self, *args, **kwargs)

    monkeypatch.setattr(aiosmtplib.SMTP, "sendmail", child_killed_at_its_fourth_send)
    report = run_once(app)
    assert report.processed.decided == mails  # the worker went on deciding
    assert report.errors == ["the delivery process failed (it ended with signal SIGKILL)"]
    states = Counter(row.state for row in bot.outbox())
    parked = states["sending"]  # claimed by the child when it died: they wait for their lease
    assert states["pending"] == 0 and states["sent"] == mails - parked  # the worker delivered the rest
    assert 0 < parked <= CONNECTIONS * BUSY_BATCH_PER_CONNECTION

    monkeypatch.undo()
    after_lease = datetime.now(UTC) + LEASE + timedelta(seconds=1)
    app.clock = lambda: after_lease
    assert run_once(app).errors == []
    assert {row.state for row in bot.outbox()} == {"sent"}
    # every answer reached the customer exactly once (the 250s the child got before dying were
    # written to the accepted journal, so those rows were marked sent, not sent again)
    assert len(message_ids(bot)) == mails and set(message_ids(bot).values()) == {1}


def test_the_errors_of_the_delivery_process_reach_the_workers_report(bot: Bot, app: App, monkeypatch):
    ask(bot, 2)
    worker = os.getpid()
    original = SmtpConnector.open

    async def refused_in_the_child(self):
        if os.getpid() != worker:
            raise ConnectionRefusedError(111, "Connection refused")
        return await original(self)

    monkeypatch.setattr(SmtpConnector, "open", refused_in_the_child)
    report = run_once(app)
    assert report.processed.decided == 2
    assert report.delivery.deferred >= 1 and report.delivery.sent == 0  # counted in the child
    assert report.errors and all("Connection refused" in error for error in report.errors)
    assert report.errors == report.delivery.errors
    assert {row.state for row in bot.outbox()} == {"pending"}  # backed off, for the next run
    assert bot.sink.messages == []


def test_a_delivery_process_whose_database_broke_leaves_its_rows_to_the_worker(
    bot: Bot, app: App, monkeypatch
):
    ask(bot, 3)
    worker = os.getpid()
    original = outbox_states.settle_and_claim

    def broken_in_the_child(*args, **kwargs):
        if os.getpid() != worker:
            raise RuntimeError("the database went away")
        return original(*args, **kwargs)

    monkeypatch.setattr(outbox_states, "settle_and_claim", broken_in_the_child)
    report = run_once(app)
    assert report.errors == ["the delivery process failed (RuntimeError: the database went away)"]
    assert report.delivery.sent == 3  # by the worker itself, after the child had given up
    assert {row.state for row in bot.outbox()} == {"sent"} and set(message_ids(bot).values()) == {1}
