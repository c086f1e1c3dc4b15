"""Everything mailbot holds about one address of one client, as a zip archive (GDPR Art. 15).

Read only. The person is found by the address as mailbot stores it: the sender key of their mails
(`inbound_mail.from_key`), the customer of their tickets (`tickets.customer`, compared as the key is:
IDNA domain, case ignored), the recipient key of mails sent to them (`outbox.recipient_key`); then everything
attached to those tickets (events, every mail in the ticket's thread, examples learned from them).
Another client's rows are never read, even for the same address. The archive holds `export.json`
(the rows, without raw bytes) and the raw mails as they arrived or left, byte for byte, under `mails/`.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, LearnedExample, OutboxMail, Ticket, TicketEvent
from mailbot.rules.base import address_key

EXPORT_VERSION = 1
INBOUND_COLUMNS = ("id", "received_at", "from_addr", "subject", "language", "outcome", "reason", "state")
TICKET_COLUMNS = (
    "id", "reference", "customer", "customer_name", "subject", "language", "state", "article_id",
    "severity", "created_at", "updated_at", "responded_at", "resolved_at", "text_excerpt", "external_key",
)  # fmt: skip
OUTBOX_COLUMNS = ("id", "kind", "recipient", "subject", "state", "created_at", "sent_at", "message_id")


@dataclass
class Holding:
    """The rows about one person, and the raw mails: name in the archive -> bytes."""

    inbound: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    outbox: list[dict[str, Any]] = field(default_factory=list)
    learned: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.inbound or self.tickets or self.outbox)


def _row(obj: object, columns: tuple[str, ...]) -> dict[str, Any]:
    values = {name: getattr(obj, name) for name in columns}
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def collect(session: Session, mailbox: str, address: str) -> Holding:
    key = address_key(address)
    held = Holding()
    tickets = session.scalars(
        select(Ticket)
        .where(Ticket.mailbox == mailbox, func.lower(Ticket.customer) == key)
        .order_by(Ticket.id)
    ).all()
    ticket_ids = [t.id for t in tickets]
    held.tickets = [_row(t, TICKET_COLUMNS) for t in tickets]
    inbound = session.scalars(
        select(InboundMail)
        .where(
            InboundMail.mailbox == mailbox,
            or_(InboundMail.from_key == key, InboundMail.ticket_id.in_(ticket_ids)),
        )
        .order_by(InboundMail.id)
    ).all()
    for mail in inbound:
        held.inbound.append(_row(mail, INBOUND_COLUMNS) | {"ticket_id": mail.ticket_id})
        held.raw[f"mails/received-{mail.id}.eml"] = mail.raw
    outbox = session.scalars(
        select(OutboxMail)
        .where(
            OutboxMail.mailbox == mailbox,
            or_(
                OutboxMail.recipient_key == key,
                OutboxMail.ticket_id.in_(ticket_ids) & OutboxMail.to_customer.is_(True),
            ),
        )
        .order_by(OutboxMail.id)
    ).all()
    for sent in outbox:
        held.outbox.append(_row(sent, OUTBOX_COLUMNS) | {"ticket_id": sent.ticket_id})
        if sent.raw:
            held.raw[f"mails/sent-{sent.id}.eml"] = sent.raw
    if ticket_ids:
        events = session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id.in_(ticket_ids)).order_by(TicketEvent.id)
        ).all()
        held.events = [
            {"ticket_id": e.ticket_id, "at": e.at.isoformat(), "kind": e.kind, "note": e.note} for e in events
        ]
        learned = session.scalars(
            select(LearnedExample).where(
                LearnedExample.mailbox == mailbox, LearnedExample.ticket_id.in_(ticket_ids)
            )
        ).all()
        held.learned = [
            {"ticket_id": x.ticket_id, "decision": x.decision, "target": x.target, "text": x.text}
            for x in learned
        ]
    return held


def archive(held: Holding, mailbox: str, address: str, now: datetime) -> bytes:
    """The zip archive of a holding: export.json and the raw mails."""
    document = {
        "version": EXPORT_VERSION,
        "client": mailbox,
        "address": address,
        "exported_at": now.isoformat(),
        "received_mails": held.inbound,
        "tickets": held.tickets,
        "ticket_events": held.events,
        "sent_mails": held.outbox,
        "learned_examples": held.learned,
        "files": sorted(held.raw),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("export.json", json.dumps(document, indent=2, ensure_ascii=False, default=str))
        for name, data in sorted(held.raw.items()):
            bundle.writestr(name, data)
    return out.getvalue()
