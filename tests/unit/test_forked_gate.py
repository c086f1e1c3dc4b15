"""The delivery process hands its one transaction to the worker while the worker decides a backlog
(mailbot.reply.forked_gate.ForkedGate): run exactly once, by the worker or by delivery, never by both.

Delivery's side runs in a thread here; the gate's pipes, lock and shared values work the same between
threads as between the forked processes they are made for."""

from __future__ import annotations

import threading
import time

import pytest

from mailbot.reply import forked_gate
from mailbot.reply.forked_gate import ForkedGate
from mailbot.reply.outbox_states import Accepted, Outgoing

ACCEPTED = [Accepted(7, "answer", "kunde@example.org", "250 OK")]
CLAIMED = [Outgoing(8, "answer", "support@example.com", "kunde@example.org", b"raw")]


class Calls:
    def __init__(self) -> None:
        self.served: list[tuple[list[Accepted], int]] = []
        self.here = 0

    def serve(self, accepted: list[Accepted], limit: int) -> list[Outgoing]:
        self.served.append((accepted, limit))
        return CLAIMED

    def run_here(self) -> list[Outgoing]:
        self.here += 1
        return []


def in_delivery(gate: ForkedGate, calls: Calls) -> tuple[threading.Thread, list[list[Outgoing]]]:
    got: list[list[Outgoing]] = []
    thread = threading.Thread(target=lambda: got.append(gate.settle_and_claim(ACCEPTED, 48, calls.run_here)))
    thread.start()
    return thread, got


def wait_posted(gate: ForkedGate) -> None:
    deadline = time.monotonic() + 5
    while not gate._posted.value:
        assert time.monotonic() < deadline, "delivery never posted its request"
        time.sleep(0.005)


def test_while_the_worker_commits_it_runs_deliverys_transaction():
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate.commit_boundary()  # the worker is busy
    thread, got = in_delivery(gate, calls)
    wait_posted(gate)
    gate.commit_boundary()  # the next commit: the worker runs it and answers
    thread.join(5)
    assert got == [CLAIMED] and calls.served == [(ACCEPTED, 48)] and calls.here == 0
    assert gate.handed == {8}  # claimed for delivery, not yet seen settled


def test_rows_seen_settled_are_no_longer_counted_as_handed():
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate.handed = {7}
    gate.commit_boundary()
    thread, _ = in_delivery(gate, calls)
    wait_posted(gate)
    gate.commit_boundary()
    thread.join(5)
    assert gate.handed == {8}


def test_when_the_worker_stops_committing_delivery_runs_it_itself_and_the_worker_never_does(monkeypatch):
    monkeypatch.setattr(forked_gate, "HAND_WAIT_SECONDS", 0.05)
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate.commit_boundary()
    thread, got = in_delivery(gate, calls)
    thread.join(5)
    assert got == [[]] and calls.here == 1  # withdrawn after the wait, run by delivery
    gate.commit_boundary()  # a later commit finds the withdrawn request in the pipe: not run again
    assert calls.served == [] and gate.handed == set()


def test_a_worker_that_fails_the_transaction_still_answers_and_delivery_runs_it():
    gate, calls = ForkedGate(), Calls()

    def broken(accepted: list[Accepted], limit: int) -> list[Outgoing]:
        raise RuntimeError("database is locked")

    gate.serve = broken
    gate.commit_boundary()
    thread, got = in_delivery(gate, calls)
    wait_posted(gate)
    gate.commit_boundary()
    thread.join(5)
    assert got == [[]] and calls.here == 1 and gate.handed == set()


@pytest.mark.parametrize("busy", [False, True])
def test_an_idle_worker_or_one_that_serves_nothing_is_not_waited_for(busy: bool):
    gate, calls = ForkedGate(), Calls()
    if busy:  # committing, but without `serve` (a DeliveryProcess made without it): delivery runs it
        gate.commit_boundary()
    started = time.monotonic()
    thread, got = in_delivery(gate, calls)
    thread.join(5)
    assert got == [[]] and calls.here == 1 and calls.served == []
    assert time.monotonic() - started < 0.4 or not busy


def test_a_delivery_process_that_is_gone_ends_the_serving_without_an_error():
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate._request_pipe.close()  # as the child's death closes its end
    gate.commit_boundary()
    assert gate.serve is None and calls.served == []
    gate.commit_boundary()  # and the next commits cost nothing


def test_when_the_worker_has_decided_everything_it_runs_the_waiting_request_and_no_more():
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate.commit_boundary()
    thread, got = in_delivery(gate, calls)
    wait_posted(gate)
    gate.stop_serving()  # the waiting one is run by the worker...
    thread.join(5)
    assert got == [CLAIMED] and calls.served == [(ACCEPTED, 48)]
    started = time.monotonic()
    thread, got = in_delivery(gate, calls)  # ...and the next by delivery at once, though it is busy
    thread.join(5)
    assert got == [[]] and calls.here == 1 and len(calls.served) == 1
    assert time.monotonic() - started < forked_gate.HAND_WAIT_SECONDS


def test_a_worker_that_dies_after_taking_the_request_leaves_delivery_to_run_it_itself():
    """The worker took the request and was killed before it answered: the answer pipe ends, and
    delivery marks what the server accepted itself (no traceback, nothing waits for a lease)."""
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate.commit_boundary()
    thread, got = in_delivery(gate, calls)
    wait_posted(gate)
    with gate._lock:  # taken, as _serve_posted takes it ...
        gate._posted.value = 0
    gate._answer_pipe.close()  # ... and the worker is gone before its answer
    thread.join(5)
    assert got == [[]] and calls.here == 1 and calls.served == []


def test_a_worker_killed_before_delivery_posts_leaves_delivery_to_run_its_own():
    """The worker was killed while it was serving: posting meets a closed pipe (bench/torture.py once,
    seed 20261128, found it as a BrokenPipeError that stopped the delivery thread). Delivery runs this
    transaction and every later one itself."""
    gate, calls = ForkedGate(), Calls()
    gate.serve = calls.serve
    gate._serving.value = 1  # as the worker left it
    gate.commit_boundary()
    gate._requests.close()  # the worker's end, closed by its death
    assert gate.settle_and_claim(ACCEPTED, 48, calls.run_here) == []
    assert gate.settle_and_claim(ACCEPTED, 48, calls.run_here) == []
    assert calls.here == 2 and calls.served == []
