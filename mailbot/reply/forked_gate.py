"""Delivery's transactions run by the worker while it decides a backlog: one writer for SQLite.

The face the delivery process (mailbot.reply.delivery_process) gives its Deliverer as `gate`
(mailbot.reply.deliver.DeliveryGate); made before the fork, its pipes, lock and shared values are then
used from both processes (`in_parent`, `in_child`).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import time
from collections.abc import Callable

from mailbot.reply.deliver import busy_claim
from mailbot.reply.delivery_thread import ACTIVE_SECONDS
from mailbot.reply.outbox_states import Accepted, Outgoing

log = logging.getLogger(__name__)

# rows per connection when the process stage claims for delivery: its transaction runs once per
# committed batch (~40 replies), and a request covers only the connections free at that moment (16 kept
# up with 140 decisions/s, not with ~190); rows it claimed go back to the queue at once if the child dies
HANDED_BATCH_PER_CONNECTION = 64
HAND_WAIT_SECONDS = 0.5  # a hand-over not taken by then (no commit for so long) is run by delivery itself
ANSWER_POLL_SECONDS = 0.02


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
        self._worker_gone = False  # delivery found the worker's end of the request pipe closed
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
        return busy_claim(batch)

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
        if self._worker_gone or not (self._serving.value and self.busy()):
            return here()
        self._sent += 1
        try:
            self._request_pipe.send((self._sent, accepted, limit))
        except OSError:  # the worker was killed (its end of the pipe is closed): delivery runs its own
            log.warning("the worker is gone; the delivery process runs its transactions itself")
            self._worker_gone = True
            return here()
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
