"""The rows that are about one person of one client: the one place that decides what "about" means,
for the export (Art. 15) and the erasure (Art. 17) alike.

The person is found by the address as mailbot stores it: the sender key of their mails
(`inbound_mail.from_key`), the customer of their tickets (`tickets.customer`, compared as the key is: IDNA
domain, case ignored), the recipient key of mails sent to them (`outbox.recipient_key`); then everything
attached to those tickets (events, every mail about them, to the customer and to the team, examples
learned from them, calls to Jira and the webhook).
Another client's rows are never read, even for the same address.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailbot.db.schema import EscalationJob, InboundMail, LearnedExample, OutboxMail, Ticket, TicketEvent
from mailbot.rules.base import address_key


@dataclass(frozen=True)
class Found:
    tickets: Sequence[Ticket]
    inbound: Sequence[InboundMail]
    outbox: Sequence[OutboxMail]
    events: Sequence[TicketEvent]
    learned: Sequence[LearnedExample]
    jobs: Sequence[EscalationJob]  # calls to Jira and the webhook about the person's tickets

    @property
    def empty(self) -> bool:
        return not (self.inbound or self.tickets or self.outbox)


def find(session: Session, mailbox: str, address: str, aliases: Sequence[str] = ()) -> Found:
    """`aliases`: other addresses that stand for the same person (retention's pseudonym)."""
    keys = sorted({address_key(address), *(address_key(alias) for alias in aliases)})
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.mailbox == mailbox, func.lower(Ticket.customer).in_(keys))
        .order_by(Ticket.id)
    ).all()
    ids = [t.id for t in tickets]
    inbound = session.scalars(
        select(InboundMail)
        .where(
            InboundMail.mailbox == mailbox,
            or_(InboundMail.from_key.in_(keys), InboundMail.ticket_id.in_(ids)),
        )
        .order_by(InboundMail.id)
    ).all()
    outbox = session.scalars(
        select(OutboxMail)
        .where(
            OutboxMail.mailbox == mailbox,
            or_(
                OutboxMail.recipient_key.in_(keys),
                OutboxMail.ticket_id.in_(ids),  # the team's notices about them too
            ),
        )
        .order_by(OutboxMail.id)
    ).all()
    events = (
        session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ids)).order_by(TicketEvent.id)
        ).all()
        if ids
        else []
    )
    learned = (
        session.scalars(
            select(LearnedExample).where(LearnedExample.mailbox == mailbox, LearnedExample.ticket_id.in_(ids))
        ).all()
        if ids
        else []
    )
    jobs = (
        session.scalars(
            select(EscalationJob).where(EscalationJob.ticket_id.in_(ids)).order_by(EscalationJob.id)
        ).all()
        if ids
        else []
    )
    return Found(tickets, inbound, outbox, events, learned, jobs)
