"""The mail server's copies of erased mails (issue 15): queued with the erasure, deleted when reachable.

What a crash or an outage can leave behind: a row of `folder_deletions` is written in the transaction
that erased its mail (`queue_folder_copies`), so an erasure never commits without it. The consumer
(`delete_queued_copies`) claims due rows with a lease (mailbot.db.claims: SKIP LOCKED on PostgreSQL,
so two workers never sweep one row), deletes the copies over one IMAP connection and records the
result; a server that is down or refuses the login leaves every row open with a backoff, and a worker
that dies mid-run leaves its rows due again when the lease runs out. A copy deleted just before a crash
is simply not found again (done, counted 0): nothing is deleted twice and nothing is lost.

`[privacy] folders` decides what is queued (`queues_folder_copy`), not what the consumer does: a row
once queued is carried out whatever the policy says later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.db.chunks import in_chunks
from mailbot.db.claims import claim_due_folder_deletions
from mailbot.db.schema import FolderDeletion, InboundMail
from mailbot.errors import TransientError
from mailbot.privacy.folder_copies import Queued, Sweep, safe_error, sweep
from mailbot.reply.outbox_states import backoff

if TYPE_CHECKING:  # mailbot.app wires this module in
    from mailbot.app import App

log = logging.getLogger(__name__)
BATCH = 50  # rows per claim: one SELECT, one SEARCH per row and one FETCH per folder
PASS_SECONDS = 30.0  # a run claims no new batch after this; the rest stays due for the next run
REASONS = ("erasure", "retention")

# [privacy] folders -> the reasons whose mails have their server copies deleted
_QUEUED_FOR = {
    "delete": frozenset(REASONS),  # on erasure and when retention runs out
    "leave": frozenset({"erasure"}),  # the mail server's own expiry handles age; a request still deletes
    "keep": frozenset(),  # an archive under a legal duty: the erasure lists the copies as kept
}


def queues_folder_copy(policy: str, reason: str) -> bool:
    """Whether a mail erased for `reason` ("erasure" or "retention") has its copies on the mail server
    queued for deletion under `[privacy] folders = policy`."""
    if policy not in _QUEUED_FOR:
        raise ValueError(f"[privacy] folders: {policy!r} is none of {', '.join(_QUEUED_FOR)}")
    if reason not in REASONS:
        raise ValueError(f"folder deletion reason {reason!r} is none of {', '.join(REASONS)}")
    return reason in _QUEUED_FOR[policy]


def queue_folder_copies(
    session: Session, mailbox: str, mails: Iterable[InboundMail], reason: str, now: datetime
) -> int:
    """Queue the server copies of `mails` for deletion, in the caller's transaction; return how many
    rows are new. Call it before the rows' Message-ID or hash are anonymised (they are copied here).

    Idempotent on (mailbox, inbound_id): a mail queued before (an erasure after retention, a command
    run twice, two at once) keeps its one row: the insert skips what exists (ON CONFLICT DO NOTHING on
    SQLite and PostgreSQL), so a second call neither fails nor duplicates.
    """
    if reason not in REASONS:
        raise ValueError(f"folder deletion reason {reason!r} is none of {', '.join(REASONS)}")
    rows = {
        mail.id: dict(
            mailbox=mailbox,
            inbound_id=mail.id,
            message_id=mail.message_id,
            sha256=mail.sha256,
            reason=reason,
            queued_at=now,
            attempts=0,
            next_attempt_at=now,
            deleted=0,
        )
        for mail in mails
        if mail.mailbox == mailbox
    }
    if not rows:
        return 0
    session.flush()  # the caller's pending changes first: the insert below is Core
    added = 0
    for chunk in in_chunks(sorted(rows)):
        values = [rows[inbound_id] for inbound_id in chunk]
        statement = _insert_ignoring_duplicates(session).values(values)
        if session.get_bind().dialect.insert_returning:  # psycopg's rowcount says 0 here
            added += len(session.execute(statement.returning(FolderDeletion.id)).all())
        else:  # SQLite before 3.35, whose rowcount is right
            added += max(session.execute(statement).rowcount, 0)  # type: ignore[attr-defined]
    return added


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT ... ON CONFLICT (mailbox, inbound_id) DO NOTHING, in the session's dialect (mailbot runs
    on SQLite and PostgreSQL, and both spell it alike)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
    return insert(FolderDeletion).on_conflict_do_nothing(index_elements=["mailbox", "inbound_id"])


@dataclass(frozen=True)
class FolderRun:
    """One run of the consumer, for the log and the caller (counts only: no Message-ID, no address)."""

    done: int = 0  # rows finished (their copies deleted, or none found)
    deleted: int = 0  # copies deleted on the server
    retry: int = 0  # rows left for a later attempt (server down, login refused, SEARCH refused)

    def __add__(self, other: FolderRun) -> FolderRun:
        return FolderRun(self.done + other.done, self.deleted + other.deleted, self.retry + other.retry)


def delete_queued_copies(app: App, now: datetime | None = None) -> FolderRun:
    """Delete the server copies queued for one client: due rows in batches, over one IMAP connection
    (opened only when a row is due), for at most PASS_SECONDS of claiming. Safe to call from any
    number of workers at once, and as often as the mail pass runs."""
    now = app.clock() if now is None else now
    imap = app.settings.imap
    if imap is None or not _any_due(app, now):
        return FolderRun()  # a Maildir client's copies are files the agency's own mail setup keeps
    from mailbot.ingest.imap import ImapSource  # deferred: imapclient, only when a row is due

    max_bytes = app.settings.limits.max_message_bytes
    source = ImapSource(imap, app.mailbox, app.sessions, app.clock, max_bytes=max_bytes)
    lease = timedelta(seconds=app.settings.limits.lease_seconds)
    total, started = FolderRun(), time.monotonic()
    try:
        while time.monotonic() - started < PASS_SECONDS:
            rows = _claim(app, now, lease)
            if not rows:
                break
            try:
                outcome = source.on_server(
                    partial(sweep, settings=imap, rows=rows, max_bytes=max_bytes), "sweep"
                )
            except TransientError as exc:  # down, login refused, connection lost: all of them later
                why = safe_error(str(exc))
                total += _record(app, rows, Sweep(refused={row.id: why for row in rows}), now)
                break
            total += _record(app, rows, outcome, now)
    finally:
        source.close()
    if total != FolderRun():
        log.info(
            "mail server copies of client %s: %d deleted for %d queued mails, %d to retry",
            app.mailbox,
            total.deleted,
            total.done,
            total.retry,
        )
    return total


def _any_due(app: App, now: datetime) -> bool:
    with app.sessions() as session:
        due = select(FolderDeletion.id).where(
            FolderDeletion.mailbox == app.mailbox,
            FolderDeletion.done_at.is_(None),
            FolderDeletion.next_attempt_at <= now,
        )
        return session.scalar(due.limit(1)) is not None


def _claim(app: App, now: datetime, lease: timedelta) -> list[Queued]:
    with app.sessions.begin() as session:
        ids = claim_due_folder_deletions(session, app.mailbox, now, lease, BATCH)
        if not ids:
            return []
        found = session.execute(
            select(FolderDeletion.id, FolderDeletion.message_id, FolderDeletion.sha256).where(
                FolderDeletion.id.in_(ids)
            )
        )
        return [Queued(row_id, message_id, sha256) for row_id, message_id, sha256 in found]


def _record(app: App, rows: Sequence[Queued], outcome: Sweep, now: datetime) -> FolderRun:
    """Finish the rows the sweep carried out, back off the refused ones; one transaction. A finished
    row keeps no Message-ID: it was needed to find the copy, nothing else."""
    done = deleted = retry = 0
    with app.sessions.begin() as session:
        for row in rows:
            count = outcome.deleted.get(row.id, 0)
            deleted += count
            query = update(FolderDeletion).where(FolderDeletion.id == row.id)
            error = outcome.refused.get(row.id)
            if error is None:
                done += 1
                session.execute(
                    query.values(
                        done_at=now, deleted=FolderDeletion.deleted + count, message_id="", last_error=None
                    )
                )
                continue
            retry += 1
            attempts = session.scalar(select(FolderDeletion.attempts).where(FolderDeletion.id == row.id)) or 1
            session.execute(
                query.values(
                    next_attempt_at=now + backoff(attempts),
                    deleted=FolderDeletion.deleted + count,
                    last_error=error,
                )
            )
    return FolderRun(done, deleted, retry)
