"""What an agent reads about tickets: one row per ticket, and a ticket's conversation.

Read-only: nothing here writes, sends or needs a password. The conversation is rebuilt from what is
stored anyway: the customer's mails as they arrived (InboundMail.raw, read with the same parser as the
pipeline, so quoted history and signatures are gone) and every mail we queued for the customer
(the outbox: answers, acknowledgements, agent replies, solutions), oldest first.
"""

from __future__ import annotations

from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import InboundMail, OutboxMail, Ticket, TicketEvent
from mailbot.domain import TicketState
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail

EXCERPT_CHARS = 300
_SIGNATURE_DELIMITER = "\n-- \n"  # our templates start their footer with it (see templates/_customer.*)


def is_overdue(
    state: str,
    response_due: datetime | None,
    responded: datetime | None,
    resolution_due: datetime | None,
    now: datetime,
) -> bool:
    """An unsolved ticket whose first answer or whose solution is due and has not happened.

    A response target met in time no longer makes a ticket overdue; the resolution target does until
    the ticket is solved.
    """
    if state == TicketState.SOLVED:
        return False
    response_late = response_due is not None and responded is None and response_due <= now
    return response_late or (resolution_due is not None and resolution_due <= now)


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> tuple[str, bool]:
    """`text` on one line, at most `limit` characters; True when something was cut."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat, False
    return flat[: limit - 1].rstrip() + "…", True


def local_iso(app: App, value: datetime | None) -> str | None:
    """A stored (UTC) instant as the team reads it: in the business calendar's zone, to the minute."""
    return None if value is None else value.astimezone(app.calendar.zone).isoformat(timespec="minutes")


def ticket_row(app: App, ticket: Ticket, parent: str | None, now: datetime) -> dict[str, Any]:
    return {
        "reference": ticket.reference,
        "state": ticket.state,
        "severity": ticket.severity,
        "customer": ticket.customer,
        "subject": ticket.subject,
        "created": local_iso(app, ticket.created_at),
        "response_due": local_iso(app, ticket.response_due_at),
        "resolution_due": local_iso(app, ticket.resolution_due_at),
        "responded": local_iso(app, ticket.responded_at),
        "resolved": local_iso(app, ticket.resolved_at),
        "sla_breached": local_iso(app, ticket.sla_breached_at),
        "overdue": is_overdue(
            ticket.state, ticket.response_due_at, ticket.responded_at, ticket.resolution_due_at, now
        ),
        "parent": parent,
        "external_key": ticket.external_key,
    }


def references_of(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    rows = session.execute(select(Ticket.id, Ticket.reference).where(Ticket.id.in_(wanted)))
    return {i: r for i, r in rows if r}


def events(session: Session, app: App, ticket: Ticket) -> list[dict[str, Any]]:
    query = select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
    return [{"at": local_iso(app, e.at), "kind": e.kind, "note": e.note} for e in session.scalars(query)]


def conversation(session: Session, app: App, ticket: Ticket, full: bool) -> list[dict[str, Any]]:
    """The customer's mails and ours to the customer, oldest first; `text` is an excerpt unless `full`."""
    entries: list[tuple[datetime, int, int, dict[str, Any]]] = []
    inbound = select(InboundMail).where(
        InboundMail.mailbox == app.mailbox, InboundMail.ticket_id == ticket.id
    )
    for mail in session.scalars(inbound):
        entries.append((mail.received_at, 0, mail.id, _customer_entry(app, mail)))
    outbound = select(OutboxMail).where(
        OutboxMail.mailbox == app.mailbox, OutboxMail.ticket_id == ticket.id, OutboxMail.to_customer.is_(True)
    )
    for sent in session.scalars(outbound):
        entries.append((sent.created_at, 1, sent.id, _our_entry(app, sent)))
    result = []
    for _at, _side, _id, entry in sorted(entries, key=lambda item: item[:3]):
        text = entry["text"]
        entry["text"], entry["truncated"] = (text, False) if full else excerpt(text)
        result.append(entry)
    return result


def _customer_entry(app: App, mail: InboundMail) -> dict[str, Any]:
    try:
        parsed = parse_mail(mail.raw)
    except Quarantine as exc:
        sender, subject, text = mail.from_addr or "", mail.subject or "", f"(cannot be read: {exc.reason})"
    else:
        sender = f"{parsed.from_name} <{parsed.from_addr}>" if parsed.from_name else parsed.from_addr
        subject, text = parsed.subject, parsed.body.strip()
    return {
        "at": local_iso(app, mail.received_at),
        "direction": "in",
        "from": sender,
        "to": app.settings.support.address,
        "kind": mail.outcome or mail.state,  # escalated, follow_up, answered, ignored ... or not yet decided
        "subject": subject,
        "inbound_id": mail.id,
        "text": text,
    }


def _our_entry(app: App, sent: OutboxMail) -> dict[str, Any]:
    return {
        "at": local_iso(app, sent.created_at),
        "direction": "out",
        "from": f"{app.settings.support.name} <{sent.mail_from}>",
        "to": sent.recipient,
        "kind": sent.kind,  # answer, acknowledgement, agent_reply, solved, status, ...
        "subject": sent.subject,
        "outbox_id": sent.id,
        "delivery": sent.state,  # pending, sending, sent, failed
        "sent": local_iso(app, sent.sent_at),
        "text": plain_text_without_footer(sent.raw),
    }


def plain_text_without_footer(raw: bytes) -> str:
    """The text/plain part of a mail we composed, without the footer below "-- "."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)  # policy.default makes EmailMessage objects
    part = message.get_body(("plain",))
    if part is None:
        return ""
    text = str(part.get_content()).replace("\r\n", "\n")
    return text.split(_SIGNATURE_DELIMITER, 1)[0].strip()
