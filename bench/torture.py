"""Torture: "never lose, never double", with figures. Not a CI test: a script that runs the real worker
(`python -m mailbot.cli run`, a separate process) against a real Dovecot and aiosmtpd on loopback and
breaks things around it.

Scenarios (all by default, in this order):
  crashes  mail keeps arriving while the worker is SIGKILLed at random moments and restarted; then drain
  once     `run --once` over a backlog SIGKILLed mid-pass again and again (its forked processes end by
           themselves); then run until drained, the last run with the clock past the leases
  smtp     SMTP server down, then answering 4xx for a while, then 5xx for one recipient
  imap     connection cut mid-FETCH, Dovecot restart mid-FETCH and while idle, UIDVALIDITY change
  loops    two mailbots writing to each other (faithful relay and a header-stripping gateway) plus a
           FreeScout-like auto-responder that sets no Auto-Submitted header
  flood    one sender, 200 mails within a minute

Each prints a short table; all figures go to bench/out/torture.json (scenarios run now replace their
entry, the others are kept), worker logs to bench/out/torture/<scenario>/.
Usage: .venv/bin/python bench/torture.py [crashes|once|smtp|imap|loops|flood ...] [--seed N] [--quick]
       [--keep]
"""

from __future__ import annotations

import argparse
import json
import random
import shlex
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.torture_servers import (
    TERMINAL,
    Corpus,
    Db,
    FlakySink,
    ImapProxy,
    Relay,
    Worker,
    bare_id,
    crash_dovecot,
    crash_restart_dovecot,
    dovecot_instance,
    lmtp_deliver,
    make_mail,
    outcome_counts,
    pids_where,
    restore_inbox_with_new_uidvalidity,
    rule_hit_counts,
    sink_figures,
    train_model,
    wait_for,
    write_config,
)
from tests.servers import DovecotServer

OUT = Path(__file__).resolve().parent / "out"
TEAM = "team@example.com"
SUPPORT = "support@example.com"
MIX = (("question", 0.6), ("unknown", 0.15), ("fault", 0.2), ("autoreply", 0.05))
REPLY_CAP = 3  # [limits] replies_per_sender_per_day, default


@dataclass
class Ctx:
    tmp: Path
    model_dir: Path
    seed: int
    quick: bool
    corpus: Corpus

    def scale(self, full: int, quick: int) -> int:
        return quick if self.quick else full

    def dir(self, name: str) -> Path:
        path = self.tmp / name
        path.mkdir(parents=True, exist_ok=True)
        path.chmod(0o755)
        return path


# --- small helpers ------------------------------------------------------------------------------------


def table(title: str, rows: list[tuple[str, Any]]) -> None:
    print(f"\n## {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def folder_count(dovecot: DovecotServer, user: str, folder: str) -> int:
    with dovecot.imap_client(user) as client:
        if not client.folder_exists(folder):
            return 0
        client.select_folder(folder, readonly=True)
        return len(client.search("ALL"))


def stage_of(counts: dict[str, Any], claimed: dict[str, int], delivered: int, unmoved: int) -> str:
    """Roughly where the worker was, from what it left in the database (read right after SIGKILL).
    `claimed`: rows this run claimed and left behind (rows still leased by an earlier killed run
    do not count: they wait for their lease whatever the new run does)."""
    inbound, outbox = counts["inbound"], counts["outbox"]
    ingested = sum(inbound.values())
    if claimed["sending"]:
        return "send (outbox rows claimed)"
    if claimed["processing"]:
        return "processing (a mail claimed)"
    if outbox.get("pending"):
        return "between commit and send"
    if inbound.get("received"):
        return "after fetch, before processing"
    if delivered > ingested:
        return "fetch (new mail on the server, not stored)"
    if unmoved:
        return "finalize (decided, not yet moved)"
    return "idle"


def claimed_ids(db: Db) -> dict[str, set[int]]:
    """Ids of outbox rows in 'sending' and inbound rows in 'processing' (claimed, lease running)."""
    if not db.exists():
        return {"sending": set(), "processing": set()}
    return {
        "sending": {o.id for o in db.outbox() if o.state == "sending"},
        "processing": {r.id for r in db.inbound() if r.state == "processing"},
    }


def unmoved(db: Db) -> int:
    with db.session() as s:
        from sqlalchemy import func, select

        from mailbot.db.schema import InboundMail

        return int(
            s.scalar(
                select(func.count(InboundMail.id)).where(
                    InboundMail.state.in_(TERMINAL), InboundMail.source_done.is_(False)
                )
            )
            or 0
        )


def log_problems(*workers: Worker) -> dict[str, Any]:
    """Tracebacks and error lines in the workers' logs (for the findings)."""
    lines: list[str] = []
    tracebacks = 0
    warnings: Counter[str] = Counter()
    for w in workers:
        text = w.log.read_text(errors="replace") if w.log.exists() else ""
        tracebacks += text.count("Traceback (most recent call last)")
        lines += [
            f"{w.name}: {line}" for line in text.splitlines() if " ERROR " in line or "CRITICAL" in line
        ]
        warnings += Counter(
            line.split(" WARNING ", 1)[1][:90] for line in text.splitlines() if " WARNING " in line
        )
    return {
        "tracebacks": tracebacks,
        "error_lines": len(lines),
        "error_examples": lines[:8],
        "warning_lines": sum(warnings.values()),
        "warnings_top": dict(warnings.most_common(6)),
    }


def keep_logs(name: str, *workers: Worker) -> str:
    target = OUT / "torture" / name
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True, exist_ok=True)
    for w in workers:
        if w.log.exists():
            shutil.copyfile(w.log, target / f"{w.name}.log")
    return str(target.relative_to(OUT.parent.parent))


def delivery_losses(db: Db, sink_messages: list[Any], delivered_ids: list[str]) -> dict[str, Any]:
    """Delivered vs stored vs decided, and outbox rows marked sent that the sink never got."""
    rows = db.inbound()
    by_id = {bare_id(r.message_id): r for r in rows}
    wanted = [bare_id(m) for m in delivered_ids]
    not_ingested = [m for m in wanted if m not in by_id]
    not_terminal = [m for m in wanted if m in by_id and by_id[m].state not in TERMINAL]
    outbox = db.outbox()
    got = {bare_id(_mid(m.data)) for m in sink_messages}
    sent_missing = [o.id for o in outbox if o.state == "sent" and bare_id(o.message_id) not in got]
    return {
        "delivered": len(wanted),
        "ingested": sum(1 for m in wanted if m in by_id),
        "inbound_rows": len(rows),
        "terminal": sum(1 for m in wanted if m in by_id and by_id[m].state in TERMINAL),
        "lost": len(not_ingested) + len(not_terminal),
        "lost_not_ingested": not_ingested[:10],
        "lost_not_terminal": not_terminal[:10],
        "quarantined": [
            {"id": r.id, "message_id": r.message_id, "reason": r.reason}
            for r in rows
            if r.state == "quarantined"
        ],
        "outcomes": outcome_counts(rows),
        "outbox": dict(Counter(o.state for o in outbox)),
        "outbox_sent_but_not_received": sent_missing,
        "outbox_attempts_max": max((o.attempts for o in outbox), default=0),
    }


def _mid(raw: bytes) -> str:
    from email.parser import BytesHeaderParser

    return str(BytesHeaderParser().parsebytes(raw).get("Message-ID", ""))


def bot(
    ctx: Ctx, label: str, dovecot: DovecotServer, user: str, smtp_port: int, **kw: Any
) -> tuple[Worker, Db]:
    d = ctx.dir(label)
    config = write_config(
        d / "mailbot.toml",
        user=user,
        smtp_port=smtp_port,
        model_dir=ctx.model_dir,
        cafile=dovecot.cafile,
        **kw,
    )
    return Worker(config, d / "worker.log", label), Db(d / "mailbot.db")


# --- 1. crashes ---------------------------------------------------------------------------------------


def crashes(ctx: Ctx) -> dict[str, Any]:
    n, kills = ctx.scale(500, 60), ctx.scale(20, 4)
    rng = random.Random(ctx.seed)
    mails = [ctx.corpus.mail(rng, f"crash{i:04d}@customer.example.org", MIX) for i in range(n)]
    ids = [m[0] for m in mails]
    # bursts: one per cycle plus one for the final run, random sizes that add up to n
    cuts = sorted(rng.sample(range(1, n), kills))
    bursts = [mails[a:b] for a, b in zip([0, *cuts], [*cuts, n], strict=True)]
    events: list[dict[str, Any]] = []
    with dovecot_instance() as dovecot, FlakySink() as sink:
        user = dovecot.new_user()
        worker, db = bot(ctx, "crashes", dovecot, user, sink.port, imap_port=dovecot.imap_port)
        delivered = 0
        started = time.monotonic()
        for cycle in range(kills):
            burst = [raw for _mid, raw, _s in bursts[cycle]]
            before = rng.randint(0, len(burst))  # part of it waits on the server while the worker is down
            delivered += lmtp_deliver(dovecot, user, burst[:before])
            leased_before = claimed_ids(db)  # left by earlier kills, still leased
            worker.start()
            ready_s = worker.wait_ready()
            delivered += lmtp_deliver(dovecot, user, burst[before:])
            # A random delay from an event seen in the log, so that kills land in the short busy
            # windows too (a pass over a burst takes about a second; the rest of the time the
            # worker idles): after the IMAP login (fetch), after the first decision (processing,
            # commit, send), or anywhere in the next seconds.
            origin = rng.choices(["connected to", "inbound #", "worker started"], weights=[3, 5, 2])[0]
            delay = {
                "connected to": rng.uniform(0.0, 0.6),
                "inbound #": rng.uniform(0.0, 0.04 * len(burst)),
                "worker started": rng.uniform(0.5, 6.0),
            }[origin]
            wait_for(lambda origin=origin: origin in worker.new_log(), 20, interval=0.005)
            time.sleep(delay)
            pre = db.counts()
            worker.kill()
            post = db.counts()
            after = claimed_ids(db)
            left = {k: len(after[k] - leased_before[k]) for k in after}
            stage = stage_of(post, left, delivered, unmoved(db))
            events.append(
                {
                    "cycle": cycle + 1,
                    "burst": len(burst),
                    "after": origin,
                    "delay_s": round(delay, 2),
                    "ready_s": round(ready_s, 1),
                    "stage": stage,
                    "pre": pre,
                    "post": post,
                    "claimed_and_left": left,
                }
            )
            print(
                f" kill {cycle + 1:2d}/{kills} {delay:4.2f} s after {origin!r:15}: {stage:42s} {_short(post)}"
            )
        delivered += lmtp_deliver(dovecot, user, [raw for _mid, raw, _s in bursts[-1]])
        worker.start()
        worker.wait_ready()
        drain_started = time.monotonic()
        drain_timeout = 420.0
        drained, drain_s = wait_for(lambda: db.drained(ids), drain_timeout, interval=1.0)
        wait_for(lambda: folder_count(dovecot, user, "INBOX") == 0, 30, interval=1.0)
        total_s = time.monotonic() - started
        inbox_left = folder_count(dovecot, user, "INBOX")
        worker.stop()
        messages = sink.messages
        losses = delivery_losses(db, messages, ids)
        figures = sink_figures(messages, [TEAM])
        drain_detail = db.counts()
        outbox_rows = db.outbox()
        outbox_by_mid = {bare_id(o.message_id): o for o in outbox_rows}
        # claimed by a killed worker, taken again only after the lease ran out
        reclaimed_in = sum(1 for r in db.inbound() if r.attempts > 1)
        reclaimed_out = sum(1 for o in outbox_rows if o.attempts > 1)
        inbound_at = {r.id: r.ingested_at for r in db.inbound()}
        delays = [
            (o.sent_at - inbound_at[o.inbound_id]).total_seconds()
            for o in outbox_rows
            if o.to_customer and o.sent_at and o.inbound_id in inbound_at
        ]
        max_delay = round(max(delays, default=0.0), 1)
        resent_rows = [
            {"outbox_id": o.id, "kind": o.kind, "attempts": o.attempts, "message_id": o.message_id}
            for mid in figures["resent_ids"]
            if (o := outbox_by_mid.get(mid)) is not None
        ]
        sending_left = [
            {"id": o.id, "kind": o.kind, "attempts": o.attempts, "lease_until": str(o.lease_until)}
            for o in db.outbox()
            if o.state in ("sending", "pending")
        ]
    result = {
        "mails": n,
        "kills": kills,
        "mails_delivered": delivered,
        "mails_ingested": losses["ingested"],
        "terminal": losses["terminal"],
        "lost": losses["lost"],
        "customers_with_two_different_answers": figures["inbound_with_two_different_answers"],
        "byte_identical_resends": figures["resent_byte_identical"],
        "resent_extra_copies": figures["resent_extra_copies"],
        "resent_rows": resent_rows,
        "resent_not_identical": figures["resent_message_ids"] - figures["resent_byte_identical"],
        "double_answer_examples": figures["double_answer_examples"],
        "drained": drained,
        "drain_s": round(drain_s, 1),
        "drain_started_after_s": round(drain_started - started, 1),
        "total_run_s": round(total_s, 1),
        "inbox_left": inbox_left,
        "stages": dict(Counter(e["stage"] for e in events)),
        "kills_leaving_outbox_sending": sum(1 for e in events if e["claimed_and_left"]["sending"]),
        "kills_leaving_inbound_processing": sum(1 for e in events if e["claimed_and_left"]["processing"]),
        "inbound_reclaimed_after_lease": reclaimed_in,
        "outbox_reclaimed_after_lease": reclaimed_out,
        "max_answer_delay_s": max_delay,
        "outbox_not_finished": sending_left[:10],
        "final_counts": drain_detail,
        "outcomes": losses["outcomes"],
        "quarantined": losses["quarantined"],
        "outbox": losses["outbox"],
        "outbox_sent_but_not_received": losses["outbox_sent_but_not_received"],
        "sink_received": figures["received"],
        "sink_to_customers": figures["to_customers"],
        "sink_to_team": figures["to_team"],
        "events": events,
        "worker_log": log_problems(worker),
        "logs": keep_logs("crashes", worker),
    }
    table(
        f"crashes: {n} mails, {kills} SIGKILLs (seed {ctx.seed})",
        [
            ("mails delivered", result["mails_delivered"]),
            ("mails ingested (inbound rows)", f"{result['mails_ingested']} ({losses['inbound_rows']} rows)"),
            (
                "terminal (done/quarantined)",
                f"{result['terminal']} (quarantined {len(result['quarantined'])})",
            ),
            ("LOST (must be 0)", result["lost"]),
            ("two different answers to one mail (must be 0)", result["customers_with_two_different_answers"]),
            ("byte-identical re-sends (at-least-once window)", result["byte_identical_resends"]),
            ("re-sends NOT byte-identical (must be 0)", result["resent_not_identical"]),
            ("outbox sent but never received (must be 0)", len(result["outbox_sent_but_not_received"])),
            ("outbox", result["outbox"]),
            ("outcomes", result["outcomes"]),
            ("kill stages", result["stages"]),
            ("kills leaving outbox rows 'sending'", result["kills_leaving_outbox_sending"]),
            ("kills leaving an inbound row 'processing'", result["kills_leaving_inbound_processing"]),
            ("rows taken again after their lease (in/out)", f"{reclaimed_in} / {reclaimed_out}"),
            ("longest time stored -> answer sent", f"{max_delay} s"),
            ("drained", f"{drained} after {result['drain_s']} s (last restart to drained)"),
            ("INBOX left on the server", inbox_left),
            ("total run time", f"{result['total_run_s']} s"),
            (
                "worker log",
                f"{result['worker_log']['tracebacks']} tracebacks, "
                f"{result['worker_log']['error_lines']} ERROR lines",
            ),
        ],
    )
    return result


def _short(counts: dict[str, Any]) -> str:
    i, o = counts["inbound"], counts["outbox"]
    return f"in {dict(sorted(i.items()))} out {dict(sorted(o.items()))}"


# --- 1b. once: `run --once` over a backlog, SIGKILLed mid-pass ----------------------------------------


def once(ctx: Ctx) -> dict[str, Any]:
    """`run --once` over a backlog, killed mid-pass again and again (the worker process only, as the OOM
    killer would: its delivery, parsing and composing processes must notice and end by themselves), then
    run until drained: first as it is, then with the clock past the leases. The path of issue 13, sessions
    11 and 12: parsing in a second process, the worker claiming and settling for its delivery process,
    outgoing mail composed in a third."""
    n, kills = ctx.scale(800, 150), ctx.scale(10, 3)
    rng = random.Random(ctx.seed)
    mails = [ctx.corpus.mail(rng, f"once{i:04d}@customer.example.org", MIX) for i in range(n)]
    ids = [m[0] for m in mails]
    events: list[dict[str, Any]] = []
    with dovecot_instance() as dovecot, FlakySink() as sink:
        user = dovecot.new_user()
        worker, db = bot(ctx, "once", dovecot, user, sink.port, imap_port=dovecot.imap_port)
        worker.args, worker.ready = ["--once"], "connected to"
        delivered = lmtp_deliver(dovecot, user, [raw for _mid, raw, _s in mails])
        started = time.monotonic()
        for cycle in range(kills):
            worker.start()
            wait_for(lambda: "inbound #" in worker.new_log() or not worker.alive, 60, interval=0.01)
            delay = rng.uniform(0.0, 0.8)  # a few batches in: decided, committed, handed, sending
            time.sleep(delay)
            if not worker.alive:  # it finished before the kill: nothing left to break
                break
            pre = db.counts()
            worker.kill()
            # the children look at their parent every second; a run started before they are gone would
            # share the database with a delivery process of the dead run, which is allowed but not the test
            gone, _ = wait_for(lambda: not _children_of_dead_runs(worker.log.parent), 10, interval=0.2)
            post = db.counts()
            events.append({"cycle": cycle + 1, "delay_s": round(delay, 2), "pre": pre, "post": post})
            print(f" kill {cycle + 1:2d}/{kills} {delay:4.2f} s after the first decision: {_short(post)}")
            assert gone, "a delivery, parsing or composing process outlived its worker by 10 s"
        runs = 0
        for now in (None, None, "lease"):  # as it is, then with the clock past every lease
            worker.args = ["--once"] if now is None else ["--once", "--now", _after_leases()]
            worker.start()
            assert worker.proc is not None
            worker.proc.wait(timeout=600)
            runs += 1
        total_s = time.monotonic() - started
        drained = db.drained(ids)
        inbox_left = folder_count(dovecot, user, "INBOX")
        messages = sink.messages
        losses = delivery_losses(db, messages, ids)
        figures = sink_figures(messages, [TEAM])
        outbox_rows = db.outbox()
        reclaimed_in = sum(1 for r in db.inbound() if r.attempts > 1)
        reclaimed_out = sum(1 for o in outbox_rows if o.attempts > 1)
    result = {
        "mails": n,
        "kills": len(events),
        "mails_delivered": delivered,
        "mails_ingested": losses["ingested"],
        "terminal": losses["terminal"],
        "lost": losses["lost"],
        "customers_with_two_different_answers": figures["inbound_with_two_different_answers"],
        "byte_identical_resends": figures["resent_byte_identical"],
        "resent_not_identical": figures["resent_message_ids"] - figures["resent_byte_identical"],
        "double_answer_examples": figures["double_answer_examples"],
        "drained": drained,
        "runs_after_the_kills": runs,
        "total_run_s": round(total_s, 1),
        "inbox_left": inbox_left,
        "inbound_reclaimed_after_lease": reclaimed_in,
        "outbox_reclaimed_after_lease": reclaimed_out,
        "outcomes": losses["outcomes"],
        "quarantined": losses["quarantined"],
        "outbox": losses["outbox"],
        "outbox_sent_but_not_received": losses["outbox_sent_but_not_received"],
        "sink_received": figures["received"],
        "events": events,
        "worker_log": log_problems(worker),
        "logs": keep_logs("once", worker),
    }
    table(
        f"once: {n} mails, run --once SIGKILLed {len(events)} times (seed {ctx.seed})",
        [
            ("mails delivered / ingested", f"{delivered} / {result['mails_ingested']}"),
            ("terminal (quarantined)", f"{result['terminal']} ({len(result['quarantined'])})"),
            ("LOST (must be 0)", result["lost"]),
            ("two different answers to one mail (must be 0)", result["customers_with_two_different_answers"]),
            ("byte-identical re-sends (at-least-once window)", result["byte_identical_resends"]),
            ("re-sends NOT byte-identical (must be 0)", result["resent_not_identical"]),
            ("outbox sent but never received (must be 0)", len(result["outbox_sent_but_not_received"])),
            ("outbox", result["outbox"]),
            ("outcomes", result["outcomes"]),
            ("rows taken again after their lease (in/out)", f"{reclaimed_in} / {reclaimed_out}"),
            ("drained", f"{drained} after {runs} more runs (the last past the leases)"),
            ("INBOX left on the server", inbox_left),
            ("total run time", f"{result['total_run_s']} s"),
            (
                "worker log",
                f"{result['worker_log']['tracebacks']} tracebacks, "
                f"{result['worker_log']['error_lines']} ERROR lines",
            ),
        ],
    )
    return result


def _after_leases() -> str:
    """A clock past every lease a killed run can have left (inbound and outbox: 5 minutes)."""
    return (datetime.now(UTC) + timedelta(minutes=6)).isoformat(timespec="seconds")


def _children_of_dead_runs(folder: Path) -> list[int]:
    """Processes still running with this bot's config on their command line (a killed worker's forked
    delivery, parsing and composing processes keep its command line)."""
    mark = str(folder).encode()
    return pids_where(lambda cmdline: mark in cmdline)


# --- 2. smtp ------------------------------------------------------------------------------------------


def smtp(ctx: Ctx) -> dict[str, Any]:
    rng = random.Random(ctx.seed + 2)
    n_down, n_4xx, n_5xx = ctx.scale(20, 5), ctx.scale(10, 3), ctx.scale(5, 2)
    down_s, fourxx_s = ctx.scale(20, 10), ctx.scale(40, 20)
    bounce = "bounce-me@unreachable.example.org"
    timeline: list[tuple[float, str]] = []
    ids: list[str] = []
    with dovecot_instance() as dovecot, FlakySink() as sink:
        user = dovecot.new_user()
        worker, db = bot(ctx, "smtp", dovecot, user, sink.port, imap_port=dovecot.imap_port)
        worker.start()
        worker.wait_ready()
        t0 = time.monotonic()

        def mark(what: str) -> None:
            timeline.append((round(time.monotonic() - t0, 1), what))
            print(f"  {timeline[-1][0]:6.1f} s  {what}")

        def deliver(count: int, prefix: str) -> None:
            batch = [
                ctx.corpus.mail(rng, f"{prefix}{i:02d}@customer.example.org", MIX[:3]) for i in range(count)
            ]
            ids.extend(m for m, _r, _s in batch)
            lmtp_deliver(dovecot, user, [r for _m, r, _s in batch])

        sink.stop()
        mark("SMTP server down")
        deliver(n_down, "down")
        ok, _ = wait_for(lambda: _all_attempted(db, n_down), 90)
        mark(f"{n_down} mails decided, every outbox row tried at least once: {ok}")
        time.sleep(max(0.0, down_s - (time.monotonic() - t0)))
        sink.fail_all(451, "RCPT")
        sink.start()
        mark("SMTP server back, answering 451 (greylisting) to every RCPT")
        deliver(n_4xx, "greylisted")
        time.sleep(fourxx_s)
        rejected_4xx = len(sink.rejections)
        sink.heal()
        mark(f"4xx over ({rejected_4xx} RCPTs refused with 451)")
        sink.fail_recipient(
            bounce, 550, "5.1.1 <bounce-me@unreachable.example.org>: Recipient address rejected"
        )
        mid, raw = make_mail(
            bounce, "Passwort vergessen", "Hallo,\n\nich habe mein Passwort vergessen.\n\nGruß"
        )
        ids.append(mid)
        lmtp_deliver(dovecot, user, [raw])
        deliver(n_5xx, "after")
        mark(f"550 for {bounce}; its mail and {n_5xx} others delivered")
        healed_at = time.monotonic()

        def recovered() -> bool:
            return db.drained(ids) and any(
                o.kind == "delivery_failed" and o.state == "sent" for o in db.outbox()
            )

        ok, recovery_s = wait_for(recovered, ctx.scale(300, 240), interval=1.0)
        if not ok:  # no team notice: still wait for everything else
            wait_for(lambda: db.drained(ids), 60, interval=1.0)
        mark(f"recovered: {ok} ({time.monotonic() - healed_at:.0f} s after the 4xx ended)")
        worker.stop()
        messages = sink.messages
        outbox = db.outbox()
        losses = delivery_losses(db, messages, ids)
        figures = sink_figures(messages, [TEAM])
        bounce_rows = [o for o in outbox if o.recipient.lower() == bounce]
        failed_rows = [o for o in outbox if o.state == "failed"]
        # the team is told if a mail to the team names the refused recipient and is not a ticket notice
        told_rows = [o for o in outbox if not o.to_customer and o.kind != "team_notice"]
        notice_ids = {bare_id(o.message_id) for o in told_rows}
        told = [
            m
            for m in messages
            if TEAM in [r.lower() for r in m.rcpt_tos]
            and bounce.encode() in m.data
            and bare_id(_mid(m.data)) in notice_ids
        ]
        told_rows = [o for o in told_rows if bounce in o.raw.decode("utf-8", "replace")]
        told_subjects = [o.subject for o in told_rows]
        customers = Counter(
            r for m in messages for r in (x.lower() for x in m.rcpt_tos) if r != TEAM
        )  # mails per customer
        expected_customers = {
            (o.recipient.lower()) for o in outbox if o.to_customer and o.recipient.lower() != bounce
        }
        rejections = Counter(r.reply.split()[0] for r in sink.rejections)
        interrupted = worker.log_lines("delivery interrupted")
    result = {
        "mails_delivered": len(ids),
        "mails_ingested": losses["ingested"],
        "terminal": losses["terminal"],
        "lost": losses["lost"],
        "outbox": losses["outbox"],
        "outbox_sent_but_not_received": losses["outbox_sent_but_not_received"],
        "customers_expected": len(expected_customers),
        "customers_reached": sum(1 for c in expected_customers if customers[c] >= 1),
        "customers_with_more_than_one_mail": sorted(c for c, k in customers.items() if k > 1),
        "two_different_answers": figures["inbound_with_two_different_answers"],
        "byte_identical_resends": figures["resent_byte_identical"],
        "rejections_by_code": dict(rejections),
        "delivery_interrupted_log_lines": len(interrupted),
        "delivery_interrupted_examples": [line[:200] for line in interrupted[:3]],
        "outbox_attempts_max": losses["outbox_attempts_max"],
        "bounce_rows": [
            {"id": o.id, "kind": o.kind, "state": o.state, "attempts": o.attempts, "last_error": o.last_error}
            for o in bounce_rows
        ],
        "failed_rows": [{"id": o.id, "recipient": o.recipient, "kind": o.kind} for o in failed_rows],
        "team_told_about_5xx": bool(told),
        "team_notice_rows": [
            {"id": o.id, "state": o.state, "subject": o.subject, "recipient": o.recipient} for o in told_rows
        ],
        "team_notice_subjects": told_subjects,
        "team_mails_mentioning_bounce": len(told),
        "recovered": ok,
        "recovery_s_after_4xx_end": round(recovery_s, 1),
        "timeline": timeline,
        "outcomes": losses["outcomes"],
        "worker_log": log_problems(worker),
        "logs": keep_logs("smtp", worker),
    }
    table(
        "smtp: down, then 4xx, then 5xx for one recipient",
        [
            (
                "mails delivered / ingested / terminal",
                f"{len(ids)} / {losses['ingested']} / {losses['terminal']}",
            ),
            ("LOST (must be 0)", result["lost"]),
            ("outbox", result["outbox"]),
            (
                "customers reached / expected",
                f"{result['customers_reached']} / {result['customers_expected']}",
            ),
            ("customers with more than one mail", len(result["customers_with_more_than_one_mail"])),
            ("byte-identical re-sends", result["byte_identical_resends"]),
            ("SMTP refusals by code", result["rejections_by_code"]),
            ("passes that found the server down", result["delivery_interrupted_log_lines"]),
            ("max attempts of one row", result["outbox_attempts_max"]),
            (
                "5xx row(s)",
                [(b["state"], b["attempts"], (b["last_error"] or "")[:40]) for b in result["bounce_rows"]],
            ),
            ("team told about the 5xx", f"{result['team_told_about_5xx']} {told_subjects}"),
            ("recovered", f"{ok} ({result['recovery_s_after_4xx_end']} s after the 4xx phase ended)"),
            (
                "worker log",
                f"{result['worker_log']['tracebacks']} tracebacks, "
                f"{result['worker_log']['error_lines']} ERROR lines",
            ),
        ],
    )
    return result


def _all_attempted(db: Db, expected_rows_min: int) -> bool:
    if not db.exists():
        return False
    rows = db.outbox()
    c = db.counts()
    return (
        sum(c["inbound"].values()) >= expected_rows_min
        and all(s in TERMINAL for s in c["inbound"])
        and len(rows) > 0
        and all(o.attempts >= 1 for o in rows)
    )


# --- 3. imap ------------------------------------------------------------------------------------------


def imap(ctx: Ctx) -> dict[str, Any]:
    rng = random.Random(ctx.seed + 3)
    big, small = ctx.scale(200, 60), ctx.scale(20, 6)
    size = 60_000
    rounds: list[dict[str, Any]] = []
    ids: list[str] = []
    with dovecot_instance(ctx.dir("imap-dovecot")) as dovecot, FlakySink() as sink:
        user = dovecot.new_user()
        proxy = ImapProxy(dovecot.imap_port)

        def crash_restart_dovecot_of() -> None:
            crash_restart_dovecot(dovecot)

        worker, db = bot(ctx, "imap", dovecot, user, sink.port, imap_port=proxy.port)
        worker.start()
        worker.wait_ready()
        wait_for(lambda: "connected to" in worker.new_log(), 30, interval=0.2)

        def batch(count: int, prefix: str, attach: bool) -> list[bytes]:
            out = []
            for i in range(count):
                attachment = rng.randbytes(size) if attach else None
                mid, raw, _s = ctx.corpus.mail(
                    rng, f"{prefix}{i:03d}@customer.example.org", MIX[:3], attachment=attachment
                )
                ids.append(mid)
                out.append(raw)
            return out

        def settle(name: str, started: float, **extra: Any) -> None:
            ok, _took = wait_for(lambda: db.drained(ids), 180, interval=1.0)
            wait_for(lambda: folder_count(dovecot, user, "INBOX") == 0, 40, interval=1.0)
            rounds.append(
                {"round": name, "drained": ok, "seconds": round(time.monotonic() - started, 1), **extra}
            )
            print(f"  {name}: drained {ok} in {rounds[-1]['seconds']} s {extra}")

        def fetch_round(name: str, count: int, prefix: str, after: int, action: Any) -> None:
            """Append `count` big mails in one MULTIAPPEND (one EXISTS for the idling worker) and
            let the proxy do `action` once `after` bytes of the worker's next FETCH went through."""
            mails = batch(count, prefix, attach=True)
            before = len(proxy.events)
            proxy.arm(after, action)
            t = time.monotonic()
            with dovecot.imap_client(user) as client:
                client.multiappend("INBOX", mails)
            wait_for(lambda: len(proxy.events) > before, 60, interval=0.1)
            wait_for(lambda: dovecot.running, 30, interval=0.2)
            settle(name, t, event=proxy.events[-1] if len(proxy.events) > before else None)

        # 1. the connection is reset after ~2 MB of a big FETCH response
        fetch_round("connection reset mid-FETCH", big, "reset", 2_000_000, "cut")
        # 2. the connection goes silent mid-FETCH (half-open TCP): only the client's timeout helps
        fetch_round("connection stalls mid-FETCH", big // 2, "stall", 2_000_000, "stall")
        # 3. Dovecot crashes (every process SIGKILLed) mid-FETCH and is started again
        fetch_round("Dovecot crash + restart mid-FETCH", big, "crash", 1_000_000, crash_restart_dovecot_of)

        # 4. Dovecot crashes and restarts while the worker idles in IDLE, then new mail
        t = time.monotonic()
        crash_restart_dovecot(dovecot)
        lmtp_deliver(dovecot, user, batch(small, "idle", attach=False))
        settle("Dovecot crash + restart while idle", t)

        # 5. Graceful restart (SIGTERM to the master) while idle: logged-in sessions survive it
        t = time.monotonic()
        dovecot.restart()
        lmtp_deliver(dovecot, user, batch(small, "graceful", attach=False))
        settle("Dovecot graceful restart while idle", t)

        # 6. UIDVALIDITY change: INBOX comes back with everything it ever held (the Processed mails,
        #    restored) plus mail the worker never fetched, under a new UIDVALIDITY and new UIDs
        uidvalidity_before = dovecot.uidvalidity(user)
        t = time.monotonic()
        worker.pause()  # SIGSTOP: mail arrives that it has not fetched
        lmtp_deliver(dovecot, user, batch(small, "unfetched", attach=False))
        crash_dovecot(dovecot)
        restored = restore_inbox_with_new_uidvalidity(dovecot, user)
        dovecot.start()
        uidvalidity_after = dovecot.uidvalidity(user)
        worker.resume()
        lmtp_deliver(dovecot, user, batch(small, "afterwards", attach=False))
        settle(
            "UIDVALIDITY change", t, restored=restored, uidvalidity=[uidvalidity_before, uidvalidity_after]
        )
        worker.stop()
        proxy.close()
        messages = sink.messages
        losses = delivery_losses(db, messages, ids)
        figures = sink_figures(messages, [TEAM])
        inbox_left = folder_count(dovecot, user, "INBOX")
        processed = folder_count(dovecot, user, "Processed")
        quarantine = folder_count(dovecot, user, "Quarantine")
        rows = db.inbound()
        decided_twice = sum(c - 1 for c in Counter(bare_id(r.message_id) for r in rows).values() if c > 1)
        uid_log = worker.log_lines("UIDVALIDITY of")
        skipped_log = len(worker.log_lines("skipped imap:"))
    result = {
        "mails": len(ids),
        "mails_ingested": losses["ingested"],
        "terminal": losses["terminal"],
        "skipped_never_ingested": len(ids) - losses["ingested"],
        "lost": losses["lost"],
        "processed_twice_same_message_id_rows": decided_twice,
        "processed_twice_two_customer_answers": figures["inbound_with_two_different_answers"],
        "byte_identical_resends": figures["resent_byte_identical"],
        "duplicates_recognised_on_reingest": skipped_log,
        "inbox_left": inbox_left,
        "processed_folder": processed,
        "quarantine_folder": quarantine,
        "rounds": rounds,
        "proxy_events": proxy.events,
        "fetches_seen": proxy.fetches_seen,
        "uidvalidity_log": uid_log[:3],
        "outbox": losses["outbox"],
        "outcomes": losses["outcomes"],
        "quarantined": losses["quarantined"],
        "worker_log": log_problems(worker),
        "logs": keep_logs("imap", worker),
    }
    table(
        "imap: reset/stall/crash mid-FETCH, restarts while idle, UIDVALIDITY change",
        [
            ("mails appended/delivered", len(ids)),
            ("ingested / terminal", f"{losses['ingested']} / {losses['terminal']}"),
            ("SKIPPED, never ingested (must be 0)", result["skipped_never_ingested"]),
            (
                "processed twice: 2 customer answers (must be 0)",
                result["processed_twice_two_customer_answers"],
            ),
            ("byte-identical re-sends", result["byte_identical_resends"]),
            ("duplicates recognised after the UIDVALIDITY change", skipped_log),
            ("rounds", [(r["round"], r["drained"], r["seconds"]) for r in rounds]),
            ("INBOX / Processed / Quarantine", f"{inbox_left} / {processed} / {quarantine}"),
            ("outbox", result["outbox"]),
            (
                "worker log",
                f"{result['worker_log']['tracebacks']} tracebacks, "
                f"{result['worker_log']['error_lines']} ERROR lines",
            ),
        ],
    )
    return result


# --- 4. loops -----------------------------------------------------------------------------------------


def loops(ctx: Ctx) -> dict[str, Any]:
    bots = {
        "a": ("support-a@a.example", "team-a@a.example"),
        "b": ("support-b@b.example", "team-b@b.example"),
        "c": ("support-c@c.example", "team-c@c.example"),
        "d": ("support-d@d.example", "team-d@d.example"),
    }
    responder, fresh = "responder@helpdesk.example.net", "responder-fresh@helpdesk.example.net"
    address = {k: v[0] for k, v in bots.items()}
    teams = {v[1] for v in bots.values()}
    max_s, quiet_s = ctx.scale(240, 120), ctx.scale(25, 15)
    with dovecot_instance() as dovecot:
        relay = Relay(
            dovecot,
            mailboxes={a: a for a in address.values()},
            responders={responder: "threaded", fresh: "fresh"},
            strip_between=frozenset({address["c"], address["d"]}),
        )
        relay.start()
        workers: dict[str, tuple[Worker, Db]] = {}
        for key, (addr, team) in bots.items():
            workers[key] = bot(
                ctx,
                f"loops-{key}",
                dovecot,
                addr,
                relay.port,
                imap_port=dovecot.imap_port,
                support=addr,
                team=team,
                name=f"Support {key.upper()}",
            )
        for w, _db in workers.values():
            w.start()
        for w, _db in workers.values():
            w.wait_ready()
        question = "Hallo,\n\nich habe mein Passwort vergessen, wie komme ich wieder in mein Konto?\n\nGruß"
        unknown = "Hello,\n\ndo you sell gift cards for the yearly plan?\n\nRegards"
        kickoffs = {
            "b_writes_to_a": (address["b"], [address["a"]], "Passwort vergessen", question),
            "responder_threaded": (responder, [address["a"], address["b"]], "Passwort vergessen", question),
            "responder_fresh": (fresh, [address["a"], address["b"]], "Gift cards", unknown),
            "d_writes_to_c_gateway_strips_headers": (
                address["d"],
                [address["c"]],
                "Passwort vergessen",
                question,
            ),
        }
        for sender, rcpts, subject, body in kickoffs.values():
            _mid, raw = make_mail(sender, subject, body, to=", ".join(rcpts), domain="kickoff.example")
            relay.submit(sender, rcpts, raw)

        def quiet() -> bool:
            return relay.idle_for() >= quiet_s and all(db.drained() for _w, db in workers.values())

        settled, took = wait_for(quiet, max_s, interval=1.0)
        for w, _db in workers.values():
            w.stop()
        relay.stop()
        log = list(relay.log)
        per_pair = Counter((m.mail_from, m.rcpt, time.strftime("%Y-%m-%d", time.gmtime(m.at))) for m in log)
        per_sender = Counter((m.mail_from, time.strftime("%Y-%m-%d", time.gmtime(m.at))) for m in log)
        bot_addresses = set(address.values())
        automatic = {
            f"{s} -> {r} ({day})": c
            for (s, r, day), c in per_pair.items()
            if s in bot_addresses and r not in teams
        }
        stops: list[dict[str, Any]] = []
        per_bot: dict[str, Any] = {}
        for key, (_w, db) in workers.items():
            rows, outbox = db.inbound(), db.outbox()
            replied = defaultdict(int)
            for o in outbox:
                if o.to_customer and o.inbound_id is not None:
                    replied[o.inbound_id] += 1
            for r in rows:
                if not replied[r.id]:
                    hits = [h["name"] for h in (r.decision or {}).get("rule_hits", [])]
                    stops.append(
                        {
                            "bot": address[key],
                            "from": r.from_addr,
                            "subject": r.subject,
                            "outcome": r.outcome,
                            "rule_hits": hits,
                            "stopped_by": ", ".join(hits) if hits else _stop_reason(r, db),
                            "reason": r.reason,
                        }
                    )
            per_bot[address[key]] = {
                "inbound": len(rows),
                "outcomes": outcome_counts(rows),
                "customer_mails": sum(1 for o in outbox if o.to_customer),
                "team_mails": sum(1 for o in outbox if not o.to_customer),
                "tickets": len(db.tickets()),
            }
        logs = keep_logs("loops", *(w for w, _db in workers.values()))
        problems = log_problems(*(w for w, _db in workers.values()))
    bounded = all(c <= REPLY_CAP for c in automatic.values())
    result = {
        "kickoffs": {k: {"from": v[0], "to": v[1], "subject": v[2]} for k, v in kickoffs.items()},
        "settled": settled,
        "seconds_until_quiet": round(took, 1),
        "mails_exchanged": len(log),
        "per_sender_per_day": {f"{s} ({d})": c for (s, d), c in sorted(per_sender.items())},
        "per_pair_per_day": {f"{s} -> {r} ({d})": c for (s, r, d), c in sorted(per_pair.items())},
        "automatic_mails_bot_to_non_team_per_day": automatic,
        "bounded_by_cap": bounded,
        "cap": REPLY_CAP,
        "stops": stops,
        "per_bot": per_bot,
        "relay_errors": relay.errors,
        "messages": [
            {
                "t": round(m.at - log[0].at, 2) if log else 0,
                "from": m.mail_from,
                "to": m.rcpt,
                "subject": m.subject,
                "kind": m.kind,
                "loop_headers": m.auto_headers,
            }
            for m in log
        ],
        "worker_log": problems,
        "logs": logs,
    }
    table(
        "loops: 2 bot pairs + FreeScout-like responder (no Auto-Submitted)",
        [
            ("settled (quiet)", f"{settled} after {result['seconds_until_quiet']} s"),
            ("mails exchanged (all, incl. team)", len(log)),
            *[(f"sent by {k}", v) for k, v in result["per_sender_per_day"].items()],
            ("max automatic mails bot -> one address/day", max(automatic.values(), default=0)),
            (f"bounded (<= {REPLY_CAP}/sender/day)", bounded),
            *[
                (f"stop at {s['bot']}", f"from {s['from']}: {s['outcome']} by {s['stopped_by']}")
                for s in stops
            ],
            ("worker logs", f"{problems['tracebacks']} tracebacks, {problems['error_lines']} ERROR lines"),
        ],
    )
    return result


def _hit_names(row: Any) -> list[str]:
    return [h["name"] for h in (row.decision or {}).get("rule_hits", [])]


def _stop_reason(row: Any, db: Db) -> str:
    """No rule fired and no customer mail went out: name the decision (e.g. a follow-up to an
    escalated ticket only tells the team)."""
    decision = row.decision or {}
    action = decision.get("action", row.outcome)
    if action == "follow_up":
        return "ticket state (follow-up: team told, no automatic mail to the customer)"
    if action == "escalate" and decision.get("reply_to_customer") is False:
        return "decision: escalated without reply"
    return f"decision: {action}"


# --- 5. flood -----------------------------------------------------------------------------------------


def flood(ctx: Ctx) -> dict[str, Any]:
    rng = random.Random(ctx.seed + 5)
    n, window = ctx.scale(200, 40), ctx.scale(60, 15)
    sender = "flood@customer.example.org"
    with dovecot_instance() as dovecot, FlakySink() as sink:
        user = dovecot.new_user()
        worker, db = bot(ctx, "flood", dovecot, user, sink.port, imap_port=dovecot.imap_port)
        worker.start()
        worker.wait_ready()
        mails = [ctx.corpus.mail(rng, sender, MIX[:3]) for _ in range(n)]
        ids = [m for m, _r, _s in mails]
        started = time.monotonic()
        for i, (_mid, raw, _s) in enumerate(mails):
            dovecot.deliver_lmtp(user, raw, mail_from=sender)
            time.sleep(max(0.0, started + (i + 1) * window / n - time.monotonic()))
        sent_window = time.monotonic() - started
        ok, took = wait_for(lambda: db.drained(ids), 240, interval=1.0)
        worker.stop()
        messages = sink.messages
        rows = [r for r in db.inbound() if (r.from_addr or "").lower() == sender]
        outbox = db.outbox()
        tickets = [t for t in db.tickets() if t.customer == sender]
        to_sender = [m for m in messages if sender in [r.lower() for r in m.rcpt_tos]]
        to_team = [m for m in messages if TEAM in [r.lower() for r in m.rcpt_tos]]
        replied_rows = {o.inbound_id for o in outbox if o.to_customer}
        rest = Counter(
            f"{r.outcome}: {', '.join(_hit_names(r)) or 'no rule'}" for r in rows if r.id not in replied_rows
        )
        replied = Counter(f"{o.kind}" for o in outbox if o.to_customer)
        losses = delivery_losses(db, messages, ids)
    result = {
        "mails": n,
        "delivered_within_s": round(sent_window, 1),
        "mails_ingested": losses["ingested"],
        "lost": losses["lost"],
        "tickets_created": len(tickets),
        "automatic_replies_to_sender": len(to_sender),
        "automatic_replies_by_kind": dict(replied),
        "cap": REPLY_CAP,
        "capped": len(to_sender) <= REPLY_CAP,
        "outcomes": outcome_counts(rows),
        "rule_hits": rule_hit_counts(rows),
        "rest_without_reply": dict(rest),
        "team_mails": len(to_team),
        "drained": ok,
        "drain_s_after_last_mail": round(took, 1),
        "outbox": losses["outbox"],
        "worker_log": log_problems(worker),
        "logs": keep_logs("flood", worker),
    }
    table(
        f"flood: one sender, {n} mails in {result['delivered_within_s']} s",
        [
            ("mails ingested / lost", f"{result['mails_ingested']} / {result['lost']}"),
            ("tickets created", result["tickets_created"]),
            ("automatic replies to the sender", f"{len(to_sender)} {dict(replied)} (cap {REPLY_CAP})"),
            ("outcomes", result["outcomes"]),
            ("the rest (no reply)", result["rest_without_reply"]),
            ("mails to the team", result["team_mails"]),
            ("drained", f"{ok}, {result['drain_s_after_last_mail']} s after the last mail"),
            (
                "worker log",
                f"{result['worker_log']['tracebacks']} tracebacks, "
                f"{result['worker_log']['error_lines']} ERROR lines",
            ),
        ],
    )
    return result


SCENARIOS: dict[str, Callable[[Ctx], dict[str, Any]]] = {
    "crashes": crashes,
    "once": once,
    "smtp": smtp,
    "imap": imap,
    "loops": loops,
    "flood": flood,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", help=f"any of {', '.join(SCENARIOS)} (default: all)")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument(
        "--quick", action="store_true", help="scaled-down counts (not for the reported figures)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (configs, DBs, mail)"
    )
    parser.add_argument("--out", type=Path, default=OUT / "torture.json")
    args = parser.parse_args()
    names = args.scenarios or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        parser.error(f"unknown scenario(s) {unknown}; choose from {', '.join(SCENARIOS)}")
    tmp = Path(tempfile.mkdtemp(prefix="mailbot-torture-"))
    tmp.chmod(0o755)  # Dovecot's unprivileged processes traverse it
    started = time.monotonic()
    results: dict[str, Any] = {}
    try:
        ctx = Ctx(tmp, tmp / "model", args.seed, args.quick, Corpus())
        trainer = write_config(
            tmp / "train" / "mailbot.toml", imap_port=1, user="x", smtp_port=1, model_dir=ctx.model_dir
        )
        train_s = train_model(trainer, tmp / "train" / "train.log")
        print(f"model trained once in {train_s:.1f} s ({ctx.model_dir}); every worker start loads it")
        for name in names:
            t = time.monotonic()
            print(f"\n# {name}")
            results[name] = SCENARIOS[name](ctx)
            results[name]["scenario_s"] = round(time.monotonic() - t, 1)
            results[name]["run"] = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "seed": args.seed,
                "quick": args.quick,
                "command": "python bench/torture.py " + shlex.join(sys.argv[1:]),
            }
            print(f"  ({name}: {results[name]['scenario_s']} s)")
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        if results:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            previous = json.loads(args.out.read_text()) if args.out.exists() else {}
            previous.setdefault("scenarios", {}).update(results)
            previous["last_run"] = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "scenarios": names,
                "seed": args.seed,
                "quick": args.quick,
                "seconds": round(time.monotonic() - started, 1),
            }
            args.out.write_text(json.dumps(previous, indent=2, ensure_ascii=False, default=str) + "\n")
            print(f"\nfigures: {args.out} ({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
