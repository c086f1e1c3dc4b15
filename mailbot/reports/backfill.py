"""Failure signals for follow-ups decided before they were recorded (issue 14: "backfilled where the data
allows"): the customer's stored reply is read again and a `failure_signal` event written as the
decision would have written it, at the reply's time.

Only negative replies and requests for a person are found this way: "the same question again" needs the
classifier's view of the reply at the time, which is not kept. Idempotent: a reply that has a signal
(or a thank-you) already is skipped, so running it twice writes nothing new. Replies whose stored mail
was deleted (retention) are skipped: the figure then keeps what the escalation said.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, Ticket, TicketEvent
from mailbot.domain import Language
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail
from mailbot.reports.failure import failure_signal

REPLY, SIGNAL, CLOSING = "customer_reply", "failure_signal", "customer_closing"


def backfill_failure_signals(session: Session, mailbox: str, default_language: Language) -> int:
    """Write the missing failure signals of `mailbox`'s follow-ups to automatic answers; return how many."""
    replies = session.execute(
        select(TicketEvent.ticket_id, TicketEvent.inbound_id, TicketEvent.at)
        .join(Ticket, Ticket.id == TicketEvent.ticket_id)
        .where(
            Ticket.mailbox == mailbox,
            Ticket.article_id.is_not(None),
            TicketEvent.kind == REPLY,
            TicketEvent.inbound_id.is_not(None),
        )
        .order_by(TicketEvent.id)
    ).all()
    settled = set(
        session.scalars(
            select(TicketEvent.inbound_id).where(
                TicketEvent.mailbox == mailbox,
                TicketEvent.kind.in_((SIGNAL, CLOSING)),
                TicketEvent.inbound_id.is_not(None),
            )
        )
    )
    written = 0
    for reply in replies:
        if reply.inbound_id in settled:
            continue
        raw = session.scalar(select(InboundMail.raw).where(InboundMail.id == reply.inbound_id))
        if not raw:
            continue
        try:
            body = parse_mail(raw, default_language=default_language).body
        except Quarantine:
            continue
        signal = failure_signal(body)
        if signal is None:
            continue
        session.add(
            TicketEvent(
                mailbox=mailbox, ticket_id=reply.ticket_id, at=reply.at, kind=SIGNAL,
                inbound_id=reply.inbound_id, note=f"{signal.kind.value}: {signal.evidence}",
            )
        )  # fmt: skip
        settled.add(reply.inbound_id)
        written += 1
    return written
