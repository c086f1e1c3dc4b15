"""Enqueue outgoing mail: rendered, composed and given its Message-ID inside the caller's transaction.

Because the bytes are final when the row is written, a re-send after a crash is byte-identical, and
because the row is part of the decision's transaction, a decision never exists without its mail.

A recipient that no mail can be sent to (mailbot.addresses: a non-ASCII local part without SMTPUTF8,
an invalid or over-long domain) never fails the decision: its row is stored failed at once with the
reason and the text it would have carried, and `Sender.on_failed` tells the team, exactly as when the
recipient's server refuses a mail for good at delivery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from mailbot.addresses import UndeliverableAddress
from mailbot.db.schema import OutboxMail, OutboxState
from mailbot.db.write_now import insert_now
from mailbot.domain import Language
from mailbot.reply.compose import compose_reply, make_message_id, sendable_address
from mailbot.reply.counted_ahead import note_outbox_row
from mailbot.reply.outbox_states import NOT_SENT
from mailbot.reply.render import Rendered, TemplateRenderer

log = logging.getLogger(__name__)
MAX_ERROR_CHARS = 2000

FailedHook = Callable[[Session, OutboxMail], None]


@dataclass(frozen=True)
class Sender:
    address: str
    name: str
    message_id_domain: str
    message_id_key: bytes | None = None  # signs our Message-IDs (compose.verify_message_id)
    # called in the caller's transaction when a mail fails for good at enqueue (the team is told)
    on_failed: FailedHook | None = field(default=None, compare=False, repr=False)


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


class Composer(Protocol):
    """Builds a row's bytes elsewhere (mailbot.reply.compose_pool), puts them into the row and writes
    it before the caller's transaction commits."""

    renderer: TemplateRenderer

    def compose(self, row: OutboxMail, sender: Sender, item: Outgoing, now: datetime) -> bool:
        """Under way: the bytes arrive before the commit. False: not taken (the caller composes)."""
        ...


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
    composer: Composer | None = None,
) -> OutboxMail:
    """Render, compose and store one mail. Mail not caused by an inbound mail needs a `dedup_key`
    naming its cause (unique per mailbox), so that doing the same thing twice sends once.

    A recipient that cannot be sent to gives a failed row (see the module's docstring), not an error.
    `composer` (a backlog's decisions): the subject and bytes are built beside the caller, and the row
    is written with them when the caller collects them before committing (mailbot.reply.compose_pool);
    until then it has no id, and reads of the outbox see it through mailbot.reply.pending_outbox."""
    message_id = make_message_id(sender.message_id_domain, key=sender.message_id_key)
    try:
        sendable_address(item.recipient)
    except UndeliverableAddress as exc:
        unsendable: str | None = f"{NOT_SENT}{exc}"
    else:
        unsendable = None
    row = _row(
        mailbox, sender, item.kind, item.recipient, "", b"", message_id,
        to_customer=item.to_customer, ticket_id=ticket_id, inbound_id=inbound_id, now=now,
        dedup_key=dedup_key, error=unsendable,
    )  # fmt: skip
    note_outbox_row(session, row)  # a batch's per-address counts (mailbot.reply.counted_ahead)
    sendable = unsendable is None
    handed = (
        sendable
        and composer is not None
        and composer.renderer is renderer
        and composer.compose(row, sender, item, now)
    )
    if handed:  # written with its bytes when the composer collects them, before the caller commits
        return row
    # the record of an unsendable mail keeps the text, not the address
    row.subject, row.raw = compose_outgoing(renderer, sender, item, message_id, now, to=sendable)
    insert_now(session, row)  # its id at once, without a flush of the rest (issue 13)
    if unsendable is not None:
        log.error("outbox #%s (%s) failed for good at enqueue: %s", row.id, item.kind, unsendable)
        if sender.on_failed is not None:
            sender.on_failed(session, row)
    return row


def compose_outgoing(
    renderer: TemplateRenderer, sender: Sender, item: Outgoing, message_id: str, now: datetime, *, to: bool
) -> tuple[str, bytes]:
    """The subject and the final bytes of `item`: a pure function of its arguments and the templates,
    so the same mail composed here or in mailbot.reply.compose_pool is the same bytes. `to`: False
    leaves out To (the record of a mail that cannot be sent)."""
    rendered = renderer.render(item.kind, item.language, item.context)
    raw = compose_reply(
        rendered=rendered,
        from_addr=sender.address,
        from_name=sender.name,
        to_addr=item.recipient if to else None,
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
    return rendered.subject, raw


def enqueue_composed(
    session: Session,
    sender: Sender,
    mailbox: str,
    *,
    kind: str,
    recipient: str,
    subject: str,
    raw: bytes,
    message_id: str,
    now: datetime,
    dedup_key: str,
) -> OutboxMail:
    """Store a mail composed elsewhere (a report with its charts, mailbot.reports.delivery) like any
    other: `message_id` made with `new_message_id`, once per `dedup_key`, sent by the deliverer."""
    row = _row(
        mailbox, sender, kind, recipient, subject, raw, message_id,
        to_customer=False, ticket_id=None, inbound_id=None, now=now, dedup_key=dedup_key, error=None,
    )  # fmt: skip
    session.add(row)
    session.flush()
    return row


def new_message_id(sender: Sender) -> str:
    return make_message_id(sender.message_id_domain, key=sender.message_id_key)


def store_failed(
    session: Session,
    sender: Sender,
    mailbox: str,
    *,
    kind: str,
    recipient: str,
    subject: str,
    error: str,
    inbound_id: int | None,
    now: datetime,
    dedup_key: str,
) -> OutboxMail:
    """Record a customer mail that could not even be composed (a fault of ours, logged by the caller):
    failed at once with `error`, no bytes, so that `mailbot status` lists it and its cause (the
    `dedup_key`) is not tried again on every pass. The team is not mailed: nothing left the house,
    and the mail it belongs to is decided (and seen by the team) as usual."""
    message_id = make_message_id(sender.message_id_domain, key=sender.message_id_key)
    row = _row(
        mailbox, sender, kind, recipient, subject, b"", message_id,
        to_customer=True, ticket_id=None, inbound_id=inbound_id, now=now, dedup_key=dedup_key, error=error,
    )  # fmt: skip
    note_outbox_row(session, row)
    session.add(row)
    session.flush()
    return row


def _row(
    mailbox: str,
    sender: Sender,
    kind: str,
    recipient: str,
    subject: str,
    raw: bytes,
    message_id: str,
    *,
    to_customer: bool,
    ticket_id: int | None,
    inbound_id: int | None,
    now: datetime,
    dedup_key: str | None,
    error: str | None,
) -> OutboxMail:
    """A pending row, or with `error` one failed for good before it was ever sent."""
    return OutboxMail(
        mailbox=mailbox,
        kind=kind,
        to_customer=to_customer,
        ticket_id=ticket_id,
        inbound_id=inbound_id,
        message_id=message_id,
        mail_from=sender.address,
        recipient=recipient,
        subject=subject,
        raw=raw,
        state=OutboxState.PENDING if error is None else OutboxState.FAILED,
        last_error=None if error is None else error[:MAX_ERROR_CHARS],
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        dedup_key=dedup_key,
    )
