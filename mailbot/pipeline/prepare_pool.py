"""A second process for the pure part of the process stage (parsing and both models), one batch ahead.

What a death leaves behind: nothing. The child touches no database, server, clock or file; if it
dies or fails, the pass prepares the rest itself, and the batch it had in hand is prepared again.

Why: once delivery has a process of its own (mailbot.reply.delivery_process), the process stage's
thread is what limits `run --once`. Parsing and the models (`prepare.prepare_batch`) are about a third
of its work per mail and need nothing but the stored bytes and the models; a process forked for the
pass prepares batch k+1 while the process stage decides batch k. Forked, not spawned: the child starts
in a few milliseconds and shares the loaded models with the worker instead of loading its own copies.
No SQLite connection crosses the fork: the worker's pooled ones are closed just before it.

A child that reads the models itself (`models_in_child`) needs ~2 s of CPU for them, and the worker
would wait all that time for its first batch with a core idle. Meanwhile the worker parses the batches
itself (`submit_parsed`: the child only guesses about them, `prepare.guess_batch`). A backlog no larger
than what the worker parses meanwhile is parsed by the worker alone (`parses_in_child` False): the child
then never reads the language detector, and its models are ready ~0.5 s sooner.

Only for a backlog (a pass whose first claim is a whole batch; a pass of a few mails is decided before
a child would have started), and only when the caller runs no other thread that could hold a lock or a
database connection across the fork (`run --once` with its delivery process). Linux only (fork).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from mailbot.app import App
from mailbot.classify.store import is_current
from mailbot.forking import leave_signals_to_the_worker, yield_to_the_worker
from mailbot.parse.language import detector
from mailbot.pipeline.prepare import Parsed, Prepared, Stored, guess_batch, prepare_batch
from mailbot.stack_chunk import call_at_fresh_chunk

log = logging.getLogger(__name__)

_Work = TypeVar("_Work", list[Stored], Parsed)  # what a job hands the child: stored mails or parsed ones

PARENT_LOOK_SECONDS = 1.0  # how often the child checks that the worker still lives
_APP: App | None = None  # in the child only: the app whose models it uses (inherited by the fork)


def _become_child(app: App) -> None:
    """In the forked child: the worker's signal plumbing is not ours (a signal meant for the worker
    must not be reported through its wakeup pipe by us); the worker ends the pool when it stops."""
    global _APP
    _APP = app
    leave_signals_to_the_worker()
    threading.Thread(target=_end_with, args=(os.getppid(),), name="parent-watch", daemon=True).start()


def _end_with(parent: int) -> None:
    """A worker killed outright never tells its pool: the child would wait for work forever."""
    while os.getppid() == parent:
        time.sleep(PARENT_LOOK_SECONDS)
    os._exit(0)


def _prepare(stored: Sequence[Stored]) -> dict[int, Prepared]:
    assert _APP is not None, "the prepare pool's child was not initialised"
    return call_at_fresh_chunk(prepare_batch, _APP, stored)


def _guess(parsed: Parsed) -> dict[int, Prepared]:
    assert _APP is not None, "the prepare pool's child was not initialised"
    return call_at_fresh_chunk(guess_batch, _APP, parsed)


def _ready() -> bool:
    yield_to_the_worker()
    return True


def _load_models(with_detector: bool = True) -> bool:
    """The language detector first, when the child will parse: the ~48 MB its loading frees are then
    reused by the models' loading instead of adding to the child's peak (271 against 303 MB,
    bench/README.md). A child that only guesses never needs it (`PreparePool`, `parses_in_child`).

    The child yields the cores to the worker (mailbot.forking) only once the models are read: until
    then the worker's first batch waits for them, and a child niced from the fork on read them while
    the worker and the mail server were busy with the fetch (in two runs over a backlog the first
    decision came 1.7-2.7 s later, bench/README.md, session 19)."""
    assert _APP is not None, "the prepare pool's child was not initialised"
    if with_detector:
        detector()
    _ = _APP.classifier, _APP.severity
    yield_to_the_worker()
    return True


class PreparePool:
    """One child process preparing batches for one pass; `close()` ends it.

    The models are read before the fork, so that the child shares them with the worker; or, with
    `models_in_child`, by the child alone, right after the fork, while the worker goes on (fetching a
    backlog: `run --once`, mailbot.pipeline.helpers): a second of the start taken off the worker's
    path. Only when a stored model fits the knowledge base (`store.is_current`); training one, which
    writes it to the model directory, stays the worker's.

    `parses_in_child` False, with the models read by the child: the worker parses every batch itself,
    the child only guesses; for a backlog the worker can parse while the child reads its models, so
    that the child need not read the language detector first (`_load_models`).
    """

    def __init__(self, app: App, *, models_in_child: bool = False, parses_in_child: bool = True) -> None:
        in_child = models_in_child and is_current(
            app.settings.classifier.model_dir,
            app.kb.digest,
            app.settings.classifier.target_precision,
            app.settings.classifier.out_of_scope_share,
        )
        if not in_child:
            _ = app.classifier, app.severity  # loaded before the fork, so the child shares them
        app.engine.dispose()  # no pooled SQLite connection is open across the fork
        context = multiprocessing.get_context("fork")
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=1, mp_context=context, initializer=_become_child, initargs=(app,)
        )
        # forked now (the first submit forks), not in the middle of a batch
        self._loading: Future[bool] | None = None
        self._parses = parses_in_child or not in_child  # models read before the fork: none to wait for
        if in_child:
            self._loading = self._executor.submit(_load_models, parses_in_child)
            self._loading.add_done_callback(_report_failed_load)
        else:
            self._executor.submit(_ready).result()

    @property
    def loading(self) -> bool:
        """Whether the child is still reading the models (a batch handed over now waits for them)."""
        return self._loading is not None and not self._loading.done()

    @property
    def parses(self) -> bool:
        """Whether a batch is handed over as stored (`submit`) rather than parsed (`submit_parsed`)."""
        return self._parses and not self.loading

    @classmethod
    def for_backlog(
        cls, app: App, *, models_in_child: bool = False, parses_in_child: bool = True
    ) -> PreparePool | None:
        """A pool, or None where a process cannot be forked (then the pass prepares its batches)."""
        if "fork" not in multiprocessing.get_all_start_methods():
            return None
        try:
            return cls(app, models_in_child=models_in_child, parses_in_child=parses_in_child)
        except (OSError, BrokenProcessPool) as exc:
            log.warning("no second process for parsing and classifying (%s); one process it is", exc)
            return None

    def submit(self, stored: Sequence[Stored]) -> Future[dict[int, Prepared]] | None:
        """The batch's preparation under way in the child, or None once the child is gone."""
        return self._submit(_prepare, list(stored))

    def submit_parsed(self, parsed: Parsed) -> Future[dict[int, Prepared]] | None:
        """The guesses about a batch the caller parsed, under way in the child; None once it is gone."""
        return self._submit(_guess, parsed)

    def _submit(
        self, work: Callable[[_Work], dict[int, Prepared]], batch: _Work
    ) -> Future[dict[int, Prepared]] | None:
        if self._executor is None:
            return None
        try:
            return self._executor.submit(work, batch)
        except (BrokenProcessPool, RuntimeError) as exc:
            self._lost(exc)
            return None

    def result(
        self, app: App, stored: Sequence[Stored], future: Future[dict[int, Prepared]] | None
    ) -> dict[int, Prepared]:
        """What the child prepared; prepared here when the child could not (it died, or failed)."""
        if future is not None:
            try:
                return future.result()
            except BrokenProcessPool as exc:
                self._lost(exc)
            except Exception as exc:  # a fault in preparing: the same code runs here and says where
                log.warning(
                    "the prepare process failed on a batch (%s: %s); preparing it here",
                    type(exc).__name__,
                    exc,
                )
        return prepare_batch(app, stored)

    def _lost(self, exc: BaseException) -> None:
        log.warning("the prepare process is gone (%s); the rest of the pass is prepared in one process", exc)
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None


def _report_failed_load(loaded: Future[bool]) -> None:
    """The child could not read the models: its batches fail, and the worker prepares them itself
    (`result`), reading the models then and saying why if it cannot either."""
    if not loaded.cancelled() and loaded.exception() is not None:
        log.warning("the prepare process could not read the models: %s", loaded.exception())
