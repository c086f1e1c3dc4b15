"""Claims with a lease and an attempt counter, as Mailman's runners do.

A claim is one conditional UPDATE, so two workers (or a worker and its restarted self) can never
both hold an item: whoever's UPDATE matched the row owns it until the lease runs out. An item whose
worker died is claimable again after the lease; every claim counts an attempt.

A batch is claimed in one statement where the database can say which rows it took (PostgreSQL: `WITH
picked AS (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED) UPDATE ... FROM picked ... RETURNING id`, skipping
rows another worker is claiming right now; SQLite: `UPDATE ... WHERE id IN (SELECT ... LIMIT n)
RETURNING id`, one writer at a time); elsewhere each candidate gets its own conditional UPDATE. Each query
names one state, so it walks an index in the order it returns (`ix_inbound_mail_claim`: mailbox, state,
arrival) instead of sorting the mailbox; mail whose lease ran out is looked for by its own query.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, tuple_, update
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState, OutboxMail, OutboxState


def claim_inbound_batch(
    session: Session,
    mailbox: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    after: int | None = None,
    *,
    outside_hours: bool = False,
) -> list[int]:
    """Claim up to `limit` processable mails and return their ids in arrival order.

    `after`: the last id a pass claimed before; only mail that arrived after it is taken, so a pass
    looks at each mail once (one that failed or was left waiting is not taken again in the same pass)
    without carrying the ids it tried. Mail whose worker's lease ran out comes first: it waited longest.
    `outside_hours`: mail left waiting for an opening still to come (`deferred_until` after `now`) is
    not taken (mailbot.pipeline.deferral).
    """
    return _claim_inbound(session, mailbox, now, lease, limit, after, (), outside_hours)


def claim_next_inbound(
    session: Session, mailbox: str, now: datetime, lease: timedelta, skip: Collection[int] = ()
) -> int | None:
    """Claim the oldest processable mail (arrival order) and return its id, or None."""
    claimed = _claim_inbound(session, mailbox, now, lease, 1, None, skip, False)
    return claimed[0] if claimed else None


def _claim_inbound(
    session: Session,
    mailbox: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    after: int | None,
    skip: Collection[int],
    outside_hours: bool,
) -> list[int]:
    expired = and_(InboundMail.state == InboundState.PROCESSING, InboundMail.lease_until < now)
    waiting = InboundMail.state == InboundState.RECEIVED
    if outside_hours:
        waiting = and_(waiting, or_(InboundMail.deferred_until.is_(None), InboundMail.deferred_until <= now))
    values = {
        "state": InboundState.PROCESSING,
        "lease_until": now + lease,
        "attempts": InboundMail.attempts + 1,
    }
    not_tried = InboundMail.id.not_in(list(skip)) if skip else None  # built once: O(len(skip)) to build
    claimed: list[tuple[int, datetime]] = []
    for claimable in (expired, waiting):
        if len(claimed) >= limit:
            break
        query = select(InboundMail.id).where(InboundMail.mailbox == mailbox, claimable)
        if after is not None:
            mark = select(InboundMail.received_at).where(InboundMail.id == after).scalar_subquery()
            query = query.where(tuple_(InboundMail.received_at, InboundMail.id) > tuple_(mark, after))
        if not_tried is not None:
            query = query.where(not_tried)
        query = query.order_by(InboundMail.received_at, InboundMail.id).limit(limit - len(claimed))
        claimed += _claim(session, InboundMail, query, claimable, values, InboundMail.received_at)
    return [row_id for row_id, _ in sorted(claimed, key=lambda pair: (pair[1], pair[0]))]


def claim_due_outbox(
    session: Session, mailbox: str, now: datetime, lease: timedelta, limit: int
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
    values = {"state": OutboxState.SENDING, "lease_until": now + lease, "attempts": OutboxMail.attempts + 1}
    claimed = _claim(session, OutboxMail, query.limit(limit), claimable, values, OutboxMail.id)
    return sorted(row_id for row_id, _ in claimed)


def _claim(
    session: Session,
    table: type[InboundMail] | type[OutboxMail],
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
