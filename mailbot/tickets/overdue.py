"""Never promise a time that has passed: what a mail may promise, and telling the team once when a
response target has passed by the time we write to the customer.

A "Status?" at 17:00 must not read "spätestens bis heute, 15:30 Uhr", and a backlog decided late must
not acknowledge with a due time that is already gone; the customer is told that the request is overdue
and has priority instead. The team hears it through the SLA watch's own breach alert (same outbox
dedup key `sla-breach:<ticket id>` and the same `sla_breached_at` mark), so whichever of the two
notices the breach first tells the team, and the other stays quiet.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from mailbot.db.schema import Ticket
from mailbot.domain import Severity
from mailbot.tickets.notify import mail_team
from mailbot.tickets.service import add_event
from mailbot.tickets.sla import share_used, sla_calendar
from mailbot.tickets.watch import alert_context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from mailbot.app import App

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Promise:
    """What a mail may say about a due time: the time itself while it is ahead, else that it is overdue."""

    due: datetime | None  # a due time still ahead at the time of writing, or None
    overdue: bool = False  # the target has passed: say so, and that the request has priority


def promise(due: datetime | None, now: datetime) -> Promise:
    """Pure: a due time is promised only while it lies ahead of `now`."""
    if due is None:
        return Promise(None)
    if due.astimezone(UTC) <= now.astimezone(UTC):
        return Promise(None, overdue=True)
    return Promise(due)


def overdue_note(told: Promise) -> str | None:
    """The line for the team notice when the customer was told a target has passed."""
    if not told.overdue:
        return None
    return "the due time had passed when mailbot wrote; the customer was told it is overdue and has priority"


def breach_key(ticket_id: int) -> str:
    """The outbox dedup key of a ticket's breach alert, shared with the SLA watch."""
    return f"sla-breach:{ticket_id}"


def alert_response_overdue(session: Session, app: App, ticket: Ticket, now: datetime, why: str) -> bool:
    """Record the breach of the response target and mail the team the SLA alert, once per ticket;
    False when the breach was recorded already (by the watch or an earlier mail)."""
    if ticket.sla_breached_at is not None or ticket.response_due_at is None or ticket.sla_started_at is None:
        return False
    ticket.sla_breached_at = now
    add_event(session, ticket, "sla_breached", f"response was due {ticket.response_due_at}; {why}", now)
    log.warning("SLA breached: %s (due %s; %s)", ticket.reference, ticket.response_due_at, why)
    severity = Severity(ticket.severity) if ticket.severity else None
    calendar = sla_calendar(severity, app.calendar, app.settings.sla)
    used = share_used(now, ticket.sla_started_at, ticket.response_due_at, calendar)
    context = alert_context(app, ticket, used, breached=True)
    mail_team(session, app, ticket, "sla_alert", breach_key(ticket.id), now, **context)
    return True
