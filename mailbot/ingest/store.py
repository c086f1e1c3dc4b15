"""Store raw mail before anything else happens to it: the one place inbound rows are created."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState, Outcome, SkippedDuplicate
from mailbot.ingest.keys import ContentKeys, content_keys
from mailbot.parse.core import derived_message_id

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

    The unique keys (source key, the bytes' SHA-256, the content fingerprint of ingest.keys) decide
    what is a duplicate, inside a savepoint, so that the rest of the caller's transaction (other
    mails, the watermark) still commits. A mail the database refuses for any other reason is stored
    quarantined with that reason, bytes kept: one mail fails alone, never the batch after it.
    """
    keys = content_keys(mail.raw)
    row = _row(mailbox, mail, keys, now)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return _skip_duplicate(session, mailbox, mail, keys, now)
    except SQLAlchemyError as exc:
        log.error("inbound %s could not be stored as received (%s); storing it quarantined",
                  mail.source_key, type(exc).__name__)  # fmt: skip
        row = _row(mailbox, mail, keys, now)
        row.message_id = derived_message_id(mail.raw)
        reason = f"could not be stored as received: {type(exc).__name__}: {_first_line(exc)}"
        row.state, row.outcome, row.reason, row.processed_at = (
            InboundState.QUARANTINED, Outcome.QUARANTINED, reason[:2000], now
        )  # fmt: skip
        with session.begin_nested():
            session.add(row)
        return row.id
    if mail.too_large:
        log.warning("inbound #%s quarantined at ingest: %s", row.id, mail.too_large)
    return row.id


def store_batch(session: Session, mailbox: str, mails: Sequence[FetchedMail], now: datetime) -> int:
    """`store_mail` for each mail, in order; how many of them were stored (the rest the mailbox had).

    New mail, the usual case, is inserted in one savepoint with one executemany for the whole batch,
    without ORM objects (a savepoint, an ORM flush with its INSERT and a release per mail cost ~0.5 ms
    of a mail's ~0.6 ms at ingest). Should the database refuse any of them (a duplicate key,
    anything else), that savepoint is rolled back and the batch is stored one by one with
    `store_mail`, so that each duplicate is recorded and each refused mail is quarantined alone.
    """
    if not mails:
        return 0
    values = [_values(_row(mailbox, mail, content_keys(mail.raw), now)) for mail in mails]
    try:
        with session.begin_nested():
            session.execute(insert(InboundMail.__table__), values)  # Core: one statement, all columns
    except SQLAlchemyError:  # rolled back to the savepoint: nothing of the batch is stored
        return sum(store_mail(session, mailbox, mail, now) is not None for mail in mails)
    too_large = {mail.source_key[:400]: mail.too_large for mail in mails if mail.too_large}
    if too_large:  # rare: their ids are asked for the log line
        for row_id, source_key in session.execute(
            select(InboundMail.id, InboundMail.source_key).where(
                InboundMail.mailbox == mailbox, InboundMail.source_key.in_(list(too_large))
            )
        ):
            log.warning("inbound #%s quarantined at ingest: %s", row_id, too_large[source_key])
    return len(mails)


def _values(row: InboundMail) -> dict[str, object]:
    """Every column of the (unsaved) row, as an executemany wants them: the same keys for every mail,
    a column's default where the row leaves it unset (as the ORM's INSERT would)."""
    values: dict[str, object] = {}
    for column in InboundMail.__table__.columns:
        if column.primary_key:
            continue
        value = getattr(row, column.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg  # type: ignore[attr-defined]
        values[column.key] = value
    return values


def _row(mailbox: str, mail: FetchedMail, keys: ContentKeys, now: datetime) -> InboundMail:
    row = InboundMail(
        mailbox=mailbox,
        source_key=mail.source_key[:400],
        folder=mail.folder,
        uidvalidity=mail.uidvalidity,
        uid=mail.uid,
        message_id=keys.message_id,
        sha256=keys.sha256,
        fingerprint=keys.fingerprint,
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
    return row


def _skip_duplicate(
    session: Session, mailbox: str, mail: FetchedMail, keys: ContentKeys, now: datetime
) -> None:
    """Record a true duplicate (counted by `mailbot status`); a source key seen again is no news."""
    same_source = session.scalar(
        select(InboundMail.id).where(
            InboundMail.mailbox == mailbox, InboundMail.source_key == mail.source_key
        )
    )
    if same_source is not None:
        return None
    existing, matched_by = _duplicate_of(session, mailbox, keys)
    with session.begin_nested():
        session.add(
            SkippedDuplicate(
                mailbox=mailbox, source_key=mail.source_key[:400], duplicate_of=existing,
                matched_by=matched_by, at=now,
            )
        )  # fmt: skip
    log.info("skipped %s: a duplicate of inbound #%s (same %s)", mail.source_key, existing, matched_by)
    return None


def _duplicate_of(session: Session, mailbox: str, keys: ContentKeys) -> tuple[int | None, str]:
    keyed = (
        ("content", InboundMail.sha256, keys.sha256),
        ("fingerprint", InboundMail.fingerprint, keys.fingerprint),
    )
    for matched_by, column, value in keyed:
        found = session.scalar(select(InboundMail.id).where(InboundMail.mailbox == mailbox, column == value))
        if found is not None:
            return found, matched_by
    return None, "unknown"  # the insert failed on a key that a concurrent worker has since released


def _first_line(exc: Exception) -> str:
    return (str(getattr(exc, "orig", None) or exc).splitlines() or [""])[0][:300]


TOO_LARGE_PREFIX = "too large:"


def too_large_reason(size: int, limit: int) -> str:
    return (
        f"{TOO_LARGE_PREFIX} {size} bytes, the limit is {limit} ([limits] max_message_bytes); "
        "only the header was stored, the whole mail stays on the server"
    )
