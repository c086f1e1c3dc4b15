"""Where the cores went during a run: CPU time, run-queue wait and peak RSS per process of a process tree.

On this 2-core machine every process of `mailbot run --once` (the worker, its parsing and composing
children, delivery) competes with the bench's SMTP sink and Dovecot for the same two cores. Linux keeps,
per thread, the time it ran and the time it was ready to run but waited for a core
(/proc/<pid>/task/<tid>/schedstat: run time, run-queue wait, time slices). A process on the critical path
that waits long for a core says the run is bound by CPU, not by I/O or by waiting for another stage.

Sampled in a thread every `interval` seconds (processes exit before the run ends, so the last values
seen are kept); threads of one process are summed, except that the worker's main thread is also shown
on its own (it decides every mail). Children are numbered in the order of their process ids, which is
the order `run --once` starts them (unless the ids wrap): delivery, composing, parsing. This process's
threads (the sink's) count from the start of sampling. Linux only; elsewhere nothing is sampled.

The peak RSS of each process is its own (VmHWM, as last seen). The worker's rusage from wait4, which
throughput.py prints as the run's peak, is the largest of the worker and the children it reaped.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")


@dataclass
class ThreadTimes:
    pid: int
    tid: int
    cpu_seconds: float
    waiting_seconds: float  # ready to run, waiting for a core


class TreeSampler:
    """`with TreeSampler(pid):` samples `pid` and its descendants (and this process, for the sink)."""

    def __init__(self, root: int, interval: float = 0.25) -> None:
        self.root = root
        self.interval = interval
        self.last: dict[tuple[int, int], ThreadTimes] = {}
        self.peak_rss_mb: dict[int, float] = {}  # by process: VmHWM as last seen
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cores", daemon=True)
        self._available = (PROC / "self" / "task").exists()
        self._before: dict[tuple[int, int], ThreadTimes] = {}  # this process's threads: counted from now

    def __enter__(self) -> TreeSampler:
        if self._available:
            self._before = {(t.pid, t.tid): t for t in _threads(os.getpid())}
            self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            for pid in self._tree():
                for times in _threads(pid):
                    self.last[(times.pid, times.tid)] = times
                if (peak := _peak_rss_mb(pid)) is not None:
                    self.peak_rss_mb[pid] = peak

    def _tree(self) -> list[int]:
        parents: dict[int, int] = {}
        for entry in PROC.iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        tree, frontier = [self.root], [self.root]
        while frontier:
            frontier = [pid for pid, parent in parents.items() if parent in frontier]
            tree += frontier
        return [*tree, os.getpid()]

    def summary(self) -> list[str]:
        """One line per process (the worker first, then its descendants, then this process)."""
        by_process: dict[int, list[ThreadTimes]] = {}
        for key, times in self.last.items():
            before = self._before.get(key)
            if before is not None:
                times = ThreadTimes(
                    times.pid,
                    times.tid,
                    times.cpu_seconds - before.cpu_seconds,
                    times.waiting_seconds - before.waiting_seconds,
                )
            by_process.setdefault(times.pid, []).append(times)
        lines = []
        children = 0
        for pid in sorted(by_process, key=lambda p: (p != self.root, p == os.getpid(), p)):
            threads = by_process[pid]
            if pid == self.root:
                role = "worker"
            elif pid == os.getpid():
                role = "this bench (SMTP sink)"
            else:
                children += 1
                role = f"child {children}"
            cpu = sum(t.cpu_seconds for t in threads)
            waiting = sum(t.waiting_seconds for t in threads)
            line = f"{role:24} pid {pid:>7}: CPU {cpu:6.1f} s, waited for a core {waiting:6.1f} s"
            if pid == self.root and (main := self.last.get((pid, pid))) is not None:
                line += f" (main thread: {main.cpu_seconds:.1f} s / {main.waiting_seconds:.1f} s)"
            if pid != os.getpid() and (peak := self.peak_rss_mb.get(pid)) is not None:
                line += f", peak RSS {peak:.0f} MB"
            if cpu >= 0.1:
                lines.append(line)
        return lines


def _peak_rss_mb(pid: int) -> float | None:
    try:
        status = (PROC / str(pid) / "status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _threads(pid: int) -> list[ThreadTimes]:
    found = []
    try:
        tids = [int(name) for name in os.listdir(PROC / str(pid) / "task")]
    except OSError:
        return found
    for tid in tids:
        try:
            ran, waited, _slices = (PROC / str(pid) / "task" / str(tid) / "schedstat").read_text().split()
        except (OSError, ValueError):
            continue
        found.append(ThreadTimes(pid, tid, int(ran) / 1e9, int(waited) / 1e9))
    return found
