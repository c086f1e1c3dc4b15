"""Mail about a ticket that no inbound mail caused: an agent's answer, a solution, an SLA alert.

It goes into the outbox in the caller's transaction like every other mail, threaded under the
customer's latest mail of the ticket, and carries a `dedup_key` naming its cause so that repeating
the cause (a retried command, a re-polled Jira comment) never sends twice.
"""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.reads import read_scalar
from mailbot.db.schema import InboundMail, OutboxMail, Outcome, Ticket
from mailbot.domain import Language
from mailbot.privacy.attachments import forwarded_copy, withheld_note
from mailbot.reply.compose import threading_headers
from mailbot.reply.outbox import Outgoing, Sender, enqueue
from mailbot.reply.outbox_states import NOT_SENT
from mailbot.reply.pending_outbox import before_reading, team_mail_of, with_dedup_key
from mailbot.tickets.team_view import recipient_label

log = logging.getLogger(__name__)
ANSWERABLE_KINDS = ("team_notice",)  # a member's reply to these reaches the customer (tickets.agent_mail)


def sender_of(app: App) -> Sender:
    """Who our mail comes from; a customer mail that fails for good at enqueue tells the team."""
    support = app.settings.support
    return Sender(
        support.address,
        support.name,
        app.settings.message_id_domain,
        app.message_id_key,
        on_failed=lambda session, row: tell_team_not_delivered(session, app, row),
    )


def tell_team_not_delivered(session: Session, app: App, row: OutboxMail) -> None:
    """A customer's mail failed for good (refused by their server, or an address no mail can be sent
    to): the team must reach the customer another way. One `delivery_failed` mail per row, from the
    outbox at enqueue and from the deliverer alike."""
    if not row.to_customer:  # the team's own address refusing mail cannot be told by mail
        return
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    mail_team(
        session, app, ticket, "delivery_failed", f"delivery-failed:{row.id}", app.clock(),
        reference=ticket.reference if ticket else None, recipient=recipient_label(row.recipient, ticket),
        subject=row.subject, error=row.last_error or "",
        not_sent=(row.last_error or "").startswith(NOT_SENT),
    )  # fmt: skip


def local_time(app: App, value: datetime | None) -> datetime | None:
    """A stored (UTC) instant in the business calendar's zone, as customers and the team read it."""
    return None if value is None else value.astimezone(app.calendar.zone)


def already_queued(session: Session, mailbox: str, dedup_key: str) -> bool:
    before_reading(session, with_dedup_key(dedup_key))
    found = session.scalar(
        select(OutboxMail.id).where(OutboxMail.mailbox == mailbox, OutboxMail.dedup_key == dedup_key)
    )
    return found is not None


def mail_customer(
    session: Session, app: App, ticket: Ticket, kind: str, dedup_key: str, now: datetime, **context: object
) -> bool:
    """Queue `kind` to the ticket's customer in the ticket's thread; False when already queued."""
    if already_queued(session, app.mailbox, dedup_key):
        return False
    latest = session.scalar(
        select(InboundMail)
        .where(
            InboundMail.ticket_id == ticket.id,
            InboundMail.mailbox == app.mailbox,
            InboundMail.outcome.is_distinct_from(Outcome.AGENT_ANSWER),  # the customer's mail, not a member's
        )
        .order_by(InboundMail.id.desc())
        .limit(1)
    )
    threading = threading_headers(latest.message_id, ()) if latest is not None else {}
    context = {
        "reference": ticket.reference,
        "customer_name": ticket.customer_name,
        "support_name": app.settings.support.name,
        "subject": ticket.subject,
    } | context
    item = Outgoing(
        kind=kind,
        language=Language(ticket.language),
        recipient=ticket.customer,
        to_customer=True,
        context=context,
        in_reply_to=threading.get("In-Reply-To"),
        references=threading.get("References", "").split(),
    )
    enqueue(
        session, app.renderer, sender_of(app), app.mailbox, item,
        ticket_id=ticket.id, inbound_id=None, now=now, dedup_key=dedup_key,
    )  # fmt: skip
    return True


def to_team(
    session: Session,
    app: App,
    ticket_id: int | None,
    kind: str,
    context: dict[str, object],
    attach_rfc822: bytes | None = None,
    first: bool = False,
) -> Outgoing:
    """A mail to the project team, threaded under the last mail the team got about this ticket, so that
    each ticket is one thread in the team's mailbox. `first`: the ticket's first mail to the team (an
    escalation's notice, in the decision that opened the ticket): nothing to thread under, and no
    look-up for it (one round trip per escalation on PostgreSQL, issue 13).

    `attach_rfc822` (the customer's mail) is attached as `privacy.attachments.forwarded_copy` makes it:
    attachments `[privacy]` does not let out are replaced by a note, and the notice names them."""
    team = app.settings.team
    if attach_rfc822 is not None:
        copy = forwarded_copy(attach_rfc822, app.settings.privacy, team.language)
        if copy.raw is None:
            log.warning(
                "ticket #%s: original mail not attached to the team's %s: %s", ticket_id, kind, copy.failure
            )
            attach_rfc822 = withheld_note(copy.failure or "", team.language)
            context = {**context, "original_withheld": copy.failure}
        else:
            attach_rfc822 = copy.raw
            removed = [f"{r.name or '?'} ({r.content_type}): {r.why}" for r in copy.removed]
            context = {**context, "removed_attachments": removed} if removed else context
    previous = None
    if ticket_id is not None and not first:
        before_reading(session, team_mail_of(ticket_id))
        previous = read_scalar(session, _LATEST_TO_TEAM, {"ticket_id": ticket_id})
    # A team member's "reply" goes to the team, so it never comes back as a new request; a notice's
    # reply comes to us when members may answer by mail (tickets.agent_mail).
    answers = bool(team.members) and kind in ANSWERABLE_KINDS
    return Outgoing(
        kind=kind,
        language=team.language,
        recipient=team.address,
        to_customer=False,
        context=context,
        in_reply_to=previous,
        references=[previous] if previous else [],
        attach_rfc822=attach_rfc822,
        reply_to=app.settings.support.address if answers else team.address,
    )


# Built once: every escalation runs it, and building costs more than running it (issue 13)
_LATEST_TO_TEAM = (
    select(OutboxMail.message_id)
    .where(OutboxMail.ticket_id == bindparam("ticket_id"), OutboxMail.to_customer.is_(False))
    .order_by(OutboxMail.id.desc())
    .limit(1)
)


def mail_team(
    session: Session,
    app: App,
    ticket: Ticket | None,
    kind: str,
    dedup_key: str,
    now: datetime,
    **context: object,
) -> bool:
    """Queue `kind` to the project team, in the thread of the ticket's earlier notices."""
    if already_queued(session, app.mailbox, dedup_key):
        return False
    # "language" in a team mail is the customer's (the ticket's); the mail itself is in the team's
    context = ({"language": ticket.language} if ticket else {}) | context
    item = to_team(session, app, ticket.id if ticket else None, kind, context)
    enqueue(
        session, app.renderer, sender_of(app), app.mailbox, item,
        ticket_id=ticket.id if ticket else None, inbound_id=None, now=now, dedup_key=dedup_key,
    )  # fmt: skip
    return True
