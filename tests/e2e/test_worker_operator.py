"""The long-running worker as an operator sees it: stops on any burst of signals, logs one line per mail."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot, make_mail
from tests.servers.common import wait_until

pytestmark = pytest.mark.servers

CUSTOMER = "erika.muster@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def start_worker(bot: Bot, log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "run", "--config", str(bot.config)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )


def send_until_gone(process: subprocess.Popen[bytes], signum: int, seconds: float) -> int:
    """`signum` as fast as the kernel takes it until the process is gone or `seconds` passed."""
    deadline = time.monotonic() + seconds
    sent = 0
    while time.monotonic() < deadline and process.poll() is None:
        for _ in range(100):
            try:
                os.kill(process.pid, signum)
            except ProcessLookupError:
                return sent
            sent += 1
        time.sleep(0.001)  # leave the stopping worker some CPU
    return sent


def test_a_burst_of_sigterms_stops_the_worker_cleanly(bot: Bot, tmp_path):
    # a handler that logged and set an Event re-entered inside Event.set() and deadlocked: signals
    # sent without pause while the worker shuts down hit that window nearly every time
    bot.config.write_text(bot.config.read_text() + "[privacy]\nredact_addresses = true\n")
    log = tmp_path / "worker.log"
    worker = start_worker(bot, log)
    try:
        wait_until(lambda: "IDLE True" in log.read_text(), timeout=60, what="worker connected")
        bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
        bot.sink.wait_for(1, timeout=30)
        wait_until(lambda: "inbound #1 " in log.read_text(), timeout=10, what="the mail's log line")
        started = time.monotonic()
        assert send_until_gone(worker, signal.SIGTERM, seconds=10) > 1
        worker.wait(timeout=5)
        stopped_after = time.monotonic() - started
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = log.read_text()
    assert worker.returncode == 0, (worker.returncode, text[-2000:])
    assert "worker stopped" in text
    assert text.count("received SIGTERM") == 1
    assert stopped_after < 10, stopped_after  # the current step (at most a second of IDLE) and out


def test_the_worker_logs_one_line_per_mail_and_no_scheduler_chatter(bot: Bot, tmp_path):
    bot.config.write_text(bot.config.read_text() + "[privacy]\nredact_addresses = true\n")
    log = tmp_path / "worker.log"
    worker = start_worker(bot, log)
    try:
        wait_until(lambda: "IDLE True" in log.read_text(), timeout=60, what="worker connected")
        bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
        bot.deliver(
            make_mail("tom@example.net", "Kaputt", "Die App stürzt seit dem Update bei jedem Start ab.")
        )
        bot.sink.wait_for(3, timeout=30)  # an answer, an acknowledgement and a team notice
        wait_until(lambda: "inbound #2 " in log.read_text(), timeout=10, what="the second mail's line")
        worker.send_signal(signal.SIGINT)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    text = log.read_text()
    assert worker.returncode == 0, text[-3000:]
    lines = [line for line in text.splitlines() if " inbound #" in line]
    assert len(lines) == 2, lines
    answered, escalated = lines
    assert " INFO " in answered
    assert "inbound #1 from e***@example.org answered MB-000001 with article password-reset (" in answered
    assert " >= " in answered
    assert "inbound #2 from t***@example.net escalated MB-000002: " in escalated
    assert CUSTOMER not in text and "tom@example.net" not in text
    # APScheduler's INFO lines ("Added job", "Running job", "Job ... executed successfully") are gone
    assert "apscheduler" not in text
    assert "received SIGINT" in text and "worker stopped" in text
