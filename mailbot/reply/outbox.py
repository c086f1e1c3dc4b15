"""Enqueue outgoing mail: rendered, composed and given its Message-ID inside the caller's transaction.

Because the bytes are final when the row is written, a re-send after a crash is byte-identical, and
because the row is part of the decision's transaction, a decision never exists without its mail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.db.schema import OutboxMail, OutboxState
from mailbot.domain import Language
from mailbot.reply.compose import compose_reply, make_message_id
from mailbot.reply.render import Rendered, TemplateRenderer


@dataclass(frozen=True)
class Sender:
    address: str
    name: str
    message_id_domain: str
    message_id_key: bytes | None = None  # signs our Message-IDs (compose.verify_message_id)


@dataclass(frozen=True)
class Outgoing:
    kind: str  # template kind: answer, acknowledgement, agent_reply, solved, team_notice, ...
    language: Language
    recipient: str
    to_customer: bool
    context: Mapping[str, object]  # includes `subject`: the customer's subject the templates build on
    in_reply_to: str | None = None
    references: Sequence[str] = ()
    attach_rfc822: bytes | None = None
    reply_to: str | None = None


def _auto_submitted(item: Outgoing, rendered: Rendered) -> str | None:
    """RFC 3834: "auto-replied" for our automatic answers to a customer's mail, "auto-generated" for
    notices to the team, and no header at all for a person's reply (`render.is_personal`: an agent
    wrote it, so the customer's responders may answer it like any personal mail)."""
    if not item.to_customer:
        return "auto-generated"
    return None if rendered.personal else "auto-replied"


def enqueue(
    session: Session,
    renderer: TemplateRenderer,
    sender: Sender,
    mailbox: str,
    item: Outgoing,
    *,
    ticket_id: int | None,
    inbound_id: int | None,
    now: datetime,
    dedup_key: str | None = None,
) -> OutboxMail:
    """Render, compose and store one mail. Mail not caused by an inbound mail needs a `dedup_key`
    naming its cause (unique per mailbox), so that doing the same thing twice sends once."""
    rendered = renderer.render(item.kind, item.language, item.context)
    message_id = make_message_id(sender.message_id_domain, key=sender.message_id_key)
    raw = compose_reply(
        rendered=rendered,
        from_addr=sender.address,
        from_name=sender.name,
        to_addr=item.recipient,
        message_id=message_id,
        in_reply_to=item.in_reply_to,
        references=item.references,
        date=now,
        auto_submitted=_auto_submitted(item, rendered),
        # customers' providers file "Precedence: bulk" as bulk mail; Auto-Submitted already stops responders
        precedence=None if item.to_customer else "bulk",
        attach_rfc822=item.attach_rfc822,
        # X-Loop names us, so a copy of this mail that finds its way back is recognised as ours
        extra_headers={"X-Loop": sender.address} | ({"Reply-To": item.reply_to} if item.reply_to else {}),
    )
    row = OutboxMail(
        mailbox=mailbox,
        kind=item.kind,
        to_customer=item.to_customer,
        ticket_id=ticket_id,
        inbound_id=inbound_id,
        message_id=message_id,
        mail_from=sender.address,
        recipient=item.recipient,
        subject=rendered.subject,
        raw=raw,
        state=OutboxState.PENDING,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        dedup_key=dedup_key,
    )
    session.add(row)
    session.flush()
    return row
