"""Everything mailbot holds about one address of one client, as a zip archive (GDPR Art. 15).

Read only; which rows are about the person is decided by mailbot.privacy.find. The archive holds `export.json`
(the rows, without raw bytes) and the raw mails as they arrived or left, byte for byte, under `mails/`.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.privacy.find import find

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


def collect(session: Session, mailbox: str, address: str, aliases: Sequence[str] = ()) -> Holding:
    """`aliases`: retention's pseudonym of the person, whose rows are still linked to them."""
    found = find(session, mailbox, address, aliases)
    held = Holding()
    held.tickets = [_row(t, TICKET_COLUMNS) for t in found.tickets]
    for mail in found.inbound:
        held.inbound.append(_row(mail, INBOUND_COLUMNS) | {"ticket_id": mail.ticket_id})
        if mail.raw:
            held.raw[f"mails/received-{mail.id}.eml"] = mail.raw
    for sent in found.outbox:
        held.outbox.append(_row(sent, OUTBOX_COLUMNS) | {"ticket_id": sent.ticket_id})
        if sent.raw:
            held.raw[f"mails/sent-{sent.id}.eml"] = sent.raw
    held.events = [
        {"ticket_id": e.ticket_id, "at": e.at.isoformat(), "kind": e.kind, "note": e.note}
        for e in found.events
    ]
    held.learned = [
        {"ticket_id": x.ticket_id, "decision": x.decision, "target": x.target, "text": x.text}
        for x in found.learned
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
