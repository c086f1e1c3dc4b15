"""A delivery process whose worker is gone ends within a bound (mailbot.reply.delivery_process._serve):
its thread's sends in flight may finish, but a thread waiting for the gate's lock, held by a worker that
was killed, must not keep the orphan alive. A worker that says STOP is waited for as before."""

from __future__ import annotations

import os

import pytest

from mailbot.reply import delivery_process
from mailbot.reply.deliver import DeliveryReport
from mailbot.reply.forked_gate import ForkedGate

STOPS: list[float | None] = []  # the timeout of each stop() asked of the thread


class StoppedThread:
    def __init__(self, *_args: object, **_kwargs: object) -> None:
        self.report = DeliveryReport()

    def start(self) -> StoppedThread:
        return self

    def stop(self, timeout: float | None = None) -> None:
        STOPS.append(timeout)


@pytest.mark.parametrize(
    ("told", "waited"), [(b"", delivery_process.ORPHAN_STOP_SECONDS), (delivery_process.STOP, None)]
)
def test_an_orphan_stops_within_a_bound_and_a_stop_waits_as_before(monkeypatch, told: bytes, waited) -> None:
    STOPS.clear()
    monkeypatch.setattr(delivery_process, "DeliveryThread", StoppedThread)
    wakes, wake_pipe = os.pipe()
    results, result_pipe = os.pipe()
    os.write(wake_pipe, told)
    os.close(wake_pipe)  # b"": nothing but the end of the pipe, as when the worker was killed
    try:
        assert delivery_process._serve(lambda: None, ForkedGate(), "delivery", wakes, result_pipe) == 0
        assert [waited] == STOPS
    finally:
        for end in (wakes, results, result_pipe):
            os.close(end)
