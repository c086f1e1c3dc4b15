"""Rows as the pipeline writes them, for tests of the SQL below it (claims, per-address counts)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, OutboxState

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
_numbers = count(1)


def migrated(database_url: str) -> sessionmaker[Session]:
    engine = make_engine(database_url)
    upgrade(engine)
    return make_session_factory(engine)


def inbound(
    session: Session,
    *,
    mailbox: str = "mb",
    received_at: datetime = NOW,
    state: str = InboundState.RECEIVED,
    from_addr: str | None = None,
    lease_until: datetime | None = None,
) -> InboundMail:
    number = next(_numbers)
    row = InboundMail(
        mailbox=mailbox, source_key=f"test:{number}", folder="INBOX", message_id=f"<{number}@test>",
        sha256=f"{number:064d}", fingerprint=f"{number:064d}", raw=b"Subject: x\r\n\r\nx", size=14,
        received_at=received_at, ingested_at=NOW, state=state, attempts=0, lease_until=lease_until,
        from_addr=from_addr,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def outbox(
    session: Session,
    recipient: str,
    *,
    mailbox: str = "mb",
    created_at: datetime = NOW,
    to_customer: bool = True,
    inbound_id: int | None = None,
    ticket_id: int | None = None,
    kind: str = "answer",
    state: str = OutboxState.PENDING,
    lease_until: datetime | None = None,
) -> OutboxMail:
    number = next(_numbers)
    row = OutboxMail(
        mailbox=mailbox, kind=kind, to_customer=to_customer, ticket_id=ticket_id, inbound_id=inbound_id,
        message_id=f"<out-{number}@test>", mail_from="support@example.com", recipient=recipient,
        subject="Re: x", raw=b"x", state=state, attempts=0, next_attempt_at=created_at,
        lease_until=lease_until, created_at=created_at,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row
