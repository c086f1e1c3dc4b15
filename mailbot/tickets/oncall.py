"""The on-call alert: a fault of an urgent class escalated while the business calendar is closed.

Nobody reads the team's mailbox on the night before Good Friday, so such a ticket also goes to
`[oncall] address` (mail kind `oncall_alert`) and, when the webhook subscribes to it, as the event
`ticket.oncall_alert` (a pager or chat bridge). Both are written in the caller's transaction, with
the ticket, under keys naming the ticket, so the alert exists exactly when the ticket does. During
business hours the team notice is enough and nothing extra is sent.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.config import ONCALL_EVENT, OncallSettings
from mailbot.db.schema import Ticket
from mailbot.domain import Severity
from mailbot.escalate.jobs import enqueue_jobs
from mailbot.reply.outbox import Outgoing, enqueue
from mailbot.tickets.notify import local_time, sender_of
from mailbot.tickets.service import add_event

log = logging.getLogger(__name__)
ALERT_EXCERPT_CHARS = 1000  # read on a phone at night: the start of the customer's words


def needs_alert(severity: str | None, grouped: bool, is_open: bool, oncall: OncallSettings | None) -> bool:
    """Pure: an alert is due for a fault of an alerting class while the business calendar is closed,
    once per outage: a report grouped under an incident's first ticket adds nothing to wake anyone for."""
    if oncall is None or is_open or severity is None or grouped:
        return False
    return Severity(severity) in oncall.severities


def alert_oncall(session: Session, app: App, ticket: Ticket, now: datetime) -> bool:
    """Queue the alert for a just escalated ticket when one is due; True when it was queued."""
    oncall = app.settings.oncall
    if not needs_alert(ticket.severity, ticket.parent_id is not None, app.calendar.is_open(now), oncall):
        return False
    assert oncall is not None  # needs_alert is False without [oncall]
    if oncall.address is not None:
        item = Outgoing(
            kind="oncall_alert",
            language=oncall.language or app.settings.team.language,
            recipient=oncall.address,
            to_customer=False,
            context={
                "reference": ticket.reference,
                "subject": ticket.subject,
                "customer": ticket.customer,
                "severity": ticket.severity,
                "response_due": local_time(app, ticket.response_due_at),
                "body_excerpt": ticket.text_excerpt[:ALERT_EXCERPT_CHARS],
            },
            reply_to=app.settings.team.address,  # "I'm on it" reaches the team, not the support inbox
        )
        enqueue(
            session, app.renderer, sender_of(app), app.mailbox, item,
            ticket_id=ticket.id, inbound_id=None, now=now, dedup_key=f"oncall:{ticket.id}",
        )  # fmt: skip
    enqueue_jobs(session, app, ticket, ONCALL_EVENT, f"ticket-{ticket.id}", now)
    where = ", ".join(filter(None, [oncall.address, "webhook" if _webhook_subscribed(app) else None]))
    add_event(session, ticket, "oncall_alerted", f"outside business hours: alerted {where}", now)
    log.warning(
        "%s: %s fault outside business hours, on-call alerted (%s)", ticket.reference, ticket.severity, where
    )
    return True


def _webhook_subscribed(app: App) -> bool:
    webhook = app.settings.webhook
    return webhook is not None and ONCALL_EVENT in webhook.events
