"""The fleet under test for bench/chaos.py: PostgreSQL, Dovecot (2 IMAP connections per user and IP)
and an aiosmtpd sink on loopback; an installation of N clients on a new database; `mailbot run --fleet`
workers as processes (bench/torture_servers.Worker); and a poller of `mailbox_watch` that times how
long the mailboxes of a killed worker stay without a live watcher.

A mailbox counts as watched when its `mailbox_watch` row names a worker process that runs now
(host:pid): the row of a SIGKILLed worker stays behind until a new watch session replaces it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.chaos_checks import FleetDb
from bench.latency_proxy import LatencyProxy
from bench.torture_servers import Worker, dovecot_instance, worker_env
from mailbot.scaleout.timing import STALLED_ENV
from tests.e2e.test_clients import Installation, make_installation
from tests.servers import DovecotServer, SmtpSink
from tests.servers.postgres import PostgresServer

MODELS = Path(__file__).resolve().parent / "out" / "chaos" / "models"
READY = "job slots"  # "fleet worker host:pid started: 3 clients, 12 job slots" (mailbot/scaleout/run.py)
IMAP_CONNECTIONS = 2  # per user and IP: a second watcher of one mailbox would be refused at login
POLL_SECONDS = 0.5
LOGIN = re.compile(r"imap-login: Info: Login: user=<(?P<user>[^>]+)>.*session=<(?P<session>[^>]+)>")
SESSION_END = re.compile(r"imap\([^)]*\)<\d+><(?P<session>[^>]+)>: Info: (Disconnected|Logged out)")


# --- the installation ------------------------------------------------------------------------------


@dataclass
class Servers:
    postgres: PostgresServer
    dovecot: DovecotServer
    sink: SmtpSink
    tmp: Path
    database_port: int  # PostgreSQL's, or a LatencyProxy's in front of it (--db-latency-ms)


@contextlib.contextmanager
def servers(db_latency_ms: float = 0.0) -> Iterator[Servers]:
    """`db_latency_ms`: the workers (and the bench) reach PostgreSQL through a forwarder that delays
    each way by half of it, as a database on another host would."""
    with (
        PostgresServer.started() as postgres,
        dovecot_instance() as dovecot,
        SmtpSink() as sink,
        tempfile.TemporaryDirectory(prefix="mailbot-chaos-") as tmp,
    ):
        config = dovecot.config_path.read_text()
        limited = config.replace(
            "mail_max_userip_connections = 1000", f"mail_max_userip_connections = {IMAP_CONNECTIONS}"
        )
        assert limited != config, "tests/servers/dovecot.py no longer sets mail_max_userip_connections"
        dovecot.config_path.write_text(limited)
        dovecot.restart()
        proxy = LatencyProxy(postgres.port, db_latency_ms / 2) if db_latency_ms else None
        try:
            yield Servers(postgres, dovecot, sink, Path(tmp), proxy.port if proxy else postgres.port)
        finally:
            if proxy is not None:
                proxy.close()


def dovecot_log(dovecot: DovecotServer) -> list[str]:
    return dovecot.log_path.read_text(errors="replace").splitlines() if dovecot.log_path.exists() else []


def keep_dovecot_log(dovecot: DovecotServer, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(dovecot_log(dovecot)) + "\n", encoding="utf-8")


def refused_logins(dovecot: DovecotServer) -> int:
    """Logins Dovecot refused for too many connections of one user from one IP."""
    return sum(1 for line in dovecot_log(dovecot) if "Maximum number of connections" in line)


@dataclass(frozen=True)
class ImapSession:
    user: str
    opened: int  # line of the login in Dovecot's log
    closed: int  # line of its end (the log's length while still open)
    seconds: float  # from the log's timestamps (whole seconds)


def imap_sessions(lines: list[str]) -> list[ImapSession]:
    """Every IMAP session in Dovecot's log: a login names its session, and so does its end."""
    opened: dict[str, tuple[str, int, datetime]] = {}
    sessions = []
    for number, line in enumerate(lines):
        if login := LOGIN.search(line):
            opened[login["session"]] = (login["user"], number, _log_time(line))
        elif (end := SESSION_END.search(line)) and end["session"] in opened:
            user, start, began = opened.pop(end["session"])
            sessions.append(ImapSession(user, start, number, (_log_time(line) - began).total_seconds()))
    last = _log_time(lines[-1]) if lines else datetime.min
    sessions += [ImapSession(u, n, len(lines), (last - t).total_seconds()) for u, n, t in opened.values()]
    return sessions


def _log_time(line: str) -> datetime:
    return datetime.strptime(line[:15], "%b %d %H:%M:%S")


def sessions_at_once(log: list[str], users: Iterable[str], min_seconds: float = 2) -> dict[str, int]:
    """The most IMAP sessions of at least `min_seconds` that each user had open at the same time (in
    the order of the lines of Dovecot's `log`): 1 = one watcher at a time. The shorter ones are each worker's
    check of every mailbox when it starts (mailbot.cli run: a client whose mailbox fails it is not
    served), which overlap when workers start together."""
    wanted = set(users)
    long = [s for s in imap_sessions(log) if s.user in wanted and s.seconds >= min_seconds]
    most = dict.fromkeys(wanted, 0)
    for session in long:
        overlapping = sum(1 for o in long if o.user == session.user and o.opened <= session.opened < o.closed)
        most[session.user] = max(most[session.user], overlapping)
    return most


def installation(servers: Servers, name: str, slugs: list[str], lease_seconds: int) -> Installation:
    """mailbot.toml on a new PostgreSQL database plus one client per slug, each with its own Dovecot
    user and the shipped knowledge base; the model folder is shared (same articles: one model)."""
    built = make_installation(
        servers.tmp / name,
        servers.dovecot,
        servers.sink,
        database_url=through(servers, servers.postgres.new_database()),
        defaults=f"[business_hours]\nalways_open = true\n\n[limits]\nlease_seconds = {lease_seconds}\n",
    )
    # random ticket numbers, mailbot's default (the test helper counts them up for readable tests;
    # two workers deciding one mailbox then collide on the next number and retry the mail)
    sequential = built.config.read_text(encoding="utf-8")
    built.config.write_text(sequential.replace('ticket_numbers = "sequential"', 'ticket_numbers = "random"'))
    for number, slug in enumerate(slugs):
        prefix = f"C{number}" if len(slugs) > 3 else slug[:2].upper()
        built.add(slug, prefix, extra=f'\n[classifier]\nmodel_dir = "{MODELS}"\n')
    return built


def through(servers: Servers, url: str) -> str:
    """`url` of the throwaway PostgreSQL by way of `servers.database_port`."""
    direct = f":{servers.postgres.port}/"
    assert direct in url, url
    return url.replace(direct, f":{servers.database_port}/")


def run_once(built: Installation) -> float:
    """`mailbot run --once` on empty mailboxes: the schema and the model exist before the fleet starts."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "run", "--once", "--config", str(built.config)],
        capture_output=True, text=True, env=worker_env(), check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"run --once exited {done.returncode}:\n{done.stderr[-3000:]}")
    return time.monotonic() - started


def fleet_status(built: Installation) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "status", "--json", "--config", str(built.config)],
        capture_output=True, text=True, env=worker_env(), check=False,
    )  # fmt: skip
    try:
        return dict(json.loads(done.stdout).get("fleet") or {})
    except json.JSONDecodeError:
        return {"error": done.stderr[-500:]}


def fleet_workers(built: Installation, logs: Path, count: int, stalled: float | None) -> list[Worker]:
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    env = {STALLED_ENV: str(stalled)} if stalled else {}
    return [
        Worker(built.config, logs / f"worker{n}.log", f"worker{n}", args=["--fleet"], env=env, ready=READY)
        for n in range(1, count + 1)
    ]


def machine_cpu() -> tuple[float, float]:
    """CPU seconds this machine's cores spent busy (user, nice, system, irq, softirq) and stolen by the
    host, so far (/proc/stat): with the workers' own CPU it says what the servers and the bench took."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    tick = os.sysconf("SC_CLK_TCK")
    return (user + nice + system + irq + softirq) / tick, steal / tick


def monotonic_of(moment: datetime) -> float:
    """A timestamp of this machine's wall clock (a worker's row; naive ones are UTC) on the bench's
    time.monotonic() clock, which the kills and polls use."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return time.monotonic() - (time.time() - aware.timestamp())


class Slots:
    """The fleet's worker processes, each started again a while after it was killed."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.started_at: dict[str, float] = {}  # slot → monotonic start of its current process
        self.restarts: list[tuple[float, Worker]] = []

    def start(self, worker: Worker) -> None:
        worker.start()
        self.started_at[worker.name] = time.monotonic()

    def start_all(self, timeout: float = 180) -> float:
        """Start every worker; the seconds until the last one is ready."""
        for worker in self.workers:
            self.start(worker)
        return max(worker.wait_ready(timeout=timeout) for worker in self.workers)

    def restart_in(self, worker: Worker, seconds: float) -> None:
        self.restarts.append((time.monotonic() + seconds, worker))

    def restart_due(self, everything: bool = False) -> None:
        now = time.monotonic()
        for entry in [r for r in self.restarts if everything or r[0] <= now]:
            self.restarts.remove(entry)
            self.start(entry[1])

    def alive(self) -> list[Worker]:
        return [worker for worker in self.workers if worker.alive]

    def names(self) -> set[str]:
        return {name for worker in self.workers if (name := holder_name(worker))}

    def cpu_seconds(self) -> float:
        """User + system CPU time of the running workers so far (/proc/<pid>/stat, fields 14 and 15)."""
        total = 0.0
        for worker in self.alive():
            assert worker.proc is not None
            fields = Path(f"/proc/{worker.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop(self) -> dict[str, int | None]:
        """SIGTERM to every worker: their exit codes."""
        return {worker.name: worker.stop() for worker in self.workers}


def holder_name(worker: Worker) -> str | None:
    """What mailbox_watch says for this worker's current process (mailbot.scaleout.local.worker_name)."""
    proc = worker.proc
    return f"{socket.gethostname()}:{proc.pid}" if proc is not None and proc.poll() is None else None


def wait_until(what: str, predicate: Callable[[], bool], timeout: float) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(POLL_SECONDS)
    return time.monotonic() - started


# --- who watches what, polled ----------------------------------------------------------------------


@dataclass
class Kill:
    number: int
    worker: str  # slot
    victim: str  # host:pid
    at: float  # monotonic
    uptime: float  # seconds the victim had run
    held: list[str]
    rewatched: dict[str, float] = field(default_factory=dict)  # mailbox → seconds after the kill

    @property
    def open(self) -> bool:
        return len(self.rewatched) < len(self.held)

    @property
    def takeover(self) -> float | None:
        return max(self.rewatched.values()) if self.held and not self.open else None

    def summary(self, origin: float) -> dict[str, Any]:
        return {
            "kill": self.number,
            "worker": self.worker,
            "at_s": round(self.at - origin, 1),
            "uptime_s": round(self.uptime, 1),
            "held": self.held,
            "rewatched_s": {mailbox: round(s, 1) for mailbox, s in self.rewatched.items()},
        }


class WatchPoller:
    """Every 0.5 s: which mailbox has a live watcher (its mailbox_watch row names a worker process
    that runs now), so each kill gets its takeover time and each mailbox its longest unwatched stretch.

    Times come from the rows, not from the polls: a mailbox counts as watched again when its new
    watch session began (`since`), and a kill notes what its victim held when it died. A watcher
    killed within one poll of taking a mailbox over is seen that way too; timed by the polls alone,
    its kill and the one before it read as one long gap (session 27: 82.2 s for two takeovers)."""

    def __init__(self, db: FleetDb, slots: Slots, mailboxes: list[str]) -> None:
        self.db, self.slots, self.mailboxes = db, slots, mailboxes
        self.kills: list[Kill] = []
        self.gaps: dict[str, list[float]] = {m: [] for m in mailboxes}
        self._unwatched_since: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors: list[str] = []
        self.thread = threading.Thread(target=self._run, daemon=True, name="watch-poller")

    def start(self) -> WatchPoller:
        self.thread.start()
        return self

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        now = time.monotonic()
        with self.lock:
            for mailbox, since in self._unwatched_since.items():
                self.gaps[mailbox].append(now - since)

    def watched(self) -> set[str]:
        return set(self.watched_since())

    def watched_since(self) -> dict[str, float]:
        """mailbox → when its live watcher's session began (on time.monotonic's clock)."""
        alive = self.slots.names()
        return {m: monotonic_of(since) for m, worker, since in self.db.watches() if worker in alive}

    def _run(self) -> None:
        while not self.stop.wait(POLL_SECONDS):
            try:
                self.poll()
            except Exception as exc:  # the database is busy: the next poll
                self.errors.append(f"{type(exc).__name__}: {exc}"[:200])

    def poll(self) -> None:
        watched, now = self.watched_since(), time.monotonic()
        with self.lock:
            for mailbox in self.mailboxes:
                if mailbox not in watched:
                    self._unwatched_since.setdefault(mailbox, now)
                else:
                    self._watched_again(mailbox, watched[mailbox])

    def _watched_again(self, mailbox: str, began: float) -> None:
        """`mailbox`'s watch session that began at `began` ends its open gap and the takeovers of the
        kills before it that wait for it (under the lock)."""
        if mailbox in self._unwatched_since:
            self.gaps[mailbox].append(max(0.0, began - self._unwatched_since.pop(mailbox)))
        for kill in self.kills:
            if mailbox in kill.held and mailbox not in kill.rewatched and began >= kill.at:
                kill.rewatched[mailbox] = began - kill.at

    def kill(self, worker: Worker) -> Kill:
        """SIGKILL `worker`; what it held is read right after (its rows stay behind it). A mailbox it
        had taken over since the last poll ends the earlier kill's wait there, when its session began."""
        victim = holder_name(worker) or "?"
        worker.kill()
        at = time.monotonic()
        held = {m: monotonic_of(since) for m, holder, since in self.db.watches() if holder == victim}
        uptime = at - self.slots.started_at[worker.name]
        kill = Kill(len(self.kills) + 1, worker.name, victim, at, uptime, sorted(held))
        with self.lock:
            for mailbox, began in held.items():
                self._watched_again(mailbox, began)
                self._unwatched_since[mailbox] = at
            self.kills.append(kill)
        return kill

    def open_kills(self) -> list[Kill]:
        with self.lock:
            return [k for k in self.kills if k.open]
