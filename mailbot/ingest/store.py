"""Store raw mail before anything else happens to it: the one place inbound rows are created."""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState, Outcome
from mailbot.parse import message_id_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FetchedMail:
    source_key: str  # unique within the mailbox: imap:<folder>:<uidvalidity>:<uid> or maildir:<key>
    folder: str
    uidvalidity: int | None
    uid: int | None
    raw: bytes  # the whole message, or only its header when `too_large`
    received_at: datetime  # IMAP INTERNALDATE or Maildir delivery time
    size: int | None = None  # the whole message's size when `raw` is only the header
    too_large: str | None = None  # why the body was not taken: the row is quarantined at once


def store_mail(session: Session, mailbox: str, mail: FetchedMail, now: datetime) -> int | None:
    """Insert the mail; return its row id, or None when the mailbox already has it.

    The unique keys (source key, Message-ID, SHA-256) decide what is a duplicate, inside a savepoint,
    so that the rest of the caller's transaction (other mails, the watermark) still commits.
    """
    row = InboundMail(
        mailbox=mailbox,
        source_key=mail.source_key,
        folder=mail.folder,
        uidvalidity=mail.uidvalidity,
        uid=mail.uid,
        message_id=message_id_of(mail.raw),
        sha256=hashlib.sha256(mail.raw).hexdigest(),
        raw=mail.raw,
        size=mail.size if mail.size is not None else len(mail.raw),
        received_at=mail.received_at,
        ingested_at=now,
        state=InboundState.RECEIVED,
        attempts=0,
        source_done=False,
    )
    if mail.too_large:
        row.state, row.outcome, row.reason, row.processed_at = (
            InboundState.QUARANTINED, Outcome.QUARANTINED, mail.too_large, now
        )  # fmt: skip
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = session.scalar(
            select(InboundMail.id).where(
                InboundMail.mailbox == mailbox,
                or_(
                    InboundMail.source_key == row.source_key,
                    InboundMail.message_id == row.message_id,
                    InboundMail.sha256 == row.sha256,
                ),
            )
        )
        log.info(
            "skipped %s: already stored as inbound #%s (same source key, Message-ID or content)",
            mail.source_key,
            existing,
        )
        return None
    if mail.too_large:
        log.warning("inbound #%s quarantined at ingest: %s", row.id, mail.too_large)
    return row.id


TOO_LARGE_PREFIX = "too large:"


def too_large_reason(size: int, limit: int) -> str:
    return (
        f"{TOO_LARGE_PREFIX} {size} bytes, the limit is {limit} ([limits] max_message_bytes); "
        "only the header was stored, the whole mail stays on the server"
    )
