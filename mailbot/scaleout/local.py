"""What one fleet worker process holds: its clients, its running watch sessions, its event loop."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from mailbot.scaleout.timing import FleetTiming

if TYPE_CHECKING:
    from mailbot.clients.fleet import Fleet
    from mailbot.scheduler import MailJob

T = TypeVar("T")
CALL_SECONDS = 60.0  # longest wait of a job thread for one engine call on the event loop
LOAD_SAMPLE_SECONDS = 0.5  # how long `cores_in_use` watches the process


def worker_name() -> str:
    """host:pid, what `mailbot status` shows as the holder of a mailbox."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class LocalWorker:
    fleet: Fleet
    stop: threading.Event  # set by SIGTERM/SIGINT: sessions end at their next step
    timing: FleetTiming
    loop: asyncio.AbstractEventLoop
    name: str = field(default_factory=worker_name)
    watching: dict[str, MailJob] = field(default_factory=dict)  # slug → this worker's watch session
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run an engine call (defer, a query) on the worker's event loop from a job's thread."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(CALL_SECONDS)

    def watches(self, slug: str) -> bool:
        with self.lock:
            return slug in self.watching

    def watch_count(self) -> int:
        with self.lock:
            return len(self.watching)

    def cores_in_use(self, seconds: float = LOAD_SAMPLE_SECONDS) -> float:
        """This process's CPU over the next `seconds`, in cores; the calling thread sleeps meanwhile,
        so what counts is the work of its other threads (watch sessions, help, client jobs)."""
        wall, cpu = time.monotonic(), time.process_time()
        self.stop.wait(seconds)
        return (time.process_time() - cpu) / max(time.monotonic() - wall, 1e-3)

    def wake_delivery(self, slug: str) -> None:
        """Mail was queued for a client: its watch session here (if any) sends it now; otherwise the
        watcher's delivery finds it within its poll period."""
        with self.lock:
            job = self.watching.get(slug)
        if job is not None:
            job.wake_delivery()
