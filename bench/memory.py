"""Where the worker's memory goes during one `mailbot run --once` over a backlog (issue 13: peak RSS
<= 300 MB at 10,000 mails, and flat from 1,000 to 10,000: "stream the backlog, never hold it").

The driver does what bench/throughput.py does (the same seeded mails into a real Dovecot, `mailbot
train`, replies into an aiosmtpd sink), then runs the worker as a child process of its own, so that
neither the sink's copies of the replies nor the driver's objects are counted:
`python bench/memory.py --worker CONFIG`. The worker runs exactly `mailbot run --once` (mailbot.cli's
main), with checkpoints hooked in from outside by wrapping functions where mailbot looks them up (no
hook in mailbot/): the first IMAP fetch (the app is built), the end of the ingest, the first batch
decided (both models loaded), every --every mails, the end of the decisions, the IMAP moves, the
end of delivery. At each it prints
- RSS now and the peak so far (ru_maxrss: the phase in which the peak grew is the one to look at),
- glibc malloc (mallinfo2, all arenas): bytes in use, bytes free inside the heap but not given back
  to the system (fragmentation: what `malloc_trim` could return at best), bytes in mmapped blocks,
- SQLite's own heap (sqlite3_memory_used: page caches and prepared statements of every connection),
- with --trace: what tracemalloc sees (Python objects, and numpy/scipy buffers, which numpy reports
  to tracemalloc), its peak since the previous line, and tracemalloc's own overhead, which the RSS
  column then includes.
With --trace it ends with the allocation sites that grew between consecutive snapshots (app built,
models loaded, decisions done, first IMAP move, delivery finished), by allocating line and by the
innermost mailbot/ frame. Tracing makes the worker several times slower and a 10-frame trace of a
whole 10k run takes gigabytes: start it late (--trace-from) to study one phase.

    .venv/bin/python bench/memory.py --count 10000                  # RSS only (no tracemalloc), ~4 min
    .venv/bin/python bench/memory.py --count 1000 --every 250 --trace 8          # + allocation sites
    .venv/bin/python bench/memory.py --count 10000 --trace 8 --trace-from decisions   # finalize, delivery
    .venv/bin/python bench/memory.py --count 2000 --env MALLOC_ARENA_MAX=2       # the worker's environment
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import functools
import itertools
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MB = 1024 * 1024

# --- measuring inside the worker ------------------------------------------------------------------


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks",
            "keepcost",
        )
    ]  # fmt: skip


def _libc() -> Any:
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def _sqlite_memory_used() -> Callable[[], int] | None:
    """sqlite3_memory_used of the libsqlite3 the sqlite3 module is linked to (the same loaded copy)."""
    import sqlite3  # noqa: F401  (loads libsqlite3 first, so CDLL below finds that very copy)

    try:
        lib = ctypes.CDLL("libsqlite3.so.0")
    except OSError:
        return None
    lib.sqlite3_memory_used.restype = ctypes.c_int64
    return lambda: int(lib.sqlite3_memory_used())


def rss_mb() -> tuple[float, float, float]:
    """RSS now: total, anonymous (heap, arrays, malloc arenas), file-backed (shared libraries' pages)."""
    fields = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon", "RssFile"):
                fields[name] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["RssAnon"], fields["RssFile"]


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Checkpoints:
    """Figures at named moments of one worker process, printed as a table as they come.

    tracemalloc (`trace_frames` > 0) starts at the first checkpoint whose name starts with
    `trace_from`: tracing costs ~5x the time and its own memory (the RSS column includes it), so
    it can be kept to the phase under study; snapshots are taken at the checkpoints marked so."""

    HEADER = (
        f"{'checkpoint':<34} {'s':>6} {'RSS':>6} {'anon':>6} {'file':>6} {'peak':>6} {'malloc':>7} "
        f"{'free':>6} {'mmap':>6} {'sqlite':>6} {'traced':>7} {'t.peak':>7} {'tm own':>6}"
    )

    def __init__(self, trace_frames: int, trace_from: str, trim_at: tuple[str, ...] = ()) -> None:
        self.started = time.perf_counter()
        self.libc = _libc()
        self.libc.mallinfo2.restype = _MallInfo2
        self.sqlite = _sqlite_memory_used()
        self.trace_frames = trace_frames
        self.trace_from = trace_from
        self.trim_at = trim_at
        self.snapshots: dict[str, tracemalloc.Snapshot] = {}
        print(
            "MB; anon/file: RSS of the heap and of mapped files (libraries); malloc: in use, free: inside "
            "the heap, not returned; traced: tracemalloc now, t.peak: its peak since the previous line, "
            "tm own: its overhead",
            flush=True,
        )
        print(self.HEADER, flush=True)

    def mark(self, name: str, snapshot: bool = False) -> None:
        info = self.libc.mallinfo2()
        rss, anon, file = rss_mb()
        sqlite = self.sqlite() / MB if self.sqlite else float("nan")
        traced = traced_peak = own = float("nan")
        if tracemalloc.is_tracing():
            traced, traced_peak = (size / MB for size in tracemalloc.get_traced_memory())
            tracemalloc.reset_peak()  # the next checkpoint shows the peak of its own phase
            own = tracemalloc.get_tracemalloc_memory() / MB
            if snapshot:
                self.snapshots[name] = tracemalloc.take_snapshot().filter_traces(
                    [tracemalloc.Filter(False, tracemalloc.__file__)]
                )
        print(
            f"{name:<34} {time.perf_counter() - self.started:6.1f} {rss:6.1f} {anon:6.1f} {file:6.1f} "
            f"{peak_mb():6.1f} {info.uordblks / MB:7.1f} {info.fordblks / MB:6.1f} {info.hblkhd / MB:6.1f} "
            f"{sqlite:6.1f} {traced:7.1f} {traced_peak:7.1f} {own:6.1f}",
            flush=True,
        )
        if any(name.startswith(prefix) for prefix in self.trim_at):  # an experiment: what could go back
            before = rss_mb()[0]
            self.libc.malloc_trim(0)
            print(
                f"{'  malloc_trim(0) here: RSS':<34} {'':>6} {rss_mb()[0]:6.1f} (was {before:.1f})",
                flush=True,
            )
        if self.trace_frames and not tracemalloc.is_tracing() and name.startswith(self.trace_from):
            tracemalloc.start(self.trace_frames)
            self.snapshots[name] = tracemalloc.take_snapshot()
            print(f"{'  (tracemalloc started here)':<34}", flush=True)

    def print_growth(self, top: int) -> None:
        """What grew between consecutive snapshots, by allocating line and by innermost mailbot/ frame."""
        names = list(self.snapshots)
        for since, until in itertools.pairwise(names):
            diff = self.snapshots[until].compare_to(self.snapshots[since], "traceback")
            by_line: Counter[str] = Counter()
            by_mailbot: Counter[str] = Counter()
            for stat in diff:
                frames = list(stat.traceback)  # oldest frame first
                by_line[_where(frames[-1])] += stat.size_diff
                ours = next((f for f in reversed(frames) if "/mailbot/" in f.filename), None)
                by_mailbot[_where(ours) if ours else "(no mailbot/ frame)"] += stat.size_diff
            total = sum(stat.size_diff for stat in diff)
            print(f"\ntraced growth {since} -> {until}: {total / MB:+.1f} MB")
            for title, counts in (
                ("by allocating line", by_line),
                ("by innermost mailbot/ frame", by_mailbot),
            ):
                print(f"  {title}:")
                for where, size in counts.most_common(top):
                    print(f"    {size / 1024:+10.0f} kB  {where}")


def _where(frame: tracemalloc.Frame) -> str:
    return f"{_short(frame.filename)}:{frame.lineno}"


def _short(filename: str) -> str:
    for marker in ("/site-packages/", "/lib/python3.", "/wt-"):
        if marker in filename:
            return (
                filename.split(marker, 1)[1].split("/", 1)[1]
                if marker != "/site-packages/"
                else (filename.split(marker, 1)[1])
            )
    return filename


def _wrap(owner: Any, name: str, before: Callable[[], None] | None, after: Callable[[Any], None]) -> None:
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before is not None:
            before()
        result = original(*args, **kwargs)
        after(args)
        return result

    setattr(owner, name, wrapped)


def _first_call(owner: Any, name: str, after: Callable[[], None]) -> None:
    original = getattr(owner, name)
    calls = [0]

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        calls[0] += 1
        if calls[0] == 1:
            after()
        return result

    setattr(owner, name, wrapped)


def _after_property(cls: type, name: str, after: Callable[[], None]) -> None:
    """A checkpoint right after a functools.cached_property of `cls` is first computed."""
    prop = cls.__dict__[name]
    original = prop.func

    def compute(self: Any) -> Any:
        value = original(self)
        after()
        return value

    replacement = functools.cached_property(compute)
    replacement.__set_name__(cls, name)
    setattr(cls, name, replacement)


def run_worker(config: Path, every: int, trace: tuple[int, str], trim_at: tuple[str, ...], top: int) -> int:
    """`mailbot run --once --config CONFIG` in this process, with the checkpoints of the docstring."""
    marks = Checkpoints(*trace, trim_at)
    marks.mark("start (interpreter + bench imports)")

    import mailbot.pipeline.prepare as prepare
    import mailbot.pipeline.process as process
    import mailbot.worker as worker
    from mailbot.app import App
    from mailbot.cli import main
    from mailbot.ingest.imap import ImapSource
    from mailbot.reply.delivery_process import DeliveryProcess
    from mailbot.reply.delivery_thread import DeliveryThread

    marks.mark("mailbot imported")
    state = {"decided": 0, "next": every, "fetches": 0}

    def before_fetch() -> None:
        state["fetches"] += 1
        if state["fetches"] == 1:
            marks.mark("app built, before the ingest", snapshot=True)

    def after_batch(args: tuple[Any, ...]) -> None:
        first = state["decided"] == 0
        state["decided"] += len(args[1].row_ids)  # the _Batch
        if first:
            marks.mark(f"first batch ({state['decided']}): models loaded", snapshot=True)
        while state["decided"] >= state["next"]:
            marks.mark(f"{state['next']} mails decided", snapshot=False)
            state["next"] += every

    _first_call(prepare, "parse_mail", lambda: marks.mark("first mail parsed (lingua in use)"))
    for name in ("classifier", "severity"):
        _after_property(App, name, lambda name=name: marks.mark(f"{name} model loaded"))
    _wrap(ImapSource, "fetch_new", before_fetch, lambda _a: marks.mark("ingest done (all stored)"))
    _wrap(process, "_process_batch", None, after_batch)
    _wrap(worker, "process_pending", None, lambda _a: marks.mark("decisions done", snapshot=True))
    _first_call(ImapSource, "_move", lambda: marks.mark("first IMAP move (rows loaded)", snapshot=True))
    _wrap(ImapSource, "finalize", None, lambda _a: marks.mark("moved on the server (finalize)"))
    # run --once delivers from a forked process (its memory is its own and logged by it); the thread where
    # the platform cannot fork: either way the parent's mark is when delivery finished
    for delivery in (DeliveryProcess, DeliveryThread):
        _wrap(delivery, "finish", None, lambda _a: marks.mark("delivery finished", snapshot=True))
    code = main(["run", "--once", "--config", str(config)])
    marks.mark("run --once returned")
    marks.print_growth(top)
    return code


# --- the driver -----------------------------------------------------------------------------------


def drive(
    count: int, every: int, trace: tuple[int, str], trim_at: tuple[str, ...], top: int, extra_env: list[str]
) -> None:
    from bench.throughput import (
        MAILBOT,
        MailFactory,
        append_mails,
        check_everything_decided,
        environment,
        load_average,
        run_child,
    )
    from tests.e2e.conftest import write_config
    from tests.servers import DovecotServer, SmtpSink

    factory = MailFactory.from_shipped_kb()
    with DovecotServer.started() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        user = dovecot.new_user()
        config = write_config(Path(tmp) / "mailbot.toml", dovecot, user, sink)
        env = environment(config)
        env.update(item.split("=", 1) for item in extra_env)
        run_child([*MAILBOT, "train", "--config", str(config)], env)
        append_mails(dovecot, user, factory, range(count))
        tracing = f"{trace[0]} frames from {trace[1]!r}" if trace[0] else "off"
        print(
            f"{count} mails (bench/throughput.py's mix), load average {load_average()}, "
            f"tracemalloc {tracing}, env {' '.join(extra_env) or '-'}, malloc_trim at {list(trim_at)}",
            flush=True,
        )
        argv = [sys.executable, __file__, "--worker", str(config), "--every", str(every)]
        argv += ["--trace", str(trace[0]), "--trace-from", trace[1], "--top", str(top)]
        argv += [arg for prefix in trim_at for arg in ("--trim-at", prefix)]
        log_path = Path(tmp) / "worker.log"
        with log_path.open("wb") as log:
            started = time.perf_counter()
            proc = subprocess.Popen(argv, env=env, stderr=log)
            _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        if os.waitstatus_to_exitcode(status) != 0:
            tail = log_path.read_bytes()[-3000:].decode(errors="replace")
            raise RuntimeError(f"worker exited {os.waitstatus_to_exitcode(status)}:\n{tail}")
        checked = check_everything_decided(Path(tmp) / "mailbot.db", sink)
        print(
            f"\nworker: {seconds:.1f} s, peak RSS (wait4) {usage.ru_maxrss / 1024:.0f} MB; "
            f"outcomes {checked['outcomes']}, replies sent {checked['sent']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="mails in the backlog")
    parser.add_argument("--every", type=int, default=1000, help="a checkpoint every N mails decided")
    parser.add_argument("--trace", type=int, default=0, help="tracemalloc frames (0: off)")
    parser.add_argument(
        "--trace-from", default="start", help="start tracemalloc at the first checkpoint named so (prefix)"
    )
    parser.add_argument(
        "--trim-at", action="append", default=[], help="experiment: malloc_trim(0) after checkpoints so named"
    )
    parser.add_argument("--top", type=int, default=15, help="allocation sites to print")
    parser.add_argument("--env", action="append", default=[], help="VAR=VALUE for the worker (repeatable)")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # the child: its config
    args = parser.parse_args()
    if args.worker is not None:
        trace = (args.trace, args.trace_from)
        sys.exit(run_worker(args.worker, args.every, trace, tuple(args.trim_at), args.top))
    drive(args.count, args.every, (args.trace, args.trace_from), tuple(args.trim_at), args.top, args.env)


if __name__ == "__main__":
    main()
