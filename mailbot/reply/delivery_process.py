"""Delivery in a process of its own during `run --once`, so that it runs on the second core.

What a death leaves behind: the child delivers as the delivery thread does (mailbot.reply.
delivery_thread, mailbot.reply.deliver): rows are claimed with a lease, so it dying loses nothing; while
the parent decides a backlog, the parent runs the child's transactions for it (ForkedGate). Rows not
claimed stay pending and the parent delivers them itself when it finds the child gone (`finish`); rows
the parent claimed for the child and never saw settled go back to the queue at once, and rows the child
claimed itself (connections x BUSY_BATCH_PER_CONNECTION at most) wait for their lease; the accepted
journal keeps those the server had already taken from going out twice. Should the parent die, the
child reads end-of-file on its wake pipe, ends the rows in flight, claims nothing more and exits.

Why a process: the delivery thread shared one interpreter with the process stage (delivery cost the
process stage ~14 % of its rate, bench/README.md, session 8), so `run --once` used one core. The parent
wakes the child through a pipe after each committed batch. At the end the parent collects the child's
DeliveryReport (errors included) from a second pipe.

No SQLite connection crosses the fork: the parent closes its engine's pooled connections just before
forking (they open again at their next use) and the child starts its engine's pool anew. The child
leaves by os._exit, so none of the parent's exit handlers (or a test runner's) run in it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import resource
import select
import signal
import time
from collections.abc import Callable

from sqlalchemy import Engine

from mailbot.reply import outbox_states
from mailbot.reply.deliver import BUSY_BATCH_PER_CONNECTION, Deliverer, DeliveryReport
from mailbot.reply.delivery_thread import ACTIVE_SECONDS, DeliveryThread
from mailbot.reply.outbox_states import Accepted, Outgoing

log = logging.getLogger(__name__)

WAKE, FINISH, STOP = b"w", b"f", b"s"  # what the parent writes on the wake pipe
FAILED_EXIT = 70  # the child's exit status when its delivery broke (a database error)
PARENT_LOOK_SECONDS = 1.0  # how often the child checks that its parent still lives
# rows per connection when the process stage claims for delivery: its transaction runs once per
# committed batch (~40 replies), and a request covers only the connections free at that moment (16 kept
# up with 140 decisions/s, not with ~190); rows it claimed go back to the queue at once if the child dies
HANDED_BATCH_PER_CONNECTION = 64
HAND_WAIT_SECONDS = 0.5  # a hand-over not taken by then (no commit for so long) is run by delivery itself
ANSWER_POLL_SECONDS = 0.02


def can_fork(engine: Engine) -> bool:
    """A process of its own needs fork and a database both processes can open (not SQLite in memory)."""
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    return hasattr(os, "fork") and not in_memory


class ForkedGate:
    """The process stage's commits as the delivery process sees them, and delivery's transactions run
    by the process stage while it works through a backlog (SQLite has one writer: the process stage).

    `busy()`: the process stage committed a moment ago, so delivery claims more rows at a time
    (`busy_batch`). `settle_and_claim`: while it is busy, delivery hands its one transaction (mark the
    accepted rows sent, claim the next ones) to the process stage, which runs it right after its next
    commit (`commit_boundary`) and sends back the claimed rows.
    Why: with parsing and classifying one batch ahead in a process of their own, the process stage takes
    SQLite's write lock again within a millisecond of each commit, while SQLite's busy handler retries
    every 25-100 ms; bench/throughput.py (1k) sent not one reply while 1,000 mails were decided, all
    1,242 after the last decision. Handing the lock over at each commit instead (the delivery thread's
    CommitGate, across processes) made the process stage wait for the other process's transaction:
    deciding fell from ~200 to ~150 mails/s. Run by the process stage, the transaction costs it a few
    milliseconds a batch and nobody waits for a lock.

    A hand-over is exactly-once by the lock: delivery posts a request (numbered) and marks it posted;
    the process stage takes a posted request under the lock, and once taken it always answers (the rows,
    or None when its transaction failed: delivery then runs it itself). When the process stage has
    decided what there was (`stop_serving`, from DeliveryProcess.done_deciding and at the end), it runs
    the request waiting, if any, and delivery posts no more. A request not taken within
    HAND_WAIT_SECONDS (a batch takes long, or the process stage is stuck) is withdrawn under the same
    lock and run by delivery. The accepted rows are in the accepted journal before they are handed, so a
    death on either side sends nothing twice.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic  # CLOCK_MONOTONIC: one clock for both processes
        context = multiprocessing.get_context("fork")
        self._last_commit = context.RawValue("d", float("-inf"))
        self._lock = context.Lock()
        self._serving = context.RawValue("b", 0)  # the process stage runs delivery's transactions
        self._posted = context.RawValue("q", 0)  # the number of the request waiting to be taken; 0: none
        self._requests, self._request_pipe = context.Pipe(duplex=False)  # delivery -> process stage
        self._answers, self._answer_pipe = context.Pipe(duplex=False)  # process stage -> delivery
        self._sent = 0  # delivery's last request number
        self._latest: tuple[int, list[Accepted], int] | None = None  # the process stage's last request read
        self.serve: Callable[[list[Accepted], int], list[Outgoing]] | None = None  # the process stage's
        self.handed: set[int] = set()  # rows the process stage claimed for delivery, not seen settled

    def in_parent(self, serve: Callable[[list[Accepted], int], list[Outgoing]]) -> None:
        """After the fork, in the process stage: it runs delivery's transactions with `serve`."""
        self.serve = serve
        self._request_pipe.close()
        self._answers.close()

    def in_child(self) -> None:
        """After the fork, in the delivery process."""
        self._requests.close()
        self._answer_pipe.close()

    def busy(self) -> bool:
        return bool(self.monotonic() - self._last_commit.value <= ACTIVE_SECONDS)

    def busy_batch(self, batch: int) -> int:
        """HANDED_BATCH_PER_CONNECTION while the process stage claims for delivery (one connection too);
        else as the delivery thread's gate."""
        if self._serving.value:
            return HANDED_BATCH_PER_CONNECTION
        return BUSY_BATCH_PER_CONNECTION if batch > 1 else batch

    # --- the process stage's side
    def commit_boundary(self) -> None:
        """The process stage has just committed and holds no lock: run delivery's waiting transaction."""
        self._last_commit.value = self.monotonic()
        if self.serve is not None:
            self._serving.value = 1
            self._serve_posted()

    def stop_serving(self) -> None:
        """The process stage has decided what there was: it runs the waiting transaction, if any, and no
        more; delivery runs its own from now on (without waiting for a commit that will not come)."""
        if self.serve is not None:
            self._serve_posted(last=True)

    def _serve_posted(self, last: bool = False) -> None:
        with self._lock:
            if last:
                self._serving.value = 0
            try:
                while self._requests.poll():  # earlier ones were withdrawn: delivery ran them itself
                    self._latest = self._requests.recv()
            except (EOFError, OSError):  # the delivery process is gone: finish() finds out
                self.serve = None
                return
            if self._latest is None or self._posted.value != self._latest[0]:
                return
            self._posted.value = 0
            _number, accepted, limit = self._latest
            self._latest = None
        assert self.serve is not None
        rows: list[Outgoing] | None
        try:
            rows = self.serve(accepted, limit)
        except Exception as exc:  # the answer must come: delivery then runs it itself
            log.warning("delivery's transaction failed in the worker (%s); the delivery process runs it", exc)
            rows = None
        else:
            self.handed.difference_update(row.id for row in accepted)
            self.handed.update(row.id for row in rows)
        with contextlib.suppress(OSError):  # the delivery process is gone: finish() finds out
            self._answer_pipe.send(rows)

    # --- delivery's side
    def settle_and_claim(
        self, accepted: list[Accepted], limit: int, here: Callable[[], list[Outgoing]]
    ) -> list[Outgoing]:
        if not (self._serving.value and self.busy()):
            return here()
        self._sent += 1
        self._request_pipe.send((self._sent, accepted, limit))
        with self._lock:
            posted = bool(self._serving.value)  # not after stop_serving (the message is left unread)
            if posted:
                self._posted.value = self._sent
        if not posted:
            return here()
        while True:
            if self._answers.poll(ANSWER_POLL_SECONDS):
                try:
                    rows: list[Outgoing] | None = self._answers.recv()
                except (EOFError, OSError):  # the worker died after taking it: the sent rows are marked here
                    log.warning("the worker is gone; the delivery process marks what it sent itself")
                    return here()
                return here() if rows is None else rows
            if self.monotonic() - self._last_commit.value > HAND_WAIT_SECONDS:
                with self._lock:
                    withdrawn = self._posted.value == self._sent
                    if withdrawn:
                        self._posted.value = 0
                if withdrawn:
                    return here()


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
                self.gate.in_child()
                self.engine.dispose(close=False)  # a pool of its own, should the parent have held one
                status = _serve(self.make_deliverer, self.gate, self.name, wake_read, result_write)
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
        outbox_states.release(deliverer.sessions, sorted(self.gate.handed))
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
            thread.stop()
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
