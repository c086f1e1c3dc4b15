"""Claims with a lease and an attempt counter, as Mailman's runners do.

A claim is one conditional UPDATE, so two workers (or a worker and its restarted self) can never
both hold an item: whoever's UPDATE matched the row owns it until the lease runs out. An item whose
worker died is claimable again after the lease; every claim counts an attempt.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState, OutboxMail, OutboxState


def claim_next_inbound(
    session: Session, mailbox: str, now: datetime, lease: timedelta, skip: Collection[int] = ()
) -> int | None:
    """Claim the oldest processable mail (arrival order) and return its id, or None."""
    claimable = or_(
        InboundMail.state == InboundState.RECEIVED,
        and_(InboundMail.state == InboundState.PROCESSING, InboundMail.lease_until < now),
    )
    while True:
        query = select(InboundMail.id).where(InboundMail.mailbox == mailbox, claimable)
        if skip:
            query = query.where(InboundMail.id.not_in(list(skip)))
        row_id = session.scalar(query.order_by(InboundMail.received_at, InboundMail.id).limit(1))
        if row_id is None:
            return None
        claimed = session.execute(
            update(InboundMail)
            .where(InboundMail.id == row_id, claimable)
            .values(
                state=InboundState.PROCESSING,
                lease_until=now + lease,
                attempts=InboundMail.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            return row_id


def claim_due_outbox(
    session: Session, mailbox: str, now: datetime, lease: timedelta, limit: int
) -> list[int]:
    """Claim up to `limit` outbox rows that are due, oldest first."""
    claimable = or_(
        and_(OutboxMail.state == OutboxState.PENDING, OutboxMail.next_attempt_at <= now),
        and_(OutboxMail.state == OutboxState.SENDING, OutboxMail.lease_until < now),
    )
    candidates = session.scalars(
        select(OutboxMail.id)
        .where(OutboxMail.mailbox == mailbox, claimable)
        .order_by(OutboxMail.id)
        .limit(limit)
    ).all()
    claimed: list[int] = []
    for row_id in candidates:
        result = session.execute(
            update(OutboxMail)
            .where(OutboxMail.id == row_id, claimable)
            .values(state=OutboxState.SENDING, lease_until=now + lease, attempts=OutboxMail.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount == 1:  # type: ignore[attr-defined]
            claimed.append(row_id)
    return claimed
