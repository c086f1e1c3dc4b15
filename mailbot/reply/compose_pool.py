"""A second process that renders and composes the outgoing mail of a backlog's decisions, beside deciding.

Why: building outgoing mail (the templates, then the stdlib's headers, folding and generator) was
about half of what the deciding process did per mail during `run --once` over a backlog (issue 13).
The decision stays in the worker: it makes each row with its Message-ID, recipient and everything
the decision needs, and hands what the bytes are built from (`outbox.compose_outgoing`'s arguments)
to the child, which builds them while the worker decides the next mails. Before the batch commits,
`collect()` takes the subjects and bytes back, puts them into the rows and writes the rows, all in one
INSERT. So every row is written with its final bytes, as before: no reader of `outbox.raw` ever sees a
row without them, and a re-send is byte-identical. A read of the outbox before then that could see a
waiting row (the next mail's per-address limits, when one sender wrote twice in a batch) has it written
first (`write_if`, mailbot.reply.pending_outbox).

What a death leaves behind: nothing. A child that dies, or fails on a mail, fails the batch before its
commit; the batch is then decided again a mail at a time, composed in the worker (pipeline.process),
so a fault is counted against its own mail only, and the rest of the pass composes in the worker. A
worker that dies never committed the batch; the child ends when it sees its pipe end or its parent go.

Protocol (two pipes, no thread in the worker): the worker sends jobs and at the end of a batch COLLECT;
the child reads jobs and composes them, and writes only when asked, while the worker waits to read.
So neither ever blocks on a full pipe the other is not reading. Linux only (fork).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import logging
import os
import pickle
from datetime import datetime
from multiprocessing import Pipe
from multiprocessing.connection import Connection

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from mailbot.db.schema import OutboxMail
from mailbot.db.write_now import insert_all_now
from mailbot.forking import leave_signals_to_the_worker, yield_to_the_worker
from mailbot.logredact import shortened
from mailbot.reply.compose_here import WaitingRows
from mailbot.reply.outbox import Outgoing, Sender, compose_outgoing
from mailbot.reply.render import TemplateRenderer
from mailbot.stack_chunk import call_at_fresh_chunk

log = logging.getLogger(__name__)

PARENT_LOOK_SECONDS = 1.0  # how often a waiting child checks that the worker still lives
COLLECT = "collect"  # the worker wants every answer so far
STOP = "stop"  # the pass is over (sent, not left to the pipe's end: other children hold its ends too)

PIPE_BYTES = 1 << 20
Job = tuple[int, Sender | None, Outgoing, str, datetime]  # number, sender if new, item, Message-ID, date
Answer = tuple[int, str, bytes, str | None]  # number, subject, bytes, or what went wrong


def _widen(pipe: Connection) -> None:
    """A batch's jobs fit into the pipe (1 MiB, Linux's limit for a user), so the worker never waits
    for a child that is behind; 64 KiB (the default) held a few team notices with their attachment."""
    with contextlib.suppress(OSError, AttributeError):  # another system, or a lower limit: the default
        fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class ComposeFailed(RuntimeError):
    """The child could not build a mail, or is gone: the batch is decided again without it."""


class ComposePool(WaitingRows):
    """One child composing for one pass; `compose` per mail, `collect` before each commit, `close` at
    the end. Implements `outbox.Composer` and `pending_outbox.PendingRows`; a row waits for its bytes
    under its job's number."""

    def __init__(self, renderer: TemplateRenderer, engine: Engine) -> None:
        super().__init__(renderer)
        self._sender: Sender | None = None  # the last one sent
        job_read, job_write = Pipe(duplex=False)
        _widen(job_write)
        answer_read, answer_write = Pipe(duplex=False)
        engine.dispose()  # no pooled SQLite connection is open across the fork
        try:
            self.pid: int | None = os.fork()
        except OSError:  # no process (EAGAIN, ENOMEM): the caller composes in the worker
            for end in (job_read, job_write, answer_read, answer_write):
                end.close()
            raise
        if self.pid == 0:  # the child: never returns
            status = 1
            try:
                job_write.close()
                answer_read.close()
                leave_signals_to_the_worker()
                yield_to_the_worker()
                status = call_at_fresh_chunk(_serve, renderer, job_read, answer_write)
            except BaseException:  # the child must end here, whatever happened
                log.exception("compose process failed")
            finally:
                os._exit(status)
        job_read.close()
        answer_write.close()
        self._jobs: Connection | None = job_write
        self._answers = answer_read
        log.debug("compose process %d started", self.pid)

    @classmethod
    def for_backlog(cls, renderer: TemplateRenderer, engine: Engine) -> ComposePool | None:
        """A pool, or None where no process can be forked (the pass composes its mail itself)."""
        if not hasattr(os, "fork"):
            return None
        try:
            return cls(renderer, engine)
        except OSError as exc:
            log.warning("no second process for composing outgoing mail (%s); one process it is", exc)
            return None

    @property
    def running(self) -> bool:
        return self._jobs is not None

    def compose(self, row: OutboxMail, sender: Sender, item: Outgoing, now: datetime) -> bool:
        """Hand `row`'s mail to the child, and the row is written when its bytes are collected; False
        once the child is gone (the caller composes and writes it)."""
        if self._jobs is None:
            return False
        # the sender only when it changes (one per client); the hook that tells the team of a failed
        # mail is the worker's, and never needed there
        told = None if sender == self._sender else dataclasses.replace(sender, on_failed=None)
        job: Job = (self._numbered + 1, told, item, row.message_id, now)
        try:
            message = pickle.dumps(job, pickle.HIGHEST_PROTOCOL)  # a value pickle refuses is not sent
        except Exception as exc:  # composed here instead
            log.debug("outbox mail %s composed in the worker: %s", row.message_id, exc)
            return False
        try:
            self._jobs.send_bytes(message)
        except OSError as exc:
            self._lost(exc)
            return False
        self._sender = sender
        self._wait(row)
        return True

    def collect(self, session: Session) -> None:
        """Write every waiting row with its subject and bytes in `session`'s transaction (one INSERT for
        all); raises ComposeFailed when the child failed on one of them or is gone (the caller's
        transaction must then not commit)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        if self._jobs is None:
            raise ComposeFailed("the compose process is gone")
        try:
            self._jobs.send(COLLECT)
            answers: list[Answer] = self._answers.recv()
        except (OSError, EOFError) as exc:
            self._lost(exc)
            raise ComposeFailed(f"the compose process is gone ({exc})") from exc
        composed: list[OutboxMail] = []
        for number, subject, raw, error in answers:
            row = pending.pop(number, None)
            if row is None:  # rolled back with its mail
                continue
            if error is not None:
                raise ComposeFailed(f"composing outbox mail {row.kind!r} failed: {error}")
            row.subject, row.raw = subject, raw
            composed.append(row)
        if pending:
            self._lost(f"{len(pending)} mails not answered")
            raise ComposeFailed(f"the compose process did not answer for {len(pending)} mails")
        insert_all_now(session, composed)  # in the order they were queued

    def _lost(self, reason: object) -> None:
        log.warning("the compose process is gone (%s); the rest of the pass composes in one process", reason)
        self.close()

    def close(self) -> None:
        if self._jobs is not None:
            with contextlib.suppress(OSError):  # gone already
                self._jobs.send(STOP)
            self._jobs.close()
            self._jobs = None
            self._answers.close()
        if self.pid is not None:
            _pid, status = os.waitpid(self.pid, 0)
            self.pid = None
            if os.waitstatus_to_exitcode(status) != 0:
                log.warning("the compose process ended with %s", os.waitstatus_to_exitcode(status))


def _serve(renderer: TemplateRenderer, jobs: Connection, answers: Connection) -> int:
    """The child: compose each job as it comes, answer everything composed so far when asked."""
    parent = os.getppid()
    done: list[Answer] = []
    sender: Sender | None = None
    while True:
        if not jobs.poll(PARENT_LOOK_SECONDS):
            if os.getppid() != parent:
                return 0  # the worker is gone: nothing will be collected
            continue
        try:
            message = jobs.recv()
        except EOFError:
            return 0
        if message == STOP:
            return 0
        if message == COLLECT:
            try:
                answers.send(done)
            except BrokenPipeError:  # the worker was killed while it waited: no one to tell
                return 0
            done = []
            continue
        number, told, item, message_id, now = message
        sender = told or sender
        assert sender is not None, "the first job names its sender"
        try:
            subject, raw = compose_outgoing(renderer, sender, item, message_id, now, to=True)
        except Exception as exc:  # said to the worker, which composes the mail again and logs it there
            done.append((number, "", b"", shortened(f"{type(exc).__name__}: {exc}", 500)))
        else:
            done.append((number, subject, raw, None))
