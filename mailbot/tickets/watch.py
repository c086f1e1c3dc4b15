"""The SLA watch: warn the team before a ticket's response target runs out, record every breach.

Runs on the scheduler; each warning and each breach is recorded on the ticket and mailed once (the
outbox's dedup key), so running the watch twice, or on two workers, changes nothing. Each ticket is
measured on its class's calendar (`sla_calendar`): a 24/7 class uses up its time at night as well.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import select

from mailbot.db.schema import Ticket
from mailbot.domain import Severity, TicketState
from mailbot.tickets.notify import local_time, mail_team
from mailbot.tickets.service import add_event
from mailbot.tickets.sla import SlaDue, SlaState, response_state, share_used, sla_calendar
from mailbot.tickets.team_view import customer_label

if TYPE_CHECKING:
    from mailbot.app import App

log = logging.getLogger(__name__)


@dataclass
class WatchReport:
    warned: list[str] = field(default_factory=list)
    breached: list[str] = field(default_factory=list)


def sla_watch(app: App) -> WatchReport:
    report = WatchReport()
    now = app.clock()
    with app.sessions.begin() as session:
        open_tickets = session.scalars(
            select(Ticket).where(
                Ticket.mailbox == app.mailbox,
                Ticket.state == TicketState.ESCALATED,
                Ticket.response_due_at.is_not(None),
                Ticket.responded_at.is_(None),
                Ticket.sla_breached_at.is_(None),
            )
        ).all()
        for ticket in open_tickets:
            assert ticket.sla_started_at and ticket.response_due_at and ticket.resolution_due_at
            due = SlaDue(ticket.sla_started_at, ticket.response_due_at, ticket.resolution_due_at)
            severity = Severity(ticket.severity) if ticket.severity else None
            calendar = sla_calendar(severity, app.calendar, app.settings.sla)
            state = response_state(now, due, calendar, app.settings.sla.warn_at)
            if state is SlaState.OK or (state is SlaState.WARN and ticket.sla_warned_at is not None):
                continue
            breached = state is SlaState.BREACHED
            used = share_used(now, due.started_at, due.response_due, calendar)
            context = alert_context(app, ticket, used, breached)
            kind = "breach" if breached else "warning"
            mail_team(session, app, ticket, "sla_alert", f"sla-{kind}:{ticket.id}", now, **context)
            if breached:
                ticket.sla_breached_at = now
                report.breached.append(ticket.reference or "")
                add_event(session, ticket, "sla_breached", f"response was due {ticket.response_due_at}", now)
                log.warning("SLA breached: %s (due %s)", ticket.reference, ticket.response_due_at)
            else:
                ticket.sla_warned_at = now
                report.warned.append(ticket.reference or "")
                add_event(session, ticket, "sla_warning", f"{used:.0%} of the response time used", now)
                log.info("SLA warning: %s (%.0f%% used)", ticket.reference, used * 100)
    return report


def alert_context(app: App, ticket: Ticket, used: float, breached: bool) -> dict[str, object]:
    """The `sla_alert` of a ticket, for the watch and for `tickets.overdue` (a breach found when writing
    to the customer), so both say the same."""
    return {
        "reference": ticket.reference,
        "customer": customer_label(ticket.customer_name, ticket.customer),
        "subject": ticket.subject,
        "language": ticket.language,  # the customer's, not the team's (the alert is in the team's)
        "severity": ticket.severity,
        "response_due": local_time(app, ticket.response_due_at),
        "share_used": used,
        "breached": breached,
    }
