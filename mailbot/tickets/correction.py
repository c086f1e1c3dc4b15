"""An agent corrects the severity guess: `mailbot tickets severity REF major`.

The correction is a ticket event ("minor -> major", the guess stays readable in the history and the
reports' confusion table), and the due times follow the new class from the same SLA clock start: the
clock started when the mail arrived, not when someone noticed the class was wrong. A warning or breach
already recorded is forgotten when the new due time lies ahead, so the SLA watch judges the new target.
`none` takes the ticket out of the SLA (not a fault after all). One transaction, like every action.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import Ticket
from mailbot.domain import Severity
from mailbot.tickets.service import ActionResult, TicketActionError, add_event
from mailbot.tickets.sla import due_times

NO_SEVERITY = "none"
CHOICES = (*(s.value for s in Severity), NO_SEVERITY)
EVENT = "severity_corrected"


def correction_note(old: str | None, new: str | None, note: str) -> str:
    """ "minor -> major" (+ ": the agent's note"): the shape reports.load reads back."""
    text = f"{old or NO_SEVERITY} -> {new or NO_SEVERITY}"
    return f"{text}: {note}" if note else text


def parse_correction(note: str) -> tuple[str | None, str | None] | None:
    """(old, new) from an event note written by `correction_note`; None for anything else."""
    head = note.split(":", 1)[0]
    old, arrow, new = head.partition(" -> ")
    if not arrow or old.strip() not in CHOICES or new.strip() not in CHOICES:
        return None
    return (
        None if old.strip() == NO_SEVERITY else old.strip(),
        None if new.strip() == NO_SEVERITY else new.strip(),
    )


def correct_severity(
    session: Session, app: App, ticket: Ticket, severity: str, note: str, now: datetime
) -> ActionResult:
    if severity not in CHOICES:
        raise TicketActionError(f"severity {severity!r}: give one of {', '.join(CHOICES)}")
    new = None if severity == NO_SEVERITY else Severity(severity)
    old = ticket.severity
    if (new.value if new else None) == old:
        raise TicketActionError(f"{ticket.reference} is {old or NO_SEVERITY} already")
    started = ticket.sla_started_at or ticket.created_at
    due = due_times(started, new, app.calendar, app.settings.sla)
    ticket.severity = new.value if new else None
    ticket.sla_started_at = due.started_at if due else None
    ticket.response_due_at = due.response_due if due else None
    ticket.resolution_due_at = due.resolution_due if due else None
    if due is None or due.response_due > now:
        ticket.sla_warned_at = ticket.sla_breached_at = None
    ticket.updated_at = now
    add_event(session, ticket, EVENT, correction_note(old, ticket.severity, note), now)
    return ActionResult(ticket.reference or "", ())
