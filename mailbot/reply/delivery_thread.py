"""Delivery beside processing: a thread with its own asyncio loop and SMTP pool, woken by each commit.

The process stage calls `wake()` after every committed decision (cheap, thread-safe, never blocks),
so a reply leaves while the next mail is decided instead of after the whole backlog. Between wakes
the thread sleeps until the next deferred row is due (at most POLL_SECONDS). A drain that met an
unreachable server is not repeated before RETRY_SECONDS, however often it is woken: the row in hand
was deferred and the server is not hammered.

The thread changes nothing about the guarantees of mailbot.reply.deliver: rows are claimed with a
lease in their own transactions, so it never touches a row that processing writes (new rows are
only inserted there, and the thread sees them once committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime

from sqlalchemy.exc import OperationalError

from mailbot.reply.deliver import Deliverer, DeliveryGate, DeliveryReport, busy_claim
from mailbot.reply.outbox_states import Accepted, Outgoing
from mailbot.stack_chunk import call_at_fresh_chunk

log = logging.getLogger(__name__)

GAP_SECONDS = 0.05  # longest wait of either side for the other at a commit boundary (CommitGate)
ACTIVE_SECONDS = 0.2  # the process stage counts as busy this long after its last commit
POLL_SECONDS = 30.0  # longest sleep without a wake (rows queued by another process are found then)
RETRY_SECONDS = 15.0  # after a drain with an unreachable server, the same as the mail job's pause


class CommitGate:
    """Hands SQLite's single write lock to delivery at the process stage's commit boundaries.

    Measured without it (bench/decision_to_reply.py, 200 mails, load ~8): the delivery thread's claim
    transactions waited p95 0.29 s, at most 1.6 s, for the lock, because the process stage takes it
    again within a millisecond of each commit while SQLite's busy handler retries only every 25-100 ms;
    the first reply left ~2 s after the first decision. With the gate, delivery asks for its turn
    (`turn()`), and the process stage, at its next commit (`commit_boundary()`, called by `wake`),
    waits until that one short transaction is done. Both waits are bounded (GAP_SECONDS), so neither
    side can hold the other up for longer, and while the process stage is idle no one waits at all.
    """

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._wanted = False
        self._gap = threading.Event()
        self._done = threading.Event()
        self._last_commit = float("-inf")

    def commit_boundary(self) -> None:
        """The caller has just committed and holds no lock: let a waiting delivery step go first."""
        self._last_commit = self.monotonic()
        with self._lock:
            if not self._wanted:
                return
            self._done.clear()
            self._gap.set()
        self._done.wait(GAP_SECONDS)

    def busy(self) -> bool:
        """The process stage committed a moment ago: it is working through a backlog."""
        return self.monotonic() - self._last_commit <= ACTIVE_SECONDS

    def settle_and_claim(
        self, accepted: list[Accepted], limit: int, here: Callable[[], list[Outgoing]]
    ) -> list[Outgoing]:
        with self.turn():
            return here()

    def busy_batch(self, batch: int) -> int:
        return busy_claim(batch)

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """Around one delivery transaction: wait (briefly) for the next commit boundary first."""
        if not self.busy():
            yield
            return
        with self._lock:
            self._wanted = True
            self._gap.clear()
        self._gap.wait(GAP_SECONDS)
        try:
            yield
        finally:
            with self._lock:
                self._wanted = False
            self._done.set()


class DeliveryThread:
    """`start()`, then `wake()` as often as there may be something to send; `finish()` (run --once:
    send what is due, then stop) or `stop()` (the worker stops: the rows in hand end, nothing new)."""

    def __init__(
        self,
        deliverer: Deliverer,
        name: str = "delivery",
        monotonic: Callable[[], float] = time.monotonic,
        gate: DeliveryGate | None = None,
        halt: threading.Event | None = None,
    ) -> None:
        """`gate`: what delivery's transactions ask for their turn, when the process stage runs in
        another process and marks its commits there (mailbot.reply.delivery_process); by default a
        CommitGate in this process, whose commit boundaries are this thread's wakes. `halt`: the
        worker's stop; once set, nothing more is claimed (as after `stop()`), before the worker gets
        round to stopping the thread, so that a fleet worker whose fence ended its sessions sends
        nothing its peers may be taking over."""
        self.deliverer = deliverer
        self.gate = CommitGate() if gate is None else None
        deliverer.gate = gate or self.gate
        self.report = DeliveryReport()  # everything the thread did, summed over its drains
        self.monotonic = monotonic
        self._name = name
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._woken: asyncio.Event | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._finishing = False
        self._stopping = False
        self._halt = halt
        self._retry_at = 0.0
        self._failure: BaseException | None = None

    def start(self) -> DeliveryThread:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        self._ready.wait()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """There may be new rows: drain now (or right after the drain under way). For the process
        stage's commit hook: safe from any thread; returns at once, or after delivery's one short
        transaction when delivery is waiting for the database (CommitGate)."""
        if self.gate is not None:
            self.gate.commit_boundary()
        with self._lock:
            loop, woken = self._loop, self._woken
            if loop is None or woken is None:
                return
            with contextlib.suppress(RuntimeError):  # the loop has just closed: the thread is done
                loop.call_soon_threadsafe(woken.set)

    def done_deciding(self) -> None:
        """The face of DeliveryProcess.done_deciding: nothing to do for a thread."""

    def finish(self, timeout: float | None = None) -> DeliveryReport:
        """Deliver what is due now (rows backed off for later stay), then stop; returns the report of
        the thread's whole life. Raises what broke the thread (a database error), as deliver_due did."""
        self._finishing = True
        self.wake()
        self._join(timeout)
        if self._failure is not None:
            raise self._failure
        return self.report

    def stop(self, timeout: float | None = None) -> None:
        """Stop without a last drain: the rows in flight end (sent, deferred or failed); rows not yet
        claimed stay queued for the next start."""
        self._stopping = True
        self.wake()
        self._join(timeout)

    def _join(self, timeout: float | None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            call_at_fresh_chunk(asyncio.run, self._main())  # its loop at a fresh frame-stack chunk
        except BaseException as exc:  # handed to finish(), which raises it in its caller
            self._failure = exc
            log.exception("delivery stopped")
        finally:
            self._ready.set()

    async def _main(self) -> None:
        woken = asyncio.Event()
        with self._lock:
            self._loop, self._woken = asyncio.get_running_loop(), woken
        self._ready.set()
        pool = self.deliverer.pool()
        try:
            while not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), self._sleep_seconds())
                woken.clear()
                if self._stopping:
                    break
                final = self._finishing
                await pool.close_idle()  # a connection quiet for long may have been dropped by the server
                if final or self.monotonic() >= self._retry_at:
                    drained = await self.deliverer.drain(pool, keep_going=self._keep_going)
                    self.report.add(drained)
                    if drained.errors:
                        self._retry_at = self.monotonic() + RETRY_SECONDS
                if final:
                    break
        finally:
            with self._lock:
                self._loop = self._woken = None
            await pool.close()

    def _keep_going(self) -> bool:
        return not self._stopping and not (self._halt is not None and self._halt.is_set())

    def _sleep_seconds(self) -> float:
        pause = self._retry_at - self.monotonic()
        if pause > 0:  # the server could not be reached: not before the pause is over
            return pause
        wait = POLL_SECONDS
        try:
            next_due = self.deliverer.next_due()
        except OperationalError as exc:  # only the hint is lost: a wake or the next pause asks again
            log.warning(
                "outbox: the database did not answer when the next mail is due (%s); asking again in %g s",
                str(exc.orig or exc).splitlines()[0], RETRY_SECONDS,
            )  # fmt: skip
            return RETRY_SECONDS
        if next_due is not None:
            wait = min(wait, _seconds_until(next_due, self.deliverer.clock()))
        return max(0.05, wait)


def _seconds_until(when: datetime, now: datetime) -> float:
    return (when - now).total_seconds()
