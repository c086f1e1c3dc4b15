"""Outbox rows queued in the caller's transaction but not written yet, and the reads that must see them.

Why: over a backlog (`run --once`), a batch's outgoing mail is composed in another process
(mailbot.reply.compose_pool) and its rows are written with their bytes in one INSERT when those come
back, just before the batch commits: one statement per batch instead of an INSERT per mail plus an UPDATE
per batch (issue 13). A read of the outbox later in the same batch must still see them (the team-notice
limit counts them; the per-address limits count a batch's rows in memory, mailbot.reply.counted_ahead,
and read through here when memory cannot say). So every read of the outbox that a decision makes first
calls `before_reading` with the rows it could see; if a waiting row is such a row, all of them are
written first, and the read runs on the database as it always did. The database stays the one source of
every count. Rows no read could see (another recipient, another customer) keep waiting, which is the
point.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import Protocol

from sqlalchemy import event
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, OutboxMail, Ticket

_KEY = "mailbot.pending_outbox"

Seen = Callable[[OutboxMail], bool]  # True for a row the read could count or return
_BECOME_PERSISTENT = ("pending_to_persistent", "detached_to_persistent", "loaded_as_persistent")


class PendingRows(Protocol):
    def write_if(self, session: Session, seen: Seen) -> None:
        """Write every waiting row (in `session`'s transaction) if one of them is `seen`."""
        ...


@contextmanager
def waiting_in(session: Session, rows: PendingRows | None) -> Iterator[None]:
    """While the block runs, reads in `session` call `rows.write_if` first (None: no rows wait).

    The objects the session loads or writes meanwhile are held, so that a read can tell from a
    waiting row's ticket or mail whether it could see the row: the session's identity map holds
    them weakly, and a decision's ticket is gone once its decision is (SQLAlchemy's "strong
    referencing" recipe, for the block only)."""
    if rows is None:
        yield
        return
    held: list[object] = []

    def hold(_session: Session, obj: object) -> None:
        held.append(obj)

    session.info[_KEY] = rows
    for name in _BECOME_PERSISTENT:
        event.listen(session, name, hold)
    try:
        yield
    finally:
        for name in _BECOME_PERSISTENT:
            event.remove(session, name, hold)
        session.info.pop(_KEY, None)


def before_reading(session: Session, seen: Seen) -> None:
    """Call before a read of the outbox in a decision; `seen` names the rows it could see."""
    rows: PendingRows | None = session.info.get(_KEY)
    if rows is not None:
        rows.write_if(session, seen)


def with_message_id(message_ids: Collection[str]) -> Seen:
    wanted = {message_id.strip() for message_id in message_ids}
    return lambda row: row.message_id in wanted


def with_dedup_key(dedup_key: str) -> Seen:
    return lambda row: row.dedup_key == dedup_key


def team_mail_of(ticket_id: int) -> Seen:
    return lambda row: row.ticket_id == ticket_id and not row.to_customer


def to_customer_counted(session: Session, recipient_key: str | None, sender_key: str | None) -> Seen:
    """Mail to a customer sent to `recipient_key`, or caused by a mail whose sender has `sender_key`
    (rule_context's two per-address counts)."""

    def seen(row: OutboxMail) -> bool:
        if not row.to_customer:
            return False
        if recipient_key is not None and row.recipient_key == recipient_key:
            return True
        return (
            sender_key is not None
            and row.inbound_id is not None
            and _known(session, InboundMail, row.inbound_id, "from_key", sender_key)
        )

    return seen


def team_notices_about(session: Session, customer: str) -> Seen:
    """Team notices on one of `customer`'s tickets (effects' team-notice limit)."""
    return lambda row: (
        row.kind == "team_notice"
        and row.ticket_id is not None
        and _known(session, Ticket, row.ticket_id, "customer", customer)
    )


def _known(session: Session, cls: type, row_id: int, attribute: str, value: object) -> bool:
    """Whether the loaded row `row_id` of `cls` has `value`; True when the session does not hold it
    loaded (the rows are written, and the database answers).

    The identity key is built as `identity_key` documents it, (class, primary key, token): the
    function itself costs ten times the lookup, and this runs for every waiting row before every
    per-address count (issue 13); tests/unit/test_pending_outbox_reads.py holds the two equal."""
    obj = session.identity_map.get((cls, (row_id,), None))
    if obj is None or attribute not in obj.__dict__:
        return True
    return bool(obj.__dict__[attribute] == value)
