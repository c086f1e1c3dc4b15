"""What `mailbot status` shows of a fleet: who watches which mailbox, queue depths, the oldest
undecided mail. Read-only; None for a database no fleet worker ever ran on (SQLite, or no job tables)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState, MailboxWatch, OutboxMail
from mailbot.scaleout.timing import FleetTiming
from mailbot.status import UNSENT, short_time

UNDECIDED = (InboundState.RECEIVED, InboundState.PROCESSING)
# alive by the database's clock, the one the heartbeats were written with (not this machine's)
WORKERS = text(
    "SELECT id, last_heartbeat > now() - make_interval(secs => :seconds) AS alive FROM procrastinate_workers"
)
QUEUES = text(
    "SELECT queue_name, status, count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing') "
    "GROUP BY queue_name, status"
)


def live_fleet_workers(engine: Engine, timing: FleetTiming | None = None) -> int:
    """Fleet workers with a fresh heartbeat on this database (0 on SQLite or where none ever ran)."""
    if engine.dialect.name != "postgresql":
        return 0
    with Session(engine) as session:
        workers = fleet_workers(session, timing)
    return 0 if workers is None else sum(workers.values())


def fleet_workers(session: Session, timing: FleetTiming | None) -> dict[int, bool] | None:
    """Engine worker id -> whether its heartbeat is fresh; None where no fleet worker ever ran."""
    if not session.scalar(text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")):
        return None
    seconds = (timing or FleetTiming()).stalled_seconds
    return {int(row.id): bool(row.alive) for row in session.execute(WORKERS, {"seconds": seconds})}


def fleet_status(
    engine: Engine, mailboxes: Iterable[str], timing: FleetTiming | None = None
) -> dict[str, Any] | None:
    if engine.dialect.name != "postgresql":
        return None
    with Session(engine) as session:
        workers = fleet_workers(session, timing)
        if workers is None:
            return None
        alive = {worker for worker, fresh in workers.items() if fresh}
        queues: dict[str, dict[str, int]] = {}
        for queue, status, count in session.execute(QUEUES):
            queues.setdefault(str(queue), {})[str(status)] = int(count)
        holders = {row.mailbox: row for row in session.scalars(select(MailboxWatch))}
        boxes = {}
        for mailbox in sorted(mailboxes):
            undecided, oldest = session.execute(
                select(func.count(InboundMail.id), func.min(InboundMail.received_at)).where(
                    InboundMail.mailbox == mailbox, InboundMail.state.in_(UNDECIDED)
                )
            ).one()
            unsent = session.scalar(
                select(func.count(OutboxMail.id)).where(
                    OutboxMail.mailbox == mailbox, OutboxMail.state.in_(UNSENT)
                )
            )
            holder = holders.get(mailbox)
            boxes[mailbox] = {
                "watched_by": holder.worker if holder else None,
                "watched_since": holder.since.isoformat(timespec="seconds") if holder else None,
                "watcher_alive": bool(holder and holder.engine_worker_id in alive),
                "undecided": int(undecided),
                "oldest_undecided": oldest.isoformat(timespec="seconds") if oldest else None,
                "outbox_unsent": int(unsent or 0),
            }
    return {
        "workers": {"alive": len(alive), "stale": len(workers) - len(alive)},
        "mailboxes": boxes,
        "queues": queues,
    }


def format_fleet_status(status: dict[str, Any], now: datetime) -> str:
    workers = status["workers"]
    lines = [f"fleet: {workers['alive']} workers alive, {workers['stale']} without heartbeat"]
    for mailbox, box in status["mailboxes"].items():
        if box["watched_by"] is None:
            holder = "NOT WATCHED"
        else:
            since = short_time(datetime.fromisoformat(box["watched_since"]), now)
            holder = f"watched by {box['watched_by']} since {since}"
            if not box["watcher_alive"]:
                holder += " (NO HEARTBEAT: taken over soon)"
        oldest = box["oldest_undecided"]
        age = ""
        if oldest is not None:
            waited = (now - datetime.fromisoformat(oldest)).total_seconds()
            age = f", the oldest waiting {waited:.0f} s"
        waiting = f"{box['undecided']} undecided{age}; {box['outbox_unsent']} to send"
        lines.append(f"  mailbox {mailbox}: {holder}; {waiting}")
    queues = ", ".join(
        f"{queue} {'/'.join(f'{state} {n}' for state, n in sorted(states.items()))}"
        for queue, states in sorted(status["queues"].items())
    )
    lines.append(f"  job queues: {queues or 'empty'}")
    return "\n".join(lines)
