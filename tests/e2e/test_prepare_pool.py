"""A backlog is parsed and classified in a second, forked process, one batch ahead; when that process
dies, the pass goes on in one process and loses nothing (real Dovecot, aiosmtpd, SQLite). Only where the
caller asks for it (`run --once`, which runs no other thread); never in a pass of a few mails. In
`run --once` the process is forked as soon as the mail server names a backlog, and reads the models
itself while the worker fetches."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mailbot.app import build_app
from mailbot.classify import store
from mailbot.config import load_settings
from mailbot.parse import language
from mailbot.pipeline import helpers, prepare_pool, process
from mailbot.pipeline.prepare_pool import PreparePool
from mailbot.pipeline.process import BATCH_SIZE, process_pending
from mailbot.worker import run_once
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
    monkeypatch.setattr(PreparePool, "for_backlog", classmethod(lambda cls, app, **_: started.append(app)))
    backlog(bot, 3)
    assert decide_all(bot).decided == 3 and started == []


def test_only_a_caller_that_asks_for_it_gets_a_second_process(bot: Bot, monkeypatch) -> None:
    started: list[PreparePool] = []
    monkeypatch.setattr(PreparePool, "for_backlog", classmethod(lambda cls, app, **_: started.append(app)))
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


def run_once_noting_helpers(bot: Bot, monkeypatch) -> tuple[Any, list[bool], bool]:
    """`run --once` in this process: its report, how its helper processes were started (models in the
    child or not), and whether the worker itself read the article model."""
    started: list[bool] = []
    real = helpers.Helpers.start.__func__  # type: ignore[attr-defined]

    def start(cls: type, app: Any, *, models_in_child: bool = False, **options: Any) -> Any:
        started.append(models_in_child)
        return real(cls, app, models_in_child=models_in_child, **options)

    monkeypatch.setattr(helpers.Helpers, "start", classmethod(start))
    app = build_app(load_settings(bot.config))
    try:
        report = run_once(app)
        return report, started, "classifier" in app.__dict__
    finally:
        app.close()


def train(bot: Bot) -> None:
    """The model saved in the bot's model directory, as `mailbot train` leaves it."""
    app = build_app(load_settings(bot.config))
    try:
        _ = app.classifier
    finally:
        app.close()


def test_run_once_forks_its_helpers_before_the_fetch_and_the_child_reads_the_models(
    bot: Bot, monkeypatch
) -> None:
    train(bot)
    mails = BATCH_SIZE + 9
    backlog(bot, mails)
    report, started, worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == mails and report.processed.failures == 0 and report.errors == []
    assert started == [True]  # once, at the fetch (not again for the pass), models in the child
    assert not worker_read_model  # the child read them; the worker never needed them
    assert {row.state for row in bot.inbound()} == {"done"}
    assert len(bot.sink.messages) == mails  # one answer each


def test_without_a_current_model_the_worker_reads_it_before_the_fork(bot: Bot, monkeypatch) -> None:
    """Training writes the model directory: that stays the worker's, never a child's."""
    monkeypatch.setattr(prepare_pool, "is_current", lambda *_args: False)
    backlog(bot, BATCH_SIZE)
    report, started, worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == BATCH_SIZE and report.errors == []
    assert started == [True] and worker_read_model


def test_a_few_new_mails_start_no_helper_at_the_fetch(bot: Bot, monkeypatch) -> None:
    backlog(bot, 3)
    report, started, worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == 3 and started == [] and worker_read_model


def test_when_the_child_cannot_read_the_models_the_worker_prepares_the_batches(
    bot: Bot, monkeypatch, caplog
) -> None:
    train(bot)
    worker = os.getpid()
    real_load = store.load

    def load(*args: Any, **kwargs: Any) -> Any:
        if os.getpid() != worker:
            raise OSError("model file unreadable")
        return real_load(*args, **kwargs)

    monkeypatch.setattr(store, "load", load)  # inherited by the fork
    backlog(bot, BATCH_SIZE + 2)
    with caplog.at_level(logging.WARNING, logger="mailbot.pipeline.prepare_pool"):
        report, started, worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == BATCH_SIZE + 2 and report.processed.failures == 0
    assert started == [True] and worker_read_model
    assert "could not read the models: model file unreadable" in caplog.text
    assert len(bot.sink.messages) == BATCH_SIZE + 2


_LOAD_MODELS = prepare_pool._load_models


LOAD_AFTER_ENV = "MAILBOT_TEST_LOAD_MODELS_AFTER"  # a file: the child reads its models once it exists


def _slowly_loaded_models(*args: Any) -> bool:
    """In the child: the models take their time, as on a busy machine (module level: it is pickled);
    with $MAILBOT_TEST_LOAD_MODELS_AFTER, until the worker has made that file (at most 60 s)."""
    gate = os.environ.get(LOAD_AFTER_ENV)
    if gate is None:
        time.sleep(2.0)
    else:
        deadline = time.monotonic() + 60
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    return _LOAD_MODELS(*args)


def noting_hand_overs(monkeypatch, gate: Path | None = None, parsed_before_gate: int = 0) -> list[str]:
    """How each batch goes to the child, in order: "stored" (it parses) or "parsed" (it guesses);
    `gate` is made once `parsed_before_gate` batches went over parsed."""
    handed: list[str] = []
    real_submit, real_submit_parsed = PreparePool.submit, PreparePool.submit_parsed

    def submit(self: PreparePool, stored: Any) -> Any:
        handed.append("stored")
        return real_submit(self, stored)

    def submit_parsed(self: PreparePool, parsed: Any) -> Any:
        handed.append("parsed")
        future = real_submit_parsed(self, parsed)
        if gate is not None and handed.count("parsed") == parsed_before_gate:
            gate.touch()
        return future

    monkeypatch.setattr(PreparePool, "submit", submit)
    monkeypatch.setattr(PreparePool, "submit_parsed", submit_parsed)
    return handed


def noting_detectors_in_children(monkeypatch, folder: Path) -> Callable[[], list[str]]:
    """The processes other than this one that asked for the language detector (a file each)."""
    worker, real = os.getpid(), language.detector

    def detector() -> Any:
        if os.getpid() != worker:
            (folder / f"detector-{os.getpid()}").touch()
        return real()

    monkeypatch.setattr(language, "detector", detector)  # inherited by the fork
    monkeypatch.setattr(prepare_pool, "detector", detector)
    return lambda: sorted(path.name for path in folder.glob("detector-*"))


def test_while_the_child_reads_the_models_the_worker_parses_batches_ahead_and_the_child_guesses(
    bot: Bot, monkeypatch, tmp_path: Path
) -> None:
    train(bot)
    monkeypatch.setattr(prepare_pool, "_load_models", _slowly_loaded_models)  # inherited by the fork
    monkeypatch.setattr(process, "PARSED_AHEAD", 3)
    # the child reads its models only once the worker has parsed all it parses ahead: a fixed pause
    # was shorter than a slow fetch once (the child was ready before the first batch)
    gate = tmp_path / "parsed-ahead"
    monkeypatch.setenv(LOAD_AFTER_ENV, str(gate))
    handed = noting_hand_overs(monkeypatch, gate, parsed_before_gate=1 + 3)
    children_with_detector = noting_detectors_in_children(monkeypatch, tmp_path)
    mails = 6 * BATCH_SIZE + 5
    backlog(bot, mails)
    report, started, worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == mails and report.processed.failures == 0 and report.errors == []
    assert started == [True] and not worker_read_model  # the worker parsed; only the child read the models
    # the first batch and PARSED_AHEAD more were parsed by the worker while the child read its models;
    # once it had, the child prepared the rest whole
    assert handed == ["parsed"] * 4 + ["stored"] * 3
    assert len(children_with_detector()) == 1  # the child, which parses, read the language detector
    assert {row.state for row in bot.inbound()} == {"done"}
    answers = bot.sink.messages
    assert len(answers) == mails  # one answer each
    assert len({message.rcpt_tos[0] for message in answers}) == mails  # to each customer, once


def test_a_backlog_the_worker_parses_while_the_child_reads_the_models_is_parsed_by_the_worker_alone(
    bot: Bot, monkeypatch, tmp_path: Path
) -> None:
    """The child never parses it, so it never reads the language detector (its models come sooner)."""
    train(bot)
    monkeypatch.setattr(process, "PARSED_AHEAD", 3)
    handed = noting_hand_overs(monkeypatch)
    children_with_detector = noting_detectors_in_children(monkeypatch, tmp_path)
    mails = 3 * BATCH_SIZE  # all that the worker parses ahead: the first batch's child work waits no more
    backlog(bot, mails)
    report, started, worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == mails and report.processed.failures == 0 and report.errors == []
    assert started == [True] and not worker_read_model
    assert handed == ["parsed"] * 3  # parsed by the worker, however soon the child had its models
    assert children_with_detector() == []
    assert {row.state for row in bot.inbound()} == {"done"}
    answers = bot.sink.messages
    assert len(answers) == mails and len({message.rcpt_tos[0] for message in answers}) == mails


def test_the_worker_parses_a_backlog_up_to_what_it_parses_ahead() -> None:
    assert process.parsed_by_the_worker(process.PARSED_AHEAD * BATCH_SIZE)
    assert not process.parsed_by_the_worker(process.PARSED_AHEAD * BATCH_SIZE + 1)


def _die(_parsed: Any) -> Any:
    os._exit(1)  # in the child: as if it were killed while guessing


def test_when_the_child_dies_on_a_batch_the_worker_parsed_the_worker_prepares_them_all(
    bot: Bot, monkeypatch
) -> None:
    train(bot)
    monkeypatch.setattr(prepare_pool, "_load_models", _slowly_loaded_models)  # inherited by the fork
    monkeypatch.setattr(prepare_pool, "_guess", _die)
    mails = 3 * BATCH_SIZE + 1
    backlog(bot, mails)
    report, started, _worker_read_model = run_once_noting_helpers(bot, monkeypatch)
    assert report.processed.decided == mails and report.processed.failures == 0 and report.errors == []
    assert started == [True]
    assert {row.state for row in bot.inbound()} == {"done"}
    answers = bot.sink.messages
    assert len(answers) == mails  # one answer each, none lost, none twice
    assert len({message.rcpt_tos[0] for message in answers}) == mails
