"""Claims with a lease and an attempt counter, as Mailman's runners do.

A claim is one conditional UPDATE, so two workers (or a worker and its restarted self) can never
both hold an item: whoever's UPDATE matched the row owns it until the lease runs out. An item whose
worker died is claimable again after the lease; every claim counts an attempt.

A batch is claimed in one statement where the database can say which rows it took (PostgreSQL: `WITH
picked AS (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED) UPDATE ... FROM picked ... RETURNING id`, skipping
rows another worker is claiming right now; SQLite: `UPDATE ... WHERE id IN (SELECT ... LIMIT n)
RETURNING id`, one writer at a time); elsewhere each candidate gets its own conditional UPDATE. Each query
names one state, so it walks an index in the order it returns (`ix_inbound_mail_claim`: mailbox, state,
attempts, arrival) instead of sorting the mailbox; suspects (mail claimed before, still undecided) are
looked for by their own queries and claimed alone.

In a fleet, each claim also names its holder (`claimed_by`, the worker's id in the job engine): when a
worker dies, the takeover job frees what it held at once (`release_claims_of_the_dead`) instead of
leaving it to its lease. A worker that was only slow has ended its sessions before that
(mailbot.scaleout.run's fence).

That fence is a matter of time, and a worker starved of CPU or paused can miss it. So a claim's lease
end (`now + lease`, never renewed) is also its token: a takeover ends the lease, a later claim writes
its own, and whoever acts on a claimed row checks in the acting transaction that the row still
carries its token (`held`), with the row locked until its commit. A worker that lost its claims
decides none of them, whatever the clocks did.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from mailbot.db.schema import FolderDeletion, InboundMail, InboundState, OutboxMail, OutboxState


def nobody() -> int | None:
    """The claimant outside a fleet, or between two lives of a fleet worker."""
    return None


@dataclass
class Claimant:
    """Who takes a process's claims: while a fleet worker is a member of the fleet, its id in the job
    engine (mailbot.scaleout.run points `current` at it); otherwise nobody in particular (None)."""

    current: Callable[[], int | None] = nobody


def claim_inbound_batch(
    session: Session,
    mailbox: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    skip: Collection[int] = (),
    *,
    outside_hours: bool = False,
    claimant: int | None = None,
) -> list[int]:
    """Claim up to `limit` processable mails and return their ids in arrival order.

    A mail claimed before that has no outcome yet (its worker died, its lease ran out, or its
    processing failed) is a suspect and is claimed alone, before any other: a mail that kills its
    worker then uses up only its own attempts, never those of the mails claimed with it.
    `skip`: mail a pass already looked at and left undecided (failed, or waiting), not taken again in
    the same pass. `outside_hours`: mail left waiting for an opening still to come (`deferred_until`
    after `now`) is not taken (mailbot.pipeline.deferral). `claimant`: the fleet worker that claims.
    """
    expired = and_(InboundMail.state == InboundState.PROCESSING, InboundMail.lease_until < now)
    waiting = InboundMail.state == InboundState.RECEIVED
    if outside_hours:
        waiting = and_(waiting, or_(InboundMail.deferred_until.is_(None), InboundMail.deferred_until <= now))
    values = {
        "state": InboundState.PROCESSING,
        "lease_until": now + lease,
        "attempts": InboundMail.attempts + 1,
        "claimed_by": claimant,
    }
    not_tried = InboundMail.id.not_in(list(skip)) if skip else None  # built once: O(len(skip)) to build
    # suspects one at a time (fewest attempts first: the index's order), then fresh mail in arrival order
    steps = (
        (expired, 1, False),
        (and_(waiting, InboundMail.attempts > 0), 1, False),
        (and_(waiting, InboundMail.attempts == 0), limit, True),
    )
    for claimable, most, in_arrival_order in steps:
        query = select(InboundMail.id).where(InboundMail.mailbox == mailbox, claimable)
        if not_tried is not None:
            query = query.where(not_tried)
        if in_arrival_order:
            query = query.order_by(InboundMail.received_at, InboundMail.id)
        claimed = _claim(session, InboundMail, query.limit(most), claimable, values, InboundMail.received_at)
        if claimed:
            return [row_id for row_id, _ in sorted(claimed, key=lambda pair: (pair[1], pair[0]))]
    return []


def claim_due_outbox(
    session: Session, mailbox: str, now: datetime, lease: timedelta, limit: int, claimant: int | None = None
) -> list[int]:
    """Claim up to `limit` outbox rows that are due, oldest first. The states are named as a list too,
    so the query reads the unsent rows from `ix_outbox_state` and never the mail sent long ago."""
    claimable = and_(
        OutboxMail.state.in_([OutboxState.PENDING, OutboxState.SENDING]),
        or_(
            and_(OutboxMail.state == OutboxState.PENDING, OutboxMail.next_attempt_at <= now),
            and_(OutboxMail.state == OutboxState.SENDING, OutboxMail.lease_until < now),
        ),
    )
    query = select(OutboxMail.id).where(OutboxMail.mailbox == mailbox, claimable).order_by(OutboxMail.id)
    values = {
        "state": OutboxState.SENDING,
        "lease_until": now + lease,
        "attempts": OutboxMail.attempts + 1,
        "claimed_by": claimant,
    }
    claimed = _claim(session, OutboxMail, query.limit(limit), claimable, values, OutboxMail.id)
    return sorted(row_id for row_id, _ in claimed)


def claim_due_folder_deletions(
    session: Session, mailbox: str, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    """Claim up to `limit` open folder deletions that are due, oldest first (mailbot.privacy.folders).

    The table has no lease column: the claim moves `next_attempt_at` to the end of the lease, so the
    row is not due for anyone else until then, and a worker that died leaves it due again after it."""
    claimable = and_(FolderDeletion.done_at.is_(None), FolderDeletion.next_attempt_at <= now)
    query = select(FolderDeletion.id).where(FolderDeletion.mailbox == mailbox, claimable)
    query = query.order_by(FolderDeletion.id).limit(limit)
    values = {"next_attempt_at": now + lease, "attempts": FolderDeletion.attempts + 1}
    claimed = _claim(session, FolderDeletion, query, claimable, values, FolderDeletion.id)
    return sorted(row_id for row_id, _ in claimed)


def held(table: type[InboundMail] | type[OutboxMail], lease_until: datetime) -> ColumnElement[bool]:
    """The row is still claimed by the claim that wrote `lease_until` (see the module's docstring)."""
    claimed = InboundState.PROCESSING if table is InboundMail else OutboxState.SENDING
    return and_(table.state == claimed, table.lease_until == lease_until)


def release_inbound(session: Session, row_ids: Collection[int], lease_until: datetime) -> int:
    """Give back mail this claim took and did not decide (its worker is stopping): waiting again at
    once, as before the claim, which counted no attempt."""
    if not row_ids:
        return 0
    back = update(InboundMail).where(InboundMail.id.in_(sorted(row_ids)), held(InboundMail, lease_until))
    values = {
        "state": InboundState.RECEIVED,
        "lease_until": None,
        "claimed_by": None,
        "attempts": InboundMail.attempts - 1,
    }
    return session.execute(back.values(values)).rowcount


@dataclass(frozen=True)
class Released:
    mails: int  # inbound mail claimed but not decided
    replies: int  # outbox rows claimed but not sent


def release_claims_of_the_dead(
    session: Session, mailboxes: Collection[str], alive: Collection[int], newest: int, now: datetime
) -> Released:
    """End the leases held in these mailboxes by fleet workers that are not `alive`: their mail and
    replies are claimable again now, as after their lease, so a mail among them that killed its worker
    is still claimed alone (a suspect).

    Dead is every worker id up to `newest` (the highest id registered when `alive` was read) that is
    not alive: the engine forgets a dead worker when any worker starts, so a list of the dead would
    miss most of them, and a worker registered after that read is never taken for dead."""
    if not mailboxes:
        return Released(0, 0)
    counts = []
    for table, state in ((InboundMail, InboundState.PROCESSING), (OutboxMail, OutboxState.SENDING)):
        by_the_dead = and_(
            table.mailbox.in_(sorted(mailboxes)),  # the claim index: mailbox, state
            table.state == state,
            table.lease_until > now,
            table.claimed_by <= newest,
        )
        if alive:
            by_the_dead = and_(by_the_dead, table.claimed_by.not_in(sorted(alive)))
        # rows locked now are in a decision's transaction (mailbot.pipeline.process locks its batch):
        # skipped, never waited for. A paused worker holding them would stall the takeover, and its
        # commit makes them decided; should it die instead, its transaction ends and the next turn frees them
        unlocked = select(table.id).where(by_the_dead).with_for_update(skip_locked=True)
        counts.append(
            session.execute(update(table).where(table.id.in_(unlocked)).values(lease_until=now)).rowcount
        )
    return Released(*counts)


def _claim(
    session: Session,
    table: type[InboundMail] | type[OutboxMail] | type[FolderDeletion],
    candidates: Any,
    claimable: ColumnElement[bool],
    values: dict[str, Any],
    order: Any,
) -> list[tuple[int, Any]]:
    """Set `values` on the rows of `candidates` that are still `claimable`; return (id, `order`) of
    the rows this statement took. The condition is checked again by the UPDATE itself: a row another
    worker took in between is not matched, so it is never claimed twice."""
    claim = update(table).where(claimable).values(values)
    connection = session.connection()  # Core: the ORM has nothing to synchronise, ids are all we need
    if connection.dialect.name == "sqlite" and connection.dialect.update_returning:
        # SQLite runs one writer at a time. Not the CTE below: Python's sqlite3 opens its implicit
        # transaction only before a statement that starts with UPDATE (not WITH), so a `WITH ... UPDATE`
        # would commit on its own, outside the caller's transaction.
        returned = connection.execute(claim.where(table.id.in_(candidates)).returning(table.id, order))
        return [(row_id, key) for row_id, key in returned]
    if connection.dialect.update_returning:
        # a CTE is evaluated once; as an `IN (subquery)` PostgreSQL may run it again for a row it
        # re-checks and take more than `limit` rows. SKIP LOCKED: rows other workers are claiming.
        picked = candidates.with_for_update(skip_locked=True).cte("picked")
        returned = connection.execute(claim.where(table.id == picked.c.id).returning(table.id, order))
        return [(row_id, key) for row_id, key in returned]
    taken: list[tuple[int, Any]] = []
    for row_id, key in connection.execute(candidates.add_columns(order)).all():
        if connection.execute(claim.where(table.id == row_id)).rowcount == 1:
            taken.append((row_id, key))
    return taken
