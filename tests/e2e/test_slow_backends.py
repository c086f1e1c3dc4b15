"""Issue 11 over real Dovecot + aiosmtpd + a dripping webhook receiver: a slow HTTP backend never
delays mail handling, in `run --once` (bounded) and in the long-running worker (its own thread).

The receiver sends its answer one byte every 1.5 s, so every read succeeds within any read
timeout: before, one event held the worker's only thread for the whole ~70 s answer.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.db.schema import EscalationJob
from tests.e2e.conftest import Bot, make_mail
from tests.e2e.test_second_level import CUSTOMER, make_bot, report_outage
from tests.servers import DovecotServer, SmtpSink
from tests.servers.common import wait_until
from tests.servers.webhook_sink import WebhookSink

pytestmark = pytest.mark.servers
SECRET = "webhook-secret-0123456789"
ASKING = "erika.muster@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


@pytest.fixture
def sink(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookSink]:
    monkeypatch.setenv("MAILBOT_WEBHOOK_SECRET", SECRET)
    with WebhookSink(SECRET) as receiver:
        yield receiver


def webhook_bot(
    tmp_path: Path, dovecot: DovecotServer, user: str, smtp: SmtpSink, sink: WebhookSink, timeout: int
) -> Bot:
    extra = f'[webhook]\nurl = "{sink.url}"\ntimeout_seconds = {timeout}\n'
    return make_bot(tmp_path, dovecot, user, smtp, extra=extra)


def jobs(bot: Bot) -> list[EscalationJob]:
    with bot.db() as session:
        return list(session.scalars(select(EscalationJob).order_by(EscalationJob.id)))


def test_run_once_stays_bounded_and_answers_mail_while_the_receiver_drips(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, sink: WebhookSink
) -> None:
    bot = webhook_bot(tmp_path, dovecot, imap_user, smtp_sink, sink, timeout=2)
    sink.drip_next(10, interval=1.5)
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.dovecot.append(bot.user, "INBOX", make_mail(ASKING, "Passwort vergessen", QUESTION))
    finished = threading.Event()

    def once() -> None:
        bot.run_once("--now", "2026-05-26T09:01+02:00")
        finished.set()

    started = time.monotonic()
    worker = threading.Thread(target=once, daemon=True)
    worker.start()
    worker.join(45)
    took = time.monotonic() - started

    print(f"run --once with a dripping receiver: {took:.1f} s")
    assert finished.is_set(), f"run --once still running after {took:.0f} s"
    assert len(bot.sent_to(ASKING)) == 1 and len(bot.sent_to(CUSTOMER)) == 1  # answered, acknowledged
    (job,) = jobs(bot)
    assert (job.state, job.attempts) == ("pending", 1)
    assert "no complete answer within 2 s" in (job.last_error or "")


def test_the_worker_answers_mail_while_a_webhook_call_hangs_and_stops_at_once(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, sink: WebhookSink
) -> None:
    bot = webhook_bot(tmp_path, dovecot, imap_user, smtp_sink, sink, timeout=120)
    sink.respond_next(503)  # the event waits for its retry, which the worker below makes at its start
    report_outage(bot, CUSTOMER, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    assert jobs(bot)[0].attempts == 1
    sink.drip_next(10, interval=1.5)  # from now on the receiver drips: ~70 s for one answer

    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "run", "--config", str(bot.config), "--now",
             "2026-05-26T11:00+02:00"],
            stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until(lambda: sink.drips == 1, timeout=60, what="the webhook call hanging")
        started = time.monotonic()
        bot.deliver(make_mail(ASKING, "Passwort vergessen", QUESTION))
        wait_until(lambda: len(bot.sent_to(ASKING)) == 1, timeout=40, what="the answer")
        answered = time.monotonic() - started
        print(f"answered in {answered:.1f} s while the webhook call hung")
        assert answered < 20 and sink.drips == 1  # the call still hangs: the mail did not wait for it

        stopping = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        assert time.monotonic() - stopping < 10  # the hanging call was given up, not waited for
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0, log.read_text()
    (job,) = jobs(bot)
    assert (job.state, job.attempts) == ("pending", 1)  # given up for the stop: no attempt used up
