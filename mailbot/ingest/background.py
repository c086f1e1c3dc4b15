"""Fetch and store new mail in a forked process, so that the worker loads its models meanwhile.

Before `run --once` decides its first mail, two things take a second or more each, one after the
other: fetching and storing the new mail (~0.7 s for 1,000 over IMAP) and loading the models
(scikit-learn, the article model, lingua: ~2 s). Both are CPU work in Python, so a thread would only
take turns with the other under the GIL (measured: slower than one after the other); a process of
its own runs on the second core.

The child does exactly what `MailSource.fetch_new` does in the worker (same code, same transactions
and keys, its own database connections and its own mail server connection) and reports back over a
pipe: how many mails it found, as soon as it knows (`found`), then how many it stored or the
exception it met (`result`, which returns or raises as `fetch_new` would). Nothing is decided before
`result` returned, so the mails are decided as before: once, in arrival order, after the fetch. A
child that dies half-way leaves what a crash of the worker would: the mail it committed is stored,
the rest is above the watermark for the next pass.

Fork is used (not spawn) because the child must not import and configure everything again; it is
forked before the worker starts any thread of its own (delivery) and never returns into the
caller's code: it leaves with os._exit.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from collections.abc import Callable
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

from sqlalchemy import Engine

from mailbot.errors import TransientError
from mailbot.ingest.source import MailSource


def can_fork() -> bool:
    """Fork exists here (not on Windows)."""
    return hasattr(os, "fork")


class BackgroundFetch:
    """`fetch_new` of a source made in a forked child; `start` it, then `found`, then `result`."""

    def __init__(self, pid: int, messages: Connection) -> None:
        self._pid: int | None = pid
        self._messages = messages
        self._final: tuple[str, Any] | None = None
        self._found: int | None = None

    @classmethod
    def start(cls, make_source: Callable[[], MailSource], engine: Engine) -> BackgroundFetch:
        receive, send = Pipe(duplex=False)
        pid = os.fork()
        if pid == 0:  # the child
            receive.close()
            _fetch_in_child(make_source, engine, send)
        send.close()
        return cls(pid, receive)

    def found(self) -> int:
        """How many new mails the child found, as soon as it knows (0 when it stopped before)."""
        while self._found is None and self._final is None:
            self._next()
        return self._found or 0

    def result(self) -> int:
        """How many rows the child stored; raises what fetch_new raised there (TransientError when the
        mail server could not be reached, ...)."""
        while self._final is None:
            self._next()
        self._reap()
        kind, value = self._final
        if kind == "raised":
            raise value
        return int(value)

    def close(self) -> None:
        """Stop a child that is still at work (the worker is failing or interrupted) and reap it: what
        it committed is stored, the rest waits for the next pass, as after a crash."""
        if self._pid is not None:
            with contextlib.suppress(ProcessLookupError):  # a child that ended is a zombie until reaped
                os.kill(self._pid, signal.SIGTERM)
            self._reap()
        self._messages.close()

    def _next(self) -> None:
        try:
            kind, value = self._messages.recv()
        except (EOFError, OSError):
            status = self._reap()
            self._final = (
                "raised",
                TransientError(
                    f"the process that fetched new mail ended without a result ({status}); the mail it "
                    "stored is decided, the rest is fetched in the next pass"
                ),
            )
            return
        if kind == "found":
            self._found = int(value)
        else:
            self._final = (kind, value)

    def _reap(self) -> str:
        """Wait for the child to end; how it ended, in words."""
        if self._pid is None:
            return "ended"
        _pid, status = os.waitpid(self._pid, 0)
        self._pid = None
        if os.WIFSIGNALED(status):
            return f"killed by signal {os.WTERMSIG(status)}"
        return f"exit status {os.waitstatus_to_exitcode(status)}"


def _fetch_in_child(make_source: Callable[[], MailSource], engine: Engine, send: Connection) -> None:
    """The child's whole life: fetch, report, leave with os._exit (never return into the caller)."""
    code = 1
    try:
        engine.dispose(close=False)  # the parent's pooled connections stay the parent's
        source = make_source()
        try:
            stored = source.fetch_new(on_found=lambda count: send.send(("found", count)))
        finally:
            source.close()
        send.send(("stored", stored))
        code = 0
    except BaseException as exc:  # reported to the parent, which raises it where fetch_new would have
        _send_exception(send, exc)
    finally:
        for handler in logging.getLogger().handlers:
            handler.flush()
        os._exit(code)


def _send_exception(send: Connection, exc: BaseException) -> None:
    try:
        send.send(("raised", exc))
    except Exception:  # not picklable: its words; if even that fails, the parent reports the exit status
        words = RuntimeError(f"fetching new mail failed: {type(exc).__name__}: {exc}")
        with contextlib.suppress(Exception):
            send.send(("raised", words))
