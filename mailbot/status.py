"""What `mailbot status` shows: counts per state, and every item that needs a human, with its reason.

Also whether the mailbox is open by the business calendar and how much waits: mail stored but not yet
decided, and outbox mail not yet sent (with why and when it is tried next), so that a quiet
`run --once` on a Saturday reads as "closed", not as "broken". Only the database is read.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.clock import BusinessCalendar

if TYPE_CHECKING:
    from mailbot.app import App
from mailbot.db.schema import (
    EscalationJob,
    FolderDeletion,
    InboundMail,
    InboundState,
    JobState,
    OutboxMail,
    OutboxState,
    SkippedDuplicate,
    Ticket,
)
from mailbot.terminal import safe_cell

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
UNSENT = (OutboxState.PENDING, OutboxState.SENDING)  # a pending row with attempts > 0 is deferred


def count_waiting(session: Session, mailbox: str) -> int:
    """Mail stored but not yet decided (outside business hours it waits for the opening)."""
    found = session.scalar(
        select(func.count(InboundMail.id)).where(
            InboundMail.mailbox == mailbox, InboundMail.state == InboundState.RECEIVED
        )
    )
    return int(found or 0)


def short_time(at: datetime, now: datetime) -> str:
    """The time as "Mon 7 Dec 08:00 CET" (with the year when not this year's), in every locale."""
    year = f" {at.year}" if at.year != now.astimezone(at.tzinfo).year else ""
    day = f"{_DAYS[at.weekday()]} {at.day} {_MONTHS[at.month - 1]}{year}"
    return f"{day} {at:%H:%M} {at.tzname() or ''}".strip()


def availability(
    calendar: BusinessCalendar, now: datetime, waiting: int, outside_hours: str = "wait"
) -> dict[str, Any]:
    """Open now or closed until when, and how many stored mails wait to be decided."""
    is_open = calendar.is_open(now)
    opening = None if is_open else calendar.next_opening(now)
    return {
        "open": is_open,
        "next_opening": None if opening is None else opening.isoformat(timespec="minutes"),
        "waiting": waiting,
        "outside_hours": outside_hours,
    }


def availability_line(
    is_open: bool, opening: datetime | None, waiting: int, outside_hours: str, now: datetime
) -> str:
    """The status line: "closed until Mon 7 Dec 08:00 CET, 3 mails waiting" and the like."""
    mails = f"{waiting} mail{'' if waiting == 1 else 's'} waiting"
    if is_open:
        return f"open, {mails}"
    if opening is None:
        return f"closed: the business calendar never opens ([business_hours]), {mails}"
    line = f"closed until {short_time(opening, now)}, {mails}"
    if outside_hours == "wait":
        line += " (new mail stays in the mailbox until then)"
    return line


def availability_now(app: App) -> tuple[bool, str]:
    """Whether the client is open with nothing waiting (nothing worth saying), and the status line."""
    now = app.clock()
    with app.sessions() as session:
        waiting = count_waiting(session, app.mailbox)
    is_open = app.calendar.is_open(now)
    opening = None if is_open else app.calendar.next_opening(now)
    mode = app.settings.business_hours.outside_hours
    return is_open and not waiting, availability_line(is_open, opening, waiting, mode, now)


def collect_status(
    session: Session,
    mailbox: str,
    calendar: BusinessCalendar | None = None,
    now: datetime | None = None,
    outside_hours: str = "wait",
) -> dict[str, Any]:
    """Everything `mailbot status` shows; `open`/`next_opening` only when a calendar and `now` are given."""

    def counts(column: Any, model: Any) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(model.mailbox == mailbox).group_by(column))
        return {str(state): int(count) for state, count in rows if state is not None}

    quarantined = [
        {
            "kind": "inbound",
            "id": row.id,
            "from": row.from_addr,
            "subject": row.subject,
            "message_id": row.message_id,
            "received_at": row.received_at.isoformat(),
            "reason": row.reason,
        }
        for row in session.scalars(
            select(InboundMail)
            .where(InboundMail.mailbox == mailbox, InboundMail.state == InboundState.QUARANTINED)
            .order_by(InboundMail.id)
        )
    ]
    failed = [
        {
            "kind": "outbox",
            "id": row.id,
            "mail_kind": row.kind,
            "recipient": row.recipient,
            "subject": row.subject,
            "attempts": row.attempts,
            "reason": row.last_error,
        }
        for row in session.scalars(
            select(OutboxMail)
            .where(OutboxMail.mailbox == mailbox, OutboxMail.state == OutboxState.FAILED)
            .order_by(OutboxMail.id)
        )
    ]
    failed += [
        {
            "kind": "escalation",
            "id": row.id,
            "backend": row.backend,
            "event": row.event,
            "attempts": row.attempts,
            "reason": row.last_error,
        }
        for row in session.scalars(
            select(EscalationJob)
            .where(EscalationJob.mailbox == mailbox, EscalationJob.state == JobState.FAILED)
            .order_by(EscalationJob.id)
        )
    ]
    zone = calendar.zone if calendar is not None else None
    pending_outbox = [
        {
            "kind": "outbox",
            "id": row.id,
            "mail_kind": row.kind,
            "recipient": row.recipient,
            "subject": row.subject,
            "state": row.state,
            "attempts": row.attempts,
            "next_attempt_at": (
                row.next_attempt_at.astimezone(zone) if zone else row.next_attempt_at
            ).isoformat(timespec="seconds"),
            "last_error": row.last_error,
        }
        for row in session.scalars(
            select(OutboxMail)
            .where(OutboxMail.mailbox == mailbox, OutboxMail.state.in_(UNSENT))
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
        )
    ]
    duplicates = session.scalar(
        select(func.count(SkippedDuplicate.id)).where(SkippedDuplicate.mailbox == mailbox)
    )
    breached = session.scalar(
        select(func.count(Ticket.id)).where(Ticket.mailbox == mailbox, Ticket.sla_breached_at.is_not(None))
    )
    status: dict[str, Any] = {
        "mailbox": mailbox,
        "inbound": counts(InboundMail.state, InboundMail),
        "outcomes": counts(InboundMail.outcome, InboundMail),
        "tickets": counts(Ticket.state, Ticket),
        "outbox": counts(OutboxMail.state, OutboxMail),
        "escalation_jobs": counts(EscalationJob.state, EscalationJob),
        "folder_deletions": _folder_deletions(session, mailbox),
        "sla_breached": int(breached or 0),
        "duplicates_skipped": int(duplicates or 0),
        "quarantined": quarantined,
        "failed": failed,
        "pending_outbox": pending_outbox,
    }
    waiting = count_waiting(session, mailbox)
    if calendar is not None and now is not None:
        status |= availability(calendar, now, waiting, outside_hours)
    else:
        status["waiting"] = waiting
    return status


def _folder_deletions(session: Session, mailbox: str) -> dict[str, int]:
    """Copies on the mail server queued for deletion by an erasure or retention (mailbot.privacy.folders):
    "open" ones wait for their turn, "retrying" ones found the server unreachable at least once."""
    rows = session.execute(
        select(FolderDeletion.done_at.is_(None), FolderDeletion.last_error.is_not(None), func.count())
        .where(FolderDeletion.mailbox == mailbox)
        .group_by(FolderDeletion.done_at.is_(None), FolderDeletion.last_error.is_not(None))
    )
    found: dict[str, int] = {}
    for is_open, tried, count in rows:
        state = ("retrying" if tried else "open") if is_open else "done"
        found[state] = found.get(state, 0) + int(count)
    return found


def format_status(
    status: dict[str, Any], calendar: BusinessCalendar | None = None, now: datetime | None = None
) -> str:
    lines = [f"mailbox {status['mailbox']}"]
    if "open" in status and calendar is not None and now is not None:
        opening = status["next_opening"]
        opening_at = None if opening is None else datetime.fromisoformat(opening).astimezone(calendar.zone)
        line = availability_line(status["open"], opening_at, status["waiting"], status["outside_hours"], now)
        lines.append(f"  {line}")
    for section in _COUNTS:
        parts = ", ".join(f"{state} {count}" for state, count in sorted(status[section].items())) or "none"
        lines.append(f"  {section:<9} {parts}")
    lines.append(f"  SLA breaches (tickets) {status['sla_breached']}")
    lines.append(f"  duplicates skipped (mail we already had) {status['duplicates_skipped']}")
    if status.get("pending_outbox"):
        lines.append("not yet sent:")
        for item in status["pending_outbox"]:
            tried = f"attempt {item['attempts']} failed" if item["attempts"] else "not tried yet"
            lines.append(
                f"  outbox #{item['id']} ({item['mail_kind']}) to {safe_cell(item['recipient'])}: {tried}, "
                f"next attempt {item['next_attempt_at']}"
            )
            if item["last_error"]:
                lines.append(f"    last error: {safe_cell(item['last_error'])}")
    if status["quarantined"]:
        lines.append("quarantined:")
        for item in status["quarantined"]:
            sender, subject = safe_cell(item["from"]) or "?", safe_cell(item["subject"])
            lines.append(f"  inbound #{item['id']} from {sender}: '{subject}'")
            lines.append(f"    reason: {safe_cell(item['reason'])}")
    if status["failed"]:
        lines.append("failed deliveries:")
        for item in status["failed"]:
            if item["kind"] == "escalation":
                what = f"  escalation #{item['id']} ({item['backend']} {item['event']})"
            else:
                what = f"  outbox #{item['id']} ({item['mail_kind']}) to {safe_cell(item['recipient'])}"
            lines.append(f"{what}: {safe_cell(item['reason'])}")
    return "\n".join(lines)


_COUNTS = ("inbound", "outcomes", "tickets", "outbox", "escalation_jobs", "folder_deletions")
_SUMS = ("sla_breached", "duplicates_skipped", "waiting")
_LISTS = ("quarantined", "failed", "pending_outbox")


def combine_status(statuses: dict[str, dict[str, Any]], problems: dict[str, str]) -> dict[str, Any]:
    """The installation's status: today's keys as totals over the clients (items of lists name their
    client), `clients` (slug → that client's status) and `problems` (slug → why it is not served)."""
    total: dict[str, Any] = (
        {key: {} for key in _COUNTS} | {key: 0 for key in _SUMS} | {key: [] for key in _LISTS}
    )
    for slug in sorted(statuses):
        status = statuses[slug]
        for key in _COUNTS:
            for state, count in status[key].items():
                total[key][state] = total[key].get(state, 0) + count
        for key in _SUMS:
            total[key] += status.get(key, 0)
        for key in _LISTS:
            total[key] += [{"client": slug, **item} for item in status[key]]
    return {**total, "clients": {slug: statuses[slug] for slug in sorted(statuses)}, "problems": problems}
