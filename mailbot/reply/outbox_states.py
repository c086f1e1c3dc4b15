"""The outbox rows' state changes during delivery, each one short transaction.

claimed (`sending`, leased, an attempt counted) -> `sent` | `failed` (for good, the team is told in
the same transaction) | `pending` again with a backoff. A row whose worker dies while it is `sending`
is claimable again after its lease (mailbot.db.claims), so nothing claimed is ever lost.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, select, update
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.claims import claim_due_outbox
from mailbot.db.schema import OutboxMail, OutboxState

NOT_SENT = "not sent: "  # a failed row's error when mailbot never handed it to a server
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Capped exponential backoff with full jitter: 30 s, 60 s, 120 s ... at most one hour."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


@dataclass(frozen=True)
class Outgoing:
    """What sending one claimed row needs (loaded with its claim, in the same transaction)."""

    id: int
    kind: str
    mail_from: str
    recipient: str
    raw: bytes


@dataclass(frozen=True)
class Accepted:
    """A row the server took (its 250 reply), to be marked sent."""

    id: int
    kind: str
    recipient: str
    response: str


def settle_and_claim(
    sessions: sessionmaker[Session],
    mailbox: str,
    accepted: Sequence[Accepted],
    now: datetime,
    lease: timedelta,
    limit: int,
    claimant: int | None = None,
) -> list[Outgoing]:
    """In one transaction: mark the accepted rows sent (one statement), then claim up to `limit` due
    rows and load them, oldest first (for `claimant`, a fleet worker)."""
    with sessions.begin() as session:
        _mark_sent(session, accepted, now)
        ids = claim_due_outbox(session, mailbox, now, lease, limit, claimant) if limit > 0 else []
        if not ids:
            return []
        rows = session.execute(
            select(
                OutboxMail.id, OutboxMail.kind, OutboxMail.mail_from, OutboxMail.recipient, OutboxMail.raw
            ).where(OutboxMail.id.in_(ids))
        ).all()
    loaded = {row.id: Outgoing(row.id, row.kind, row.mail_from, row.recipient, row.raw) for row in rows}
    return [loaded[row_id] for row_id in ids if row_id in loaded]


def _mark_sent(session: Session, accepted: Sequence[Accepted], now: datetime) -> None:
    """Every accepted row sent, in one statement (executemany by primary key)."""
    if not accepted:
        return
    session.execute(
        update(OutboxMail),
        [
            {
                "id": row.id,
                "state": OutboxState.SENT,
                "sent_at": now,
                "smtp_response": row.response[:500],
                "lease_until": None,
            }
            for row in accepted
        ],
    )


def release(sessions: sessionmaker[Session], row_ids: Sequence[int], claimant: int | None = None) -> None:
    """Claimed rows that never reached the wire: back to pending, due as they were, the attempt their
    claim counted taken back. Only rows `claimant` still holds: a row a fleet's takeover gave to
    another worker meanwhile may be on its way out there."""
    if not row_ids:
        return
    with sessions.begin() as session:
        session.execute(
            update(OutboxMail)
            .where(OutboxMail.id.in_(row_ids), _held_by(claimant))
            .values(state=OutboxState.PENDING, lease_until=None, attempts=OutboxMail.attempts - 1)
            .execution_options(synchronize_session=False)
        )


def mark_failed(
    sessions: sessionmaker[Session],
    row_id: int,
    error: str,
    on_failed: Callable[[Session, OutboxMail], None] | None,
    *,
    claimant: int | None,
) -> bool:
    """For good: the row is failed with its reason, and `on_failed` (the team's notice) is written in
    the same transaction. False, and nothing changed, when `claimant` no longer holds the row."""
    with sessions.begin() as session:
        row = _still_claimed(session, row_id, claimant)
        if row is None:
            return False
        row.state = OutboxState.FAILED
        row.last_error = error[:2000]
        row.lease_until = None
        if on_failed is not None:
            on_failed(session, row)
    return True


def mark_deferred(
    sessions: sessionmaker[Session], row_id: int, error: str, now: datetime, *, claimant: int | None
) -> bool:
    """Back to pending, due again after the backoff for its attempts so far. False, and nothing
    changed, when `claimant` no longer holds the row."""
    with sessions.begin() as session:
        row = _still_claimed(session, row_id, claimant)
        if row is None:
            return False
        row.state = OutboxState.PENDING
        row.last_error = error[:2000]
        row.lease_until = None
        row.next_attempt_at = now + backoff(row.attempts)
    return True


def _still_claimed(session: Session, row_id: int, claimant: int | None) -> OutboxMail | None:
    """The row, locked, if `claimant` still holds its claim: a fleet's takeover may have given it to
    another worker, whose send must not be undone (a row put back to pending would go out again)."""
    row = select(OutboxMail).where(OutboxMail.id == row_id, _held_by(claimant))
    return session.scalar(row.with_for_update())


def _held_by(claimant: int | None) -> ColumnElement[bool]:
    """Still claimed for sending by `claimant` (a fleet worker's engine id; None outside a fleet)."""
    return and_(OutboxMail.state == OutboxState.SENDING, OutboxMail.claimed_by.is_not_distinct_from(claimant))


def still_sending(session: Session) -> list[int]:
    """Rows claimed for sending and not marked since (any mailbox of the database)."""
    return list(session.scalars(select(OutboxMail.id).where(OutboxMail.state == OutboxState.SENDING)))
