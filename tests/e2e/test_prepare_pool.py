"""A backlog is parsed and classified in a second, forked process, one batch ahead; when that process
dies, the pass goes on in one process and loses nothing (real Dovecot, aiosmtpd, SQLite). Only where the
caller asks for it (`run --once`, which runs no other thread); never in a pass of a few mails."""

from __future__ import annotations

import os
from typing import Any

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.pipeline import prepare_pool
from mailbot.pipeline.prepare_pool import PreparePool
from mailbot.pipeline.process import BATCH_SIZE, process_pending
from tests.e2e.conftest import Bot, make_mail

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def backlog(bot: Bot, count: int) -> None:
    for number in range(count):
        bot.deliver(make_mail(f"kunde{number}@example.org", "Passwort vergessen", QUESTION))


def decide_all(bot: Bot, second_process: bool = True) -> Any:
    app = build_app(load_settings(bot.config))
    source = app.make_source()
    try:
        source.fetch_new()
        return process_pending(app, second_process=second_process)
    finally:
        source.close()
        app.close()


def test_a_backlog_is_prepared_in_a_second_process(bot: Bot, monkeypatch) -> None:
    children: list[int] = []
    real = PreparePool.result

    def result(self: PreparePool, app: Any, stored: Any, future: Any) -> Any:
        prepared = real(self, app, stored, future)
        if future is not None and future.exception() is None:
            children.append(len(prepared))
        return prepared

    monkeypatch.setattr(PreparePool, "result", result)
    backlog(bot, 2 * BATCH_SIZE + 3)
    report = decide_all(bot)
    assert report.failures == 0 and report.by_outcome == {"answered": 2 * BATCH_SIZE + 3}
    assert children == [BATCH_SIZE, BATCH_SIZE, 3]  # every batch came back from the child


def test_a_few_mails_are_prepared_in_the_worker_itself(bot: Bot, monkeypatch) -> None:
    started: list[PreparePool] = []
    monkeypatch.setattr(PreparePool, "for_backlog", classmethod(lambda cls, app: started.append(app)))
    backlog(bot, 3)
    assert decide_all(bot).decided == 3 and started == []


def test_only_a_caller_that_asks_for_it_gets_a_second_process(bot: Bot, monkeypatch) -> None:
    started: list[PreparePool] = []
    monkeypatch.setattr(PreparePool, "for_backlog", classmethod(lambda cls, app: started.append(app)))
    backlog(bot, BATCH_SIZE + 1)
    assert decide_all(bot, second_process=False).decided == BATCH_SIZE + 1 and started == []


def test_when_the_second_process_dies_the_pass_goes_on_without_it(bot: Bot, monkeypatch) -> None:
    def die(_stored: Any) -> Any:
        os._exit(1)  # in the child: as if it were killed

    monkeypatch.setattr(prepare_pool, "_prepare", die)  # the fork inherits the patched function
    backlog(bot, BATCH_SIZE + 5)
    report = decide_all(bot)
    assert report.failures == 0 and report.decided == BATCH_SIZE + 5
    assert {row.state for row in bot.inbound()} == {"done"}
    bot.run_once()
    assert len(bot.sink.messages) == BATCH_SIZE + 5  # one answer each, none lost, none twice
