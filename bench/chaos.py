"""Chaos and scale-out figures for a fleet of `mailbot run --fleet` workers on one PostgreSQL (issue 13).

  chaos  3 clients (3 mailboxes in one Dovecot, one aiosmtpd sink, a throwaway PostgreSQL), 3 fleet
         workers; 2,000 mails (MailFactory: 80 % KB questions), 30 % in the INBOXes before the workers
         start, the rest arriving over LMTP while they run; every 2-5 s (seeded) a random worker is
         SIGKILLed and started again after a short pause. After the last arrival: no more kills, drain.
         Measured by polling the database every 0.5 s: per kill, the time until every mailbox the victim
         held is watched again by a live worker (`mailbox_watch`, timed from when the new watch session
         began, so a watcher killed before the next poll ends the kill before it); per mailbox, its
         longest stretch without a live watcher. After the drain: bench/chaos_checks.py (lost,
         doubled, decided twice, tickets, one reply per mail at the sink, re-sends apart), tracebacks
         in the worker logs.
  scale  1,000 mails over 10 mailboxes, all in the INBOXes before the start, decided once by 1 worker
         and once by 2 (each on a fresh database and fresh mailboxes holding the same mails), twice:
         time from the start of the workers until every mail is decided and every reply accepted by
         the sink, mails/s and the ratio (issue 13: >= 1.7x), the same checks as chaos.

  burst  the same 1,000 mails and runs, but into a running fleet: the workers start on empty mailboxes,
         one mail per mailbox warms them up (models loaded, sessions back on IDLE), then the 1,000
         arrive over LMTP, one connection per mailbox at once, and the clock runs from the first. What
         an operator's fleet does with a rush of mail; `scale` includes each worker's start (~8 s).
Dovecot allows 2 IMAP connections per user and IP (acceptance check 7: one IDLE per mailbox); every
refused login is counted from its log. The clients share one model folder (same knowledge base), trained
once and kept in bench/out/chaos/models; ticket numbers are random (mailbot's default). Mail and replies
claimed by a killed worker are freed by the takeover job that sees it dead (since session 26; before,
they waited for their leases, and this bench shortened the mail's to 60 s); `[limits] lease_seconds`
is mailbot's default of 300 s here, so a claim the takeover misses shows in the drain times.
Figures: bench/out/chaos.json; worker logs: bench/out/chaos/<scenario>/.

Usage: .venv/bin/python bench/chaos.py [chaos|scale|burst ...] [--seed N] [--quick] [--mailboxes N]
                                      [--db-latency-ms MS]
  --quick: 300 mails, 2 kills, a 6 s stalled period; scale: 200 mails over 4 mailboxes, 1 and 2 workers
  once. About 2 minutes.
  --mailboxes: scale and burst spread their mails over N mailboxes (default 10).
  --db-latency-ms: everything reaches PostgreSQL through bench/latency_proxy.py, which adds MS to every
  round trip: a database on another host (the workers' statements then cost what they would there).
  --pauses: chaos stops a worker instead of killing it at every PAUSE_EVERY-th event (every 2nd with
  --quick): SIGSTOP for 1.5 stalled periods + 5 s, then SIGCONT. What a swapped-out or starved
  worker looks like to its peers: they take its mailboxes and claims over, then it goes on (issue 13,
  session 29: it must decide and send nothing twice). Figures under "chaos-pauses".
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shlex
import signal
import smtplib
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.chaos_checks import FleetDb, check_after_drain
from bench.chaos_fleet import (
    IMAP_CONNECTIONS,
    MODELS,
    Servers,
    Slots,
    WatchPoller,
    dovecot_log,
    fleet_status,
    fleet_workers,
    installation,
    keep_dovecot_log,
    machine_cpu,
    refused_logins,
    run_once,
    servers,
    sessions_at_once,
    wait_until,
)
from bench.throughput import MailFactory, append_mails, load_average, percentile
from bench.torture import log_problems, table
from tests.e2e.test_clients import Installation

OUT = Path(__file__).resolve().parent / "out"
TEAM = "team@agency.example"  # tests/e2e/test_clients.py make_installation
TAKEOVER_LIMIT = 90.0  # issue 13: a dead worker's mailboxes are watched again within 90 s
SCALE_TIMEOUT = 900.0


@dataclass(frozen=True)
class Plan:
    mails: int
    upfront: int  # in the INBOXes before the workers start
    rate: float  # arrivals per second afterwards
    kill_every: tuple[float, float]
    max_kills: int | None
    pause: tuple[float, float]  # from a kill to the restart of that worker
    stalled_seconds: float | None  # MAILBOT_FLEET_STALLED_SECONDS; None: the default (30 s)
    lease_seconds: int
    drain_timeout: float


FULL = Plan(2000, 600, 8.0, (2.0, 5.0), None, (0.5, 2.0), None, 300, 900.0)
QUICK = Plan(300, 100, 5.0, (6.0, 12.0), 2, (0.5, 2.0), 6.0, 300, 420.0)


# --- chaos -----------------------------------------------------------------------------------------


class Feeder(threading.Thread):
    """Delivers the arrivals over LMTP at `rate` per second, noting each delivered mail's mailbox."""

    def __init__(
        self, built: Installation, factory: MailFactory, arrivals: list[tuple[int, str]], rate: float
    ) -> None:
        super().__init__(daemon=True, name="feeder")
        self.built, self.factory, self.arrivals, self.rate = built, factory, arrivals, rate
        self.delivered: dict[str, str] = {}  # bare Message-ID → mailbox
        self.errors: list[str] = []

    def run(self) -> None:
        begin = time.monotonic()
        for k, (index, slug) in enumerate(self.arrivals):
            time.sleep(max(0.0, begin + k / self.rate - time.monotonic()))
            try:
                self.built.deliver(slug, self.factory.mail(index))
                self.delivered[message_id(index)] = slug
            except Exception as exc:  # counted; a mail not delivered is not expected either
                self.errors.append(f"{index}: {exc}")


def message_id(index: int) -> str:
    return f"bench-{index}@customer.example.org"  # MailFactory's Message-ID of mail `index`


def put_up_front(
    srv: Servers, built: Installation, factory: MailFactory, slugs: list[str], count: int, rng: random.Random
) -> dict[str, str]:
    """Mails 0..count-1 in the INBOXes, one block of indexes per mailbox (append_mails takes a range)."""
    cuts = sorted(rng.sample(range(1, count), len(slugs) - 1))
    delivered: dict[str, str] = {}
    blocks = [range(a, b) for a, b in zip([0, *cuts], [*cuts, count], strict=True)]
    for slug, block in zip(slugs, blocks, strict=True):
        append_mails(srv.dovecot, built.users[slug], factory, block)
        delivered.update({message_id(i): slug for i in block})
    return delivered


PAUSE_EVERY = 4  # --pauses: every 4th event stops a worker instead of killing it


@dataclass
class Paused:
    """A worker stopped with SIGSTOP, to be continued at `until` (monotonic)."""

    worker: Any
    pid: int
    until: float


def kill_while_feeding(
    plan: Plan,
    slots: Slots,
    poller: WatchPoller,
    feeder: Feeder,
    rng: random.Random,
    pause_seconds: float | None = None,
) -> int:
    """Every few seconds (seeded) one random live worker is SIGKILLed and started again after a
    short pause, until the last mail has arrived; then every worker still down is started. With
    `pause_seconds`, every PAUSE_EVERY-th event (every 2nd for a plan of at most 2 events) stops one
    instead, for that long. Returns how many were stopped."""
    began = time.monotonic()
    next_kill = began + rng.uniform(*plan.kill_every)
    every = 2 if plan.max_kills is not None and plan.max_kills <= 2 else PAUSE_EVERY
    paused: list[Paused] = []
    events = pauses = 0

    def resume_due(everything: bool = False) -> None:
        for stopped in [p for p in paused if everything or time.monotonic() >= p.until]:
            paused.remove(stopped)
            proc = stopped.worker.proc
            if proc is not None and proc.pid == stopped.pid and proc.poll() is None:
                os.kill(stopped.pid, signal.SIGCONT)
                print(f"  continued {stopped.worker.name} after {pause_seconds:.0f} s")

    feeder.start()
    while feeder.is_alive():
        slots.restart_due()
        resume_due()
        alive = [w for w in slots.alive() if all(p.worker is not w for p in paused)]
        more = plan.max_kills is None or events < plan.max_kills
        if time.monotonic() >= next_kill and more and alive:
            victim = rng.choice(alive)
            events += 1
            if pause_seconds is not None and events % every == 0:
                assert victim.proc is not None
                paused.append(Paused(victim, victim.proc.pid, time.monotonic() + pause_seconds))
                os.kill(victim.proc.pid, signal.SIGSTOP)
                pauses += 1
                print(f"  pause {pauses:3d} at {time.monotonic() - began:6.1f} s: {victim.name} stopped")
                next_kill = time.monotonic() + rng.uniform(*plan.kill_every)
                continue
            kill = poller.kill(victim)
            pause = rng.uniform(*plan.pause)
            slots.restart_in(victim, pause)
            print(
                f"  kill {kill.number:3d} at {kill.at - began:6.1f} s: {victim.name} "
                f"(up {kill.uptime:5.1f} s) held {kill.held or 'nothing'}; restart in {pause:.1f} s"
            )
            next_kill = time.monotonic() + rng.uniform(*plan.kill_every)
        time.sleep(0.05)
    resume_due(everything=True)
    slots.restart_due(everything=True)
    return pauses


def drain(plan: Plan, db: FleetDb, poller: WatchPoller, expected: int) -> dict[str, float | None]:
    """Seconds until every mail is decided, and until every reply is sent too (None: not within the
    timeout). Also waits until every kill's mailboxes are watched again (given up after twice the
    limit: reported) and every mailbox has a live watcher."""
    began = time.monotonic()
    reached: dict[str, float | None] = {"decided_s": None, "drained_s": None}

    def finished() -> bool:
        progress = db.progress()
        if reached["decided_s"] is None and progress.stored >= expected and progress.undecided == 0:
            reached["decided_s"] = time.monotonic() - began
        if reached["drained_s"] is None and progress.drained(expected):
            reached["drained_s"] = time.monotonic() - began
        waiting = [time.monotonic() - k.at for k in poller.open_kills()]
        takeovers_done = not waiting or max(waiting) > 2 * TAKEOVER_LIMIT
        watched = poller.watched() == set(poller.mailboxes)
        return reached["drained_s"] is not None and takeovers_done and watched

    with contextlib.suppress(TimeoutError):
        wait_until("drained", finished, plan.drain_timeout)
    return reached


def chaos(srv: Servers, factory: MailFactory, seed: int, quick: bool, pauses: bool = False) -> dict[str, Any]:
    plan = QUICK if quick else FULL
    pause_seconds = 1.5 * (plan.stalled_seconds or 30.0) + 5 if pauses else None
    slugs = ["aktivo", "parkfuchs", "kuechenchef"]
    built = installation(srv, "chaos", slugs, plan.lease_seconds)
    refused_before = refused_logins(srv.dovecot)
    prepare_s = run_once(built)
    mail_rng, kill_rng = random.Random(seed), random.Random(seed + 1)
    upfront = put_up_front(srv, built, factory, slugs, plan.upfront, mail_rng)
    feeder = Feeder(
        built, factory, [(i, mail_rng.choice(slugs)) for i in range(plan.upfront, plan.mails)], plan.rate
    )

    db = FleetDb(built.database_url)
    slots = Slots(fleet_workers(built, OUT / "chaos" / "chaos", 3, plan.stalled_seconds))
    load_before = load_average()
    t0 = time.monotonic()
    ready_s = slots.start_all()
    poller = WatchPoller(db, slots, slugs).start()
    watched_s = wait_until("every mailbox watched", lambda: poller.watched() == set(slugs), 180)
    print(
        f"  run --once on empty mailboxes {prepare_s:.1f} s; 3 workers ready after {ready_s:.1f} s, "
        f"every mailbox watched {watched_s:.1f} s later"
    )
    chaos_started = time.monotonic()
    paused = kill_while_feeding(plan, slots, poller, feeder, kill_rng, pause_seconds)
    feed_s = time.monotonic() - chaos_started
    print(f"  last of {len(feeder.arrivals)} arrivals after {feed_s:.1f} s; draining")
    delivered = {**upfront, **feeder.delivered}
    drained = drain(plan, db, poller, len(delivered))
    total_s = time.monotonic() - t0
    status = fleet_status(built)
    poller.close()
    exits = slots.stop()
    checks = check_after_drain(db, delivered, srv.sink.messages, [TEAM])
    progress = db.progress()
    db.close()

    kills = poller.kills
    takeovers = [k.takeover for k in kills if k.takeover is not None]
    unresolved = [{"kill": k.number, "held": k.held, "rewatched": k.rewatched} for k in kills if k.open]
    if unresolved:
        checks["failures"].append(f"mailboxes of a killed worker never watched again: {unresolved}")
    late = [round(t, 1) for t in takeovers if t > TAKEOVER_LIMIT]
    if late:
        checks["failures"].append(f"takeover over {TAKEOVER_LIMIT:.0f} s: {late}")
    if drained["drained_s"] is None:
        checks["failures"].append(f"not drained within {plan.drain_timeout:.0f} s: {progress}")
    # a stopped worker's IMAP session stays open while its peer watches the mailbox: not a fault there
    overlap = pause_seconds is not None
    checks.update(imap_checks(srv, built, refused_before, checks["failures"], sessions_may_overlap=overlap))
    result = {
        "plan": plan.__dict__,
        "stalled_seconds": plan.stalled_seconds or 30.0,
        "load_before": load_before,
        "load_after": load_average(),
        "prepare_s": round(prepare_s, 1),
        "ready_s": round(ready_s, 1),
        "kills": len(kills),
        "kills_holding_mailboxes": len([k for k in kills if k.held]),
        "pauses": paused,
        "pause_s": pause_seconds,
        "takeover_s": {
            "max": round(max(takeovers, default=0.0), 1),
            "p50": round(statistics.median(takeovers), 1) if takeovers else None,
            "p90": round(percentile(takeovers, 0.9), 1) if takeovers else None,
            "all": [round(t, 1) for t in takeovers],
        },
        "longest_unwatched_s": {m: round(max(g, default=0.0), 1) for m, g in poller.gaps.items()},
        "drain": {key: None if s is None else round(s, 1) for key, s in drained.items()},
        "feed_s": round(feed_s, 1),
        "total_s": round(total_s, 1),
        "feed_errors": feeder.errors[:10],
        "poll_errors": poller.errors[:10],
        "exit_codes": exits,
        "worker_logs": log_problems(*slots.workers),
        "status_fleet": status,
        "events": [kill.summary(chaos_started) for kill in kills],
        **checks,
    }
    stops = f", {paused} SIGSTOPs of {pause_seconds:.0f} s" if pause_seconds is not None else ""
    print_result(
        f"chaos: {len(delivered)} mails, 3 workers, {len(kills)} SIGKILLs{stops} (seed {seed})", result
    )
    return result


def imap_checks(
    srv: Servers,
    built: Installation,
    refused_before: int,
    failures: list[str],
    *,
    sessions_may_overlap: bool = False,
) -> dict[str, Any]:
    """Acceptance check 7: no login refused, never two IMAP sessions of one mailbox at once (counted but
    allowed when a stopped worker's session stays open beside its peer's, `sessions_may_overlap`)."""
    refused = refused_logins(srv.dovecot) - refused_before
    at_once = sessions_at_once(dovecot_log(srv.dovecot), built.users.values())
    keep_dovecot_log(srv.dovecot, OUT / "chaos" / f"{built.root.name}-dovecot.log")
    if refused:
        failures.append(f"{refused} IMAP logins refused (more than {IMAP_CONNECTIONS} connections)")
    doubled = {user: n for user, n in at_once.items() if n > 1}
    if doubled and not sessions_may_overlap:
        failures.append(f"mailboxes with more than one IMAP session at once: {doubled}")
    return {"imap_logins_refused": refused, "imap_sessions_at_once": at_once}


def print_result(title: str, r: dict[str, Any]) -> None:
    takeover = r.get("takeover_s")
    rows: list[tuple[str, Any]] = [("load average before", r["load_before"])]
    if takeover is not None:
        rows += [
            ("kills (of a worker holding mailboxes)", f"{r['kills']} ({r['kills_holding_mailboxes']})"),
            (
                f"takeover after a kill (stalled {r['stalled_seconds']:.0f} s)",
                f"max {takeover['max']} s, p50 {takeover['p50']} s, p90 {takeover['p90']} s",
            ),
            ("longest stretch without a live watcher", r["longest_unwatched_s"]),
            (
                "after the last arrival: all decided / all sent",
                f"{r['drain']['decided_s']} s / {r['drain']['drained_s']} s (leases included)",
            ),
        ]
    replies = f"{r['replies_queued_to_customers']} / {r['sink_to_customers']}"
    rows += [
        ("mails delivered / inbound rows", f"{r['delivered']} / {r['inbound_rows']}"),
        ("states", r["states"]),
        ("outcomes", r["outcomes"]),
        ("quarantined (reasons)", r["quarantined_reasons"] or 0),
        (
            "claimed again after its holder died (inbound, outbox)",
            f"{r['claimed_more_than_once']}, {r['outbox_claimed_more_than_once']}",
        ),
        ("tickets", r["tickets"]),
        ("customer replies queued / at the sink", replies),
        (
            "byte-identical re-sends (ids, copies)",
            f"{r['resent_byte_identical']}, {r['resent_extra_copies']}",
        ),
        ("outbox", r["outbox"]),
        ("IMAP logins refused (2 per user+IP)", r["imap_logins_refused"]),
        (
            "most IMAP sessions (>= 2 s) of a mailbox at once",
            max(r["imap_sessions_at_once"].values(), default=0),
        ),
        (
            "worker logs",
            f"{r['worker_logs']['tracebacks']} tracebacks, {r['worker_logs']['error_lines']} ERROR lines",
        ),
        ("FAILURES", r["failures"] or "none"),
    ]
    table(title, rows)
    for example in r["worker_logs"]["error_examples"][:5]:
        print(f"    {example[:200]}")


# --- scale -----------------------------------------------------------------------------------------


def scale_run(
    srv: Servers,
    factory: MailFactory,
    number: int,
    workers: int,
    slugs: list[str],
    per: int,
    burst: bool = False,
) -> dict[str, Any]:
    """`per` mails in each of the fresh mailboxes `slugs` on a fresh database, then `workers` fleet
    workers until every mail is decided and every reply accepted by the sink. `burst`: the workers
    are started first and warmed up by one mail per mailbox (models loaded, sessions on IDLE), then
    the mails arrive (`rush`) and the clock runs from the first: a running fleet's throughput,
    without its start."""
    tag = "burst" if burst else "scale"
    built = installation(srv, f"{tag}{number}", slugs, FULL.lease_seconds)
    refused_before = refused_logins(srv.dovecot)
    run_once(built)
    delivered: dict[str, str] = {}
    blocks = [range(k * per, (k + 1) * per) for k in range(len(slugs))]  # the same mails in every run
    if not burst:
        for slug, block in zip(slugs, blocks, strict=True):
            append_mails(srv.dovecot, built.users[slug], factory, block)
            delivered.update({message_id(i): slug for i in block})
    srv.sink.clear()
    db = FleetDb(built.database_url)
    slots = Slots(fleet_workers(built, OUT / "chaos" / f"{tag}{number}-{workers}w", workers, None))
    load_before = load_average()
    machine_before, t0 = machine_cpu(), time.monotonic()
    ready_s = slots.start_all()
    cpu_before = 0.0
    if burst:
        first_warm = per * len(slugs)
        warm = [range(first_warm + k, first_warm + k + 1) for k in range(len(slugs))]  # not measured
        delivered.update(rush(srv, built, factory, slugs, warm))
        wait_until("warmed up", lambda: db.progress().drained(len(delivered)), SCALE_TIMEOUT)
        time.sleep(2.0)  # the sessions are back on IDLE
        ready_s = time.monotonic() - t0
        cpu_before, machine_before = slots.cpu_seconds(), machine_cpu()
        t0 = time.monotonic()
        delivered.update(rush(srv, built, factory, slugs, blocks))
        arrived_s = time.monotonic() - t0
    drained = True
    try:
        wait_until("drained", lambda: db.progress().drained(len(delivered)), SCALE_TIMEOUT)
    except TimeoutError:
        drained = False
    seconds = time.monotonic() - t0
    load_after = load_average()
    cpu = slots.cpu_seconds() - cpu_before
    busy, stolen = (after - before for after, before in zip(machine_cpu(), machine_before, strict=True))
    exits = slots.stop()
    checks = check_after_drain(db, delivered, srv.sink.messages, [TEAM])
    deciding = seconds if burst else db.deciding_seconds()
    if not drained:
        checks["failures"].append(f"not drained within {SCALE_TIMEOUT:.0f} s: {db.progress()}")
    checks.update(imap_checks(srv, built, refused_before, checks["failures"]))
    db.close()
    measured = per * len(slugs)
    run = {
        "workers": workers,
        "mailboxes": len(slugs),
        "burst": burst,
        "load_before": load_before,
        "load_after": load_after,
        "ready_s": round(ready_s, 1),
        "seconds": round(seconds, 1),
        "mails_per_s": round(measured / seconds, 1),
        "deciding_s": round(deciding, 1),
        "mails_per_s_deciding": round(measured / deciding, 1),
        "workers_cpu_s": round(cpu, 1),
        "workers_cores": round(cpu / seconds, 2),  # CPU of all workers / wall time
        # the whole machine's busy cores (workers, PostgreSQL, Dovecot, the sink, the bench) and steal
        "machine_cores": round(busy / seconds, 2),
        "steal_cores": round(stolen / seconds, 2),
        "exit_codes": exits,
        "worker_logs": log_problems(*slots.workers),
        **checks,
    }
    if burst:
        run["arrival_s"] = round(arrived_s, 2)  # from the first mail of the burst to the last
    started = "warm after" if burst else "ready after"
    print(
        f"  run {number}: {workers} worker(s), {measured} mails in {seconds:.1f} s "
        f"({started} {ready_s:.1f} s): {run['mails_per_s']} mails/s, {run['mails_per_s_deciding']} "
        f"from the first decision to the last reply; workers' CPU {cpu:.1f} s = "
        f"{run['workers_cores']} cores (the machine {run['machine_cores']}, stolen {run['steal_cores']}); "
        f"load {load_before} -> {load_after}; "
        f"failures: {run['failures'] or 'none'}"
    )
    return run


def rush(
    srv: Servers, built: Installation, factory: MailFactory, slugs: list[str], blocks: list[range]
) -> dict[str, str]:
    """Each mailbox's block over LMTP, as a mail server delivers: one connection per mailbox, all at
    once; the Message-IDs delivered, with their mailbox. Not IMAP APPEND: the bench's own session
    beside the watcher's would count as a second watcher of the mailbox (`sessions_at_once`), and
    one mailbox after the other took 2.5-4.9 s."""

    def one(k: int) -> None:
        user = built.users[slugs[k]]
        with smtplib.LMTP(srv.dovecot.host, srv.dovecot.lmtp_port, timeout=60) as lmtp:
            for i in blocks[k]:
                refused = lmtp.sendmail("sender@example.test", [user], factory.mail(i))
                if refused:
                    raise RuntimeError(f"LMTP refused {refused}")

    with ThreadPoolExecutor(max_workers=len(slugs)) as pool:
        list(pool.map(one, range(len(slugs))))
    return {message_id(i): slug for slug, block in zip(slugs, blocks, strict=True) for i in block}


def scale(
    srv: Servers,
    factory: MailFactory,
    seed: int,
    quick: bool,
    burst: bool = False,
    mailboxes: int | None = None,
) -> dict[str, Any]:
    """The same mails in fresh mailboxes on a fresh database, decided by 1 worker, then by 2 (twice).
    `mailboxes`: over how many the mails are spread (default 10; 4 with --quick)."""
    default_mailboxes, mails = (4, 200) if quick else (10, 1000)
    mailboxes = mailboxes or default_mailboxes
    slugs = [f"client{k:02d}" for k in range(mailboxes)]
    rounds = (1, 2) if quick else (1, 2, 1, 2)
    runs = [
        scale_run(srv, factory, number, workers, slugs, mails // mailboxes, burst)
        for number, workers in enumerate(rounds, start=1)
    ]
    rates = {n: [r for r in runs if r["workers"] == n] for n in (1, 2)}
    pairs = list(zip(rates[1], rates[2], strict=True))
    ratios = [round(two["mails_per_s"] / one["mails_per_s"], 2) for one, two in pairs]
    ratios_warm = [round(two["mails_per_s_deciding"] / one["mails_per_s_deciding"], 2) for one, two in pairs]
    rows: list[tuple[str, Any]] = []
    for number, run in enumerate(runs, start=1):
        rows.append(
            (
                f"run {number}: {run['workers']} worker(s)",
                f"{run['seconds']} s, {run['mails_per_s']} mails/s (first decision to last reply "
                f"{run['deciding_s']} s: {run['mails_per_s_deciding']}/s), {run['workers_cores']} cores "
                f"(machine {run['machine_cores']}), "
                f"load {run['load_before']}, "
                f"{run['worker_logs']['tracebacks']} tracebacks, failures {len(run['failures'])}",
            )
        )
    rows += (
        [("2 workers / 1 worker (from the first mail of the burst)", ratios)]
        if burst
        else [
            ("2 workers / 1 worker (from the start)", ratios),
            ("2 workers / 1 worker (first decision to last reply)", ratios_warm),
        ]
    )
    rows += [
        ("outcomes (last run)", runs[-1]["outcomes"]),
        ("FAILURES", [f for run in runs for f in run["failures"]] or "none"),
    ]
    what = "into running, warm workers" if burst else "in the mailboxes before the start"
    name = "burst" if burst else "scale"
    table(f"{name}: {mails} mails over {mailboxes} mailboxes {what}, 1 vs 2 workers", rows)
    return {"runs": runs, "ratio": ratios, "ratio_deciding": ratios_warm}


Scenario = Callable[[Servers, MailFactory, int, bool, int | None, bool], dict[str, Any]]
SCENARIOS: dict[str, Scenario] = {
    "chaos": lambda srv, factory, seed, quick, _mailboxes, pauses: chaos(srv, factory, seed, quick, pauses),
    "scale": lambda srv, factory, seed, quick, mailboxes, _p: scale(
        srv, factory, seed, quick, False, mailboxes
    ),
    "burst": lambda srv, factory, seed, quick, mailboxes, _p: scale(
        srv, factory, seed, quick, True, mailboxes
    ),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--quick", action="store_true", help="a short version (see above)")
    parser.add_argument("--out", type=Path, default=OUT / "chaos.json")
    parser.add_argument("--mailboxes", type=int, help="scale, burst: spread the mails over N (default 10)")
    parser.add_argument(
        "--db-latency-ms", type=float, default=0.0, help="a round trip to PostgreSQL costs this much more"
    )
    parser.add_argument(
        "--pauses", action="store_true", help="chaos: some events SIGSTOP a worker (see above)"
    )
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    MODELS.mkdir(parents=True, exist_ok=True)
    factory = MailFactory.from_shipped_kb()
    started = time.monotonic()
    results: dict[str, Any] = {}
    print(f"{os.cpu_count()} CPUs, load average {load_average()}")
    with servers(args.db_latency_ms) as srv:
        for name in names:
            print(f"\n# {name}")
            begun = time.monotonic()
            # a short run (or one with pauses) never replaces the full figures
            key = (
                name
                + ("-pauses" if args.pauses and name == "chaos" else "")
                + ("-quick" if args.quick else "")
            )
            results[key] = SCENARIOS[name](srv, factory, args.seed, args.quick, args.mailboxes, args.pauses)
            results[key]["run"] = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "seed": args.seed,
                "quick": args.quick,
                "db_latency_ms": args.db_latency_ms,
                "pauses": args.pauses,
                "seconds": round(time.monotonic() - begun, 1),
                "command": "python bench/chaos.py " + shlex.join(sys.argv[1:]),
            }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    previous.setdefault("scenarios", {}).update(results)
    args.out.write_text(json.dumps(previous, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nfigures: {args.out} ({time.monotonic() - started:.0f} s in all)")
    failed = [f for r in results.values() for f in r.get("failures", [])]
    failed += [f for r in results.values() for run in r.get("runs", []) for f in run["failures"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
