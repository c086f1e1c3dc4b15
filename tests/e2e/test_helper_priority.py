"""`run --once` over a backlog: the processes that parse, compose and deliver for the worker run at a lower
CPU priority than the worker, so that on a busy machine the deciding worker gets a core first (issue 13,
mailbot.forking). Real Dovecot, aiosmtpd and SQLite; each helper notes its process id and priority from
inside itself (a forked child's memory is not the test's)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.forking import HELPER_NICENESS
from mailbot.pipeline import prepare_pool
from mailbot.pipeline.process import BATCH_SIZE
from mailbot.reply import compose_pool
from mailbot.worker import run_once
from tests.e2e.conftest import Bot
from tests.e2e.test_prepare_pool import backlog, train


def note_helpers(monkeypatch: Any, notes: Path) -> None:
    """Each helper appends "<role> <pid> <priority>" to `notes` whenever it works."""

    def note(role: str) -> None:
        with notes.open("a") as file:
            file.write(f"{role} {os.getpid()} {os.getpriority(os.PRIO_PROCESS, 0)}\n")

    prepare_batch, guess_batch = prepare_pool.prepare_batch, prepare_pool.guess_batch
    compose_outgoing, sendmail = compose_pool.compose_outgoing, aiosmtplib.SMTP.sendmail

    def prepare(*args: Any) -> Any:
        note("prepare")
        return prepare_batch(*args)

    def guess(*args: Any) -> Any:  # a batch the worker parsed while the child read its models
        note("guess")
        return guess_batch(*args)

    def compose(*args: Any, **kwargs: Any) -> Any:
        note("compose")
        return compose_outgoing(*args, **kwargs)

    async def send(self: aiosmtplib.SMTP, *args: Any, **kwargs: Any) -> Any:
        note("deliver")
        return await sendmail(self, *args, **kwargs)

    monkeypatch.setattr(prepare_pool, "prepare_batch", prepare)
    monkeypatch.setattr(prepare_pool, "guess_batch", guess)
    monkeypatch.setattr(compose_pool, "compose_outgoing", compose)
    monkeypatch.setattr(aiosmtplib.SMTP, "sendmail", send)


@pytest.mark.parametrize("models", ["read by the child", "read by the worker before the fork"])
def test_the_helpers_of_run_once_yield_the_cores_to_the_worker(
    bot: Bot, monkeypatch, tmp_path, models: str
) -> None:
    mails = BATCH_SIZE + 5
    if models == "read by the child":
        train(bot)  # a saved model fits: the parsing process reads it itself, then yields
    else:  # as when no saved model fits: the worker reads them before the fork, and the child shares them
        monkeypatch.setattr(prepare_pool, "is_current", lambda *_args: False)
    backlog(bot, mails)
    notes = tmp_path / "helpers"
    note_helpers(monkeypatch, notes)
    worker_priority = os.getpriority(os.PRIO_PROCESS, 0)
    app = build_app(load_settings(bot.config))
    try:
        report = run_once(app)
    finally:
        app.close()
    assert report.processed.decided == mails and report.processed.failures == 0 and report.errors == []
    assert len(bot.sink.messages) == mails  # one answer each

    seen: dict[str, set[tuple[int, int]]] = {}
    work: set[str] = set()
    for line in notes.read_text().splitlines():
        role, pid, priority = line.split()
        work.add(role)
        role = "prepare" if role == "guess" else role  # both are the parsing process's
        seen.setdefault(role, set()).add((int(pid), int(priority)))
    assert set(seen) == {"prepare", "compose", "deliver"}
    # the parsing process prepares whole batches; when it reads the models itself, it only guesses about
    # the ones the worker parsed meanwhile (here all: a backlog this small is the worker's to parse)
    assert ("guess" in work) == (models == "read by the child")
    lowered = min(19, worker_priority + HELPER_NICENESS)
    for role, processes in seen.items():
        assert len(processes) == 1, f"{role}: one helper process, {processes}"
        ((pid, priority),) = processes
        assert pid != os.getpid(), f"{role} ran in the worker"
        assert priority == lowered, f"{role} runs at {priority}, the worker at {worker_priority}"
    assert os.getpriority(os.PRIO_PROCESS, 0) == worker_priority  # the worker's own is untouched
