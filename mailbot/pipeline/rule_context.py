"""What the rules may know beyond the mail: who we are, what we sent, how often we wrote to someone.

The per-address counts compare addresses by `rules.base.address_key` (IDNA domain, case-insensitive),
which SQL cannot compute; every row stores the key of its address when it is written
(`InboundMail.from_key`, `OutboxMail.recipient_key`), so a count is one indexed query whose cost does
not grow with the mail already stored (bench/README.md, "Findings", 1). While a batch is decided
together, both counts come from one query for the whole batch (mailbot.reply.counted_ahead).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, func, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.chunks import in_chunks
from mailbot.db.reads import read_rows, read_scalar
from mailbot.db.schema import InboundMail, OutboxMail
from mailbot.domain import ParsedMail
from mailbot.reply.compose import verify_message_id
from mailbot.reply.counted_ahead import counted, mail_because_of, mail_to
from mailbot.reply.pending_outbox import before_reading, to_customer_counted, with_message_id
from mailbot.rules import RuleContext
from mailbot.rules.base import address_key
from mailbot.rules.reply_target import reply_target
from mailbot.rules.sender_auth import check_sender

COUNT_WINDOW = timedelta(days=1)  # the per-address limits count the automatic mail of the last 24 h


def rule_context(
    session: Session, app: App, mail: ParsedMail, now: datetime, in_outbox: frozenset[str] | None = None
) -> RuleContext:
    """What the rules need to know beyond the mail: who we are and the team is, which senders are our
    contact forms, what the receiving server verified, what we sent, how often we wrote (per recipient
    and per sender). `in_outbox`: the batch's Message-IDs found in the outbox (`in_our_outbox`), so
    that each mail does not look its own up."""
    settings = app.settings
    context = RuleContext(
        own_addresses=frozenset({settings.support.address}),
        own_message_id_domains=frozenset({settings.message_id_domain}),
        own_message_ids=_own_ids(session, app, mail.message_id, in_outbox),
        max_replies_per_sender=settings.limits.replies_per_sender_per_day,
        team_addresses=frozenset({settings.team.address}),
        form_senders=frozenset(settings.support.form_senders),
        sender_check=check_sender(mail, settings.support.authserv_id),
    )
    since = now - COUNT_WINDOW
    recipient = reply_target(mail, context).address
    form = context.is_form_sender(mail.from_addr)  # many people write through it: its Reply-To counts
    to_recipient, for_sender = mails_counted(
        session, app.mailbox, recipient, None if form else mail.from_addr, since
    )
    return replace(context, replies_to_sender_today=to_recipient, replies_for_sender_today=for_sender)


def _own_ids(session: Session, app: App, message_id: str, in_outbox: frozenset[str] | None) -> frozenset[str]:
    """The mail's Message-ID when it is one of ours (signed by us, or in our outbox): our own mail
    come back, whatever its other headers say."""
    if verify_message_id(message_id, app.message_id_key):
        return frozenset({message_id})
    if in_outbox is not None:
        return frozenset({message_id}) if message_id in in_outbox else frozenset()
    before_reading(session, with_message_id([message_id]))
    found = session.scalar(
        select(OutboxMail.message_id).where(
            OutboxMail.mailbox == app.mailbox, OutboxMail.message_id == message_id
        )
    )
    return frozenset({found}) if found else frozenset()


def in_our_outbox(session: Session, app: App, message_ids: Iterable[str]) -> frozenset[str]:
    """Which of a batch's Message-IDs are in our outbox though not signed by us (mail from before the
    signature), in one query instead of one per mail (issue 13). Mail queued while the batch is decided
    needs no look-up: every Message-ID we make now is signed (`verify_message_id`).

    Looked up by Message-ID alone (its unique index) and the mailbox compared here: with the mailbox
    in the WHERE clause, SQLite read every outbox row of the mailbox for each batch instead (an index
    that starts with it), a cost that grew with the mail already sent (issue 13)."""
    unsigned = sorted({mid for mid in message_ids if not verify_message_id(mid, app.message_id_key)})
    found: set[str] = set()
    before_reading(session, with_message_id(unsigned))
    for chunk in in_chunks(unsigned):
        rows = session.execute(
            select(OutboxMail.message_id, OutboxMail.mailbox).where(OutboxMail.message_id.in_(chunk))
        )
        found.update(message_id for message_id, mailbox in rows if mailbox == app.mailbox)
    return frozenset(found)


def mails_to(session: Session, mailbox: str, address: str, since: datetime) -> int:
    """Automatic and agent mail to `address` since then (any spelling of its domain; the local part
    compared without case, so that a limit is never dodged by writing it differently)."""
    key = _key(address)
    if key is None:
        return 0
    before_reading(session, to_customer_counted(session, key, None))
    counted = read_scalar(session, _MAILS_TO, {"mailbox": mailbox, "key": key, "since": since})
    return counted or 0


# Built once: building a statement costs several times what running it does (issue 13, ~0.15 ms)
_MAILS_TO = mail_to((func.count(),), OutboxMail.recipient_key == bindparam("key"))


def mails_because_of(session: Session, mailbox: str, sender: str, since: datetime) -> int:
    """Automatic mail to anyone that mail from `sender` caused since then (any Reply-To included;
    counted as `counted_ahead.mail_because_of` says)."""
    key = _key(sender)
    if key is None:
        return 0
    before_reading(session, to_customer_counted(session, None, key))
    counted = read_scalar(session, _MAILS_BECAUSE_OF, {"mailbox": mailbox, "key": key, "since": since})
    return counted or 0


def _because_of(key: str) -> Select[Any]:
    return mail_because_of((func.count(),), InboundMail.from_key == bindparam(key))


_MAILS_BECAUSE_OF = _because_of("key")


def mails_counted(
    session: Session, mailbox: str, recipient: str, sender: str | None, since: datetime
) -> tuple[int, int]:
    """(`mails_to` the recipient, `mails_because_of` the sender; 0 for no sender) in one statement
    when both are addresses: every mail asks for both, and a statement's round through SQLAlchemy
    costs as much as SQLite's work for it (issue 13)."""
    to_key, from_key = _key(recipient), _key(sender) if sender is not None else None
    if to_key is not None and (sender is None or from_key is not None):
        ahead = counted(session, mailbox, to_key, from_key)  # a batch's, read at its start
        if ahead is not None:
            return ahead
    if to_key is None or from_key is None:
        return (
            mails_to(session, mailbox, recipient, since),
            mails_because_of(session, mailbox, sender, since) if sender is not None else 0,
        )
    before_reading(session, to_customer_counted(session, to_key, from_key))
    row = read_rows(session, _BOTH, {"mailbox": mailbox, "key": to_key, "from_key": from_key, "since": since})
    to_recipient, for_sender = row[0]
    return to_recipient or 0, for_sender or 0


_BOTH = select(
    _MAILS_TO.scalar_subquery(),
    _because_of("from_key").scalar_subquery(),
)


def batch_keys(mails: Iterable[ParsedMail]) -> tuple[set[str], set[str]]:
    """The keys a batch's rule contexts may count by: every From and Reply-To a reply could go to
    (`reply_target` picks one of them), every From whose mail caused mail."""
    to_keys: set[str] = set()
    from_keys: set[str] = set()
    for mail in mails:
        for address in (mail.from_addr, mail.reply_to or ""):
            if (key := _key(address)) is not None:
                to_keys.add(key)
        if (key := _key(mail.from_addr)) is not None:
            from_keys.add(key)
    return to_keys, from_keys


def _key(address: str) -> str | None:
    """The key rows are counted by, or None for what is no address (no local part or no "@")."""
    local, at, _ = address.strip().rpartition("@")
    return address_key(address) if at and local else None
