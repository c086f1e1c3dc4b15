"""Find the ticket a mail belongs to, and refuse it to anyone but the ticket's customer.

Threading headers are checked first (In-Reply-To, then References from the newest), against the
Message-IDs we sent and the customer mails already on a ticket; then the `[MB-000123]` reference in
the subject. A stranger who quotes a reference or forges In-Reply-To starts a new conversation and
learns nothing about the existing ticket. `only_open_ticket` finds the ticket a status question
without any reference can only be about.

"The sender" is the From, read strictly (mailbot.parse.address_list) and compared exactly
(`addresses.same_address`: domain case-insensitive and IDNA, the local part as written, never
Unicode-casefolded: `straße@` is not `strasse@`). A mail naming several From addresses or headers
joins nothing: nobody can tell who wrote it. Whether the From is forged is decided elsewhere
(mailbot.rules.sender_auth, mailbot.decide).
Tickets stored before addresses were stored canonically hold the whole address lower-cased; they keep
matching a customer who writes their address in lower case.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.addresses import canonical, same_address
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.domain import ParsedMail, TicketContext, TicketState
from mailbot.reply.compose import verify_message_id
from mailbot.reply.pending_outbox import before_reading, with_message_id
from mailbot.reply.subject import find_references, format_reference

log = logging.getLogger(__name__)


def find_ticket(
    session: Session, mailbox: str, prefix: str, mail: ParsedMail, message_id_key: bytes | None = None
) -> TicketContext | None:
    sender = claimed_sender(mail)
    if not sender:
        if mail.sender_ambiguity:
            # a Message-ID is the sender's words (often with their domain or address): at DEBUG only
            log.warning("a mail joins no ticket: %s", mail.sender_ambiguity)
            log.debug("mail %s joins no ticket", mail.message_id)
        return None
    for ticket_id, matched_by in _candidates(session, mailbox, prefix, mail, message_id_key):
        ticket = session.get(Ticket, ticket_id)
        if ticket is None or ticket.mailbox != mailbox:
            continue
        if not same_address(ticket.customer, sender):
            log.warning(
                "a mail refers to ticket %s by %s, but its sender is not the ticket's customer: "
                "treated as a new conversation",
                ticket.reference,
                matched_by,
            )
            log.debug("the mail that refers to %s is %s", ticket.reference, mail.message_id)
            continue
        return TicketContext(
            ticket.id, ticket.reference or "", ticket.customer, TicketState(ticket.state), matched_by
        )
    return None


def claimed_sender(mail: ParsedMail) -> str:
    """The address a mail may join tickets as: its From, "" when it names no single sender."""
    return "" if mail.sender_ambiguity else mail.from_addr.strip()


def _candidates(
    session: Session, mailbox: str, prefix: str, mail: ParsedMail, key: bytes | None
) -> Iterator[tuple[int, str]]:
    headers = [(mail.in_reply_to, "in-reply-to")] if mail.in_reply_to else []
    headers += [(ref, "references") for ref in reversed(mail.references)]
    for message_id, matched_by in headers:
        ticket_id = _ticket_of_message(session, mailbox, message_id, key)
        if ticket_id is not None:
            yield ticket_id, matched_by
    for number in find_references(mail.subject, prefix):
        ticket_id = session.scalar(
            select(Ticket.id).where(
                Ticket.mailbox == mailbox, Ticket.reference == format_reference(prefix, number)
            )
        )
        if ticket_id is not None:
            yield ticket_id, "subject"


def _ticket_of_message(session: Session, mailbox: str, message_id: str, key: bytes | None) -> int | None:
    """The ticket of a mail we sent (only ids that carry our signature count, when we sign) or of a
    customer mail already on a ticket."""
    sent = None
    if key is None or verify_message_id(message_id, key):
        before_reading(session, with_message_id([message_id]))
        sent = session.scalar(
            select(OutboxMail.ticket_id).where(
                OutboxMail.mailbox == mailbox,
                OutboxMail.message_id == message_id,
                OutboxMail.to_customer.is_(True),
            )
        )
    if sent is not None:
        return sent
    return session.scalar(
        select(InboundMail.ticket_id).where(
            InboundMail.mailbox == mailbox,
            InboundMail.message_id == message_id,
            InboundMail.ticket_id.is_not(None),
        )
    )


def only_open_ticket(session: Session, mailbox: str, sender: str) -> TicketContext | None:
    """The sender's one ticket with the 2nd level, for a status question without a reference; None
    when they have none or several (then nobody can tell which one they mean).

    Answered tickets do not count: the knowledge base answered them and nobody works on them. The
    sender is the mail's From, so only the ticket's own customer is matched; the caller sends the
    answer to the address stored on the ticket, never to a Reply-To of the new mail.
    """
    if not sender.strip():
        return None
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.mailbox == mailbox,
            Ticket.customer.in_(stored_forms(sender)),
            Ticket.state == TicketState.ESCALATED,
        )
        .limit(2)
    ).all()
    if len(tickets) != 1:
        return None
    ticket = tickets[0]
    state = TicketState(ticket.state)
    return TicketContext(ticket.id, ticket.reference or "", ticket.customer, state, "sender")


def stored_forms(address: str) -> list[str]:
    """How `Ticket.customer` may hold this address: canonical, or (rows stored before that) the whole
    address lower-cased, which is the same address only when its local part was lower-case already."""
    forms = [canonical(address)]
    lowered = address.strip().lower()
    if lowered not in forms and same_address(lowered, address):
        forms.append(lowered)
    return forms
