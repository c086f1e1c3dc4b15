"""Delivery in a process of its own during `run --once`, so that it runs on the second core.

What a death leaves behind: the child delivers as the delivery thread does (mailbot.reply.
delivery_thread, mailbot.reply.deliver): rows are claimed with a lease, so it dying loses nothing; while
the parent decides a backlog, the parent runs the child's transactions for it (mailbot.reply.
forked_gate). Rows not claimed stay pending and the parent delivers them itself when it finds the child
gone (`finish`); rows the parent claimed for the child and never saw settled go back to the queue at
once, and rows the child claimed itself (connections x BUSY_BATCH_PER_CONNECTION at most) wait for
their lease; the accepted journal keeps those the server had already taken from going out twice.
Should the parent die, the child reads end-of-file on its wake pipe, ends the rows in flight, claims
nothing more and exits.

Why a process: the delivery thread shared one interpreter with the process stage (delivery cost the
process stage ~14 % of its rate, bench/README.md, session 8), so `run --once` used one core. The parent
wakes the child through a pipe after each committed batch. At the end the parent collects the child's
DeliveryReport (errors included) from a second pipe. The child yields a core to the deciding parent
(mailbot.forking.HELPER_NICENESS): what it sends can wait a moment, the parent's next batch cannot.

No SQLite connection crosses the fork: the parent closes its engine's pooled connections just before
forking (they open again at their next use) and the child starts its engine's pool anew. The child
leaves by os._exit, so none of the parent's exit handlers (or a test runner's) run in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import resource
import select
import signal
from collections.abc import Callable

from sqlalchemy import Engine

from mailbot.forking import yield_to_the_worker
from mailbot.reply import outbox_states
from mailbot.reply.deliver import Deliverer, DeliveryReport
from mailbot.reply.delivery_thread import DeliveryThread
from mailbot.reply.forked_gate import ForkedGate
from mailbot.reply.outbox_states import Accepted, Outgoing
from mailbot.stack_chunk import call_at_fresh_chunk

log = logging.getLogger(__name__)

WAKE, FINISH, STOP = b"w", b"f", b"s"  # what the parent writes on the wake pipe
FAILED_EXIT = 70  # the child's exit status when its delivery broke (a database error)
PARENT_LOOK_SECONDS = 1.0  # how often the child checks that its parent still lives
ORPHAN_STOP_SECONDS = 60.0  # a child whose parent is gone ends by then (twice an SMTP timeout's default)


def can_fork(engine: Engine) -> bool:
    """A process of its own needs fork and a database both processes can open (not SQLite in memory)."""
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    return hasattr(os, "fork") and not in_memory


class DeliveryProcess:
    """The face of DeliveryThread: `start()`, `wake()` after each commit, then `finish()` (deliver what
    is due, stop, return the report) or `stop()` (the rows in hand end, nothing new is claimed)."""

    def __init__(
        self,
        make_deliverer: Callable[[], Deliverer],
        engine: Engine,
        name: str = "delivery",
        serve: Callable[[list[Accepted], int], list[Outgoing]] | None = None,
    ) -> None:
        """`serve(accepted, limit)`: delivery's transaction as the worker runs it for the child while it
        decides a backlog (ForkedGate); without it the child runs all of its transactions itself."""
        self.make_deliverer = make_deliverer  # called in the child; in the parent only after its death
        self.serve = serve
        self.engine = engine
        self.name = name
        self.gate = ForkedGate()
        self.pid: int | None = None
        self._wakes = -1  # the parent's end of the wake pipe
        self._results = -1  # the parent's end of the result pipe

    def start(self) -> DeliveryProcess:
        wake_read, wake_write = os.pipe()
        result_read, result_write = os.pipe()
        self.engine.dispose()  # no pooled SQLite connection is open across the fork
        try:
            pid = os.fork()
        except OSError:  # no process: the caller delivers another way (worker.start_delivery_once)
            for end in (wake_read, wake_write, result_read, result_write):
                os.close(end)
            raise
        if pid == 0:  # the child: never returns
            status = FAILED_EXIT
            try:
                os.close(wake_write)
                os.close(result_read)
                yield_to_the_worker()
                self.gate.in_child()
                self.engine.dispose(close=False)  # a pool of its own, should the parent have held one
                status = call_at_fresh_chunk(
                    _serve, self.make_deliverer, self.gate, self.name, wake_read, result_write
                )
            except BaseException:  # the child must end here, whatever happened
                log.exception("delivery process failed")
            finally:
                os._exit(status)
        os.close(wake_read)
        os.close(result_write)
        if self.serve is not None:
            self.gate.in_parent(self.serve)
        os.set_blocking(wake_write, False)  # a wake never blocks the process stage; a full pipe is woken
        self.pid, self._wakes, self._results = pid, wake_write, result_read
        log.debug("delivery process %d started", pid)
        return self

    @property
    def running(self) -> bool:
        return self.pid is not None

    def wake(self) -> None:
        """There may be new rows (the caller has just committed): the child drains. Never blocks."""
        self.gate.commit_boundary()
        _tell(self._wakes, WAKE)

    def done_deciding(self) -> None:
        """The worker decides no more mail in this run: it stops running the child's transactions."""
        self.gate.stop_serving()

    def finish(self) -> DeliveryReport:
        """Deliver what is due now, then end the child; returns its report. A child that died or broke
        is reported as an error, and the rows it left pending are delivered here."""
        return self._end(FINISH)

    def stop(self) -> None:
        """The rows in flight end (sent, deferred or failed); rows not yet claimed stay queued."""
        self._end(STOP)

    def _end(self, command: bytes) -> DeliveryReport:
        if self.pid is None:
            return DeliveryReport()
        self.gate.stop_serving()  # the child must not wait for the worker while it finishes
        os.set_blocking(self._wakes, True)  # the command must get through even after many wakes
        _tell(self._wakes, command)
        os.close(self._wakes)
        with os.fdopen(self._results, "rb") as results:
            told = results.read()
        _pid, status = os.waitpid(self.pid, 0)
        self.pid = None
        report, failure = _report_of(told)
        if failure is None and os.waitstatus_to_exitcode(status) != 0:
            failure = f"it ended with {_ending(status)}"
        if failure is None:
            return report
        problem = f"the delivery process failed ({failure})"
        log.warning("%s; the worker delivers the rest itself", problem)
        report.errors.append(problem)
        deliverer = self.make_deliverer()  # its accepted journal is read now, after the child's end
        # the rows the worker claimed for the child and never saw settled: back to the queue (those the
        # server took are in the journal and are marked sent, not sent again); the child's own claims
        # wait for their lease
        outbox_states.release(deliverer.sessions, sorted(self.gate.handed), deliverer.claimant.current())
        if command == FINISH:
            report.add(deliverer.deliver_due())
        return report


def _serve(
    make_deliverer: Callable[[], Deliverer], gate: ForkedGate, name: str, wakes: int, results: int
) -> int:
    """The child: a delivery thread woken by the parent's pipe; the report goes back as one JSON object."""
    thread = DeliveryThread(make_deliverer(), name=name, gate=gate).start()
    failure: str | None = None
    parent = os.getppid()
    while True:
        readable, _, _ = select.select([wakes], [], [], PARENT_LOOK_SECONDS)
        if not readable and os.getppid() == parent:
            continue
        # the parent is gone when the pipe ends, or when another process (one it forked too) holds it
        told = os.read(wakes, 4096) if readable else b""
        if FINISH in told:
            try:
                thread.finish()
            except Exception as exc:  # what broke the thread (a database error): said to the parent
                failure = f"{type(exc).__name__}: {exc}"
            break
        if not told or STOP in told:  # end-of-file: the parent is gone
            # an orphan waits for its sends in flight, not forever: a worker killed while it held the
            # gate's lock would leave the thread waiting for it (what it claimed waits for the lease)
            thread.stop(None if told else ORPHAN_STOP_SECONDS)
            break
        thread.wake()
    report = thread.report
    answer = {"sent": report.sent, "deferred": report.deferred, "failed": report.failed}
    answer |= {"errors": report.errors, "failure": failure}
    used = resource.getrusage(resource.RUSAGE_SELF)
    log.info(
        "delivery process %d: %d sent, %d deferred, %d failed; %.2f s CPU, peak RSS %d MB",
        os.getpid(), report.sent, report.deferred, report.failed, used.ru_utime + used.ru_stime,
        used.ru_maxrss // 1024,
    )  # fmt: skip
    data = json.dumps(answer).encode()
    with contextlib.suppress(BrokenPipeError):  # the parent is gone: no one to tell
        while data:
            data = data[os.write(results, data) :]
    return 0 if failure is None else FAILED_EXIT


def _report_of(told: bytes) -> tuple[DeliveryReport, str | None]:
    """The child's report and what broke it; nothing readable: it died before it could say."""
    try:
        answer = json.loads(told)
    except ValueError:
        return DeliveryReport(), None
    report = DeliveryReport(answer["sent"], answer["deferred"], answer["failed"], list(answer["errors"]))
    return report, answer["failure"]


def _tell(pipe: int, command: bytes) -> None:
    try:
        os.write(pipe, command)
    except BlockingIOError:  # the pipe is full of wakes: the child is woken anyway
        pass
    except BrokenPipeError:  # the child is gone: finish() finds out and delivers the rest
        pass


def _ending(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
