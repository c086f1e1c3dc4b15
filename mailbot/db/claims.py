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


def claim_inbound_batch(
    session: Session, mailbox: str, now: datetime, lease: timedelta, limit: int, skip: Collection[int] = ()
) -> list[int]:
    """Claim up to `limit` processable mails in arrival order, in one UPDATE; return their ids.

    A mail claimed before that has no outcome yet (its worker died or its processing failed) is a
    suspect and is claimed alone: a mail that kills its worker then uses up only its own attempts,
    never those of the mails that happened to be claimed with it.
    """
    claimable = or_(
        InboundMail.state == InboundState.RECEIVED,
        and_(InboundMail.state == InboundState.PROCESSING, InboundMail.lease_until < now),
    )
    query = select(InboundMail.id, InboundMail.attempts).where(InboundMail.mailbox == mailbox, claimable)
    if skip:
        query = query.where(InboundMail.id.not_in(list(skip)))
    candidates = session.execute(query.order_by(InboundMail.received_at, InboundMail.id).limit(limit)).all()
    wanted: list[int] = []
    for row_id, attempts in candidates:
        if attempts:
            wanted = wanted or [row_id]
            break
        wanted.append(row_id)
    if not wanted:
        return []
    claimed = session.scalars(
        update(InboundMail)
        .where(InboundMail.id.in_(wanted), claimable)
        .values(state=InboundState.PROCESSING, lease_until=now + lease, attempts=InboundMail.attempts + 1)
        .returning(InboundMail.id)
        .execution_options(synchronize_session=False)
    ).all()
    order = {row_id: index for index, row_id in enumerate(wanted)}
    return sorted(claimed, key=order.__getitem__)


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
