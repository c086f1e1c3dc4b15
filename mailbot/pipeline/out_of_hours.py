"""Out-of-hours acknowledgements (`outside_hours = "acknowledge"`): "we are back on Tuesday at 08:00".

Mail that arrives while the business calendar is closed is stored but not decided until the next
opening (in arrival order), unless the contract lets it be decided at once (mailbot.pipeline.deferral:
urgent faults, confident answers with `answer_outside_hours`). In acknowledge mode each mail from a
person that is still waiting after that gets this one short note; the rules decide who is a person
(no note to auto-replies, bounces, lists or loops, nor over the daily limits per recipient and per
sender), `rules.reply_target` where it goes (a Reply-To only where an answer would go there too), and
the outbox's dedup key makes it once per mail.

One mail's failure of any kind fails that mail's note alone, never the pass: each mail is handled in
a savepoint; an address that cannot be sent to gives a failed row at enqueue (the team is told), and
any other error is logged and recorded as a failed note (`mailbot status` lists it), so that it is not
retried, and logged again, on every pass of a closed weekend. The mail itself waits for the opening
and is decided then like any other.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.engine import begin_write
from mailbot.db.schema import InboundMail, InboundState, OutboxState
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail
from mailbot.pipeline.rule_context import rule_context
from mailbot.reply.compose import threading_headers
from mailbot.reply.outbox import Outgoing, enqueue, store_failed
from mailbot.reply.outbox_states import NOT_SENT
from mailbot.rules import apply_rules, header_only
from mailbot.rules.reply_target import reply_target
from mailbot.tickets.notify import already_queued, sender_of

if TYPE_CHECKING:
    from mailbot.app import App

log = logging.getLogger(__name__)


def acknowledge_out_of_hours(app: App) -> int:
    """Queue the out-of-hours note for every waiting mail that has none; return how many.

    Called after the mail that may be decided outside hours was decided, so that mail gets its answer or
    acknowledgement and no note."""
    now = app.clock()
    opening = app.calendar.next_opening(now)
    if opening is None:
        return 0
    queued = 0
    with app.sessions.begin() as session:
        begin_write(session)  # each note's savepoint commits with the rest, not alone
        waiting = session.scalars(
            select(InboundMail)
            .where(InboundMail.mailbox == app.mailbox, InboundMail.state == InboundState.RECEIVED)
            .order_by(InboundMail.received_at, InboundMail.id)
        ).all()
        for row in waiting:
            key = f"out_of_hours:{row.id}"
            if already_queued(session, app.mailbox, key):
                continue
            try:
                with session.begin_nested():
                    queued += _note(session, app, row, key, opening, now)
            except Exception as exc:  # one mail's failure is this mail's alone
                log.exception("no out-of-hours note for inbound #%s", row.id)
                _record_failure(session, app, row, key, f"{NOT_SENT}{type(exc).__name__}: {exc}", now)
    return queued


def _note(session: Session, app: App, row: InboundMail, key: str, opening: datetime, now: datetime) -> int:
    """Queue the note for one waiting mail; 0 when it gets none."""
    settings = app.settings
    try:
        mail = parse_mail(row.raw, default_language=settings.support.default_language)
    except Quarantine:
        return 0  # decided (quarantined) at the opening, with its reason
    if header_only.stored_header_only(row.size, len(row.raw)):
        mail = header_only.mark(mail)  # released with --force: no automatic mail (rules.header_only)
    context = rule_context(session, app, mail, now)
    hits = apply_rules(mail, context)
    if hits:
        log.info("no out-of-hours note for inbound #%s: %s", row.id, hits[0].reason)
        return 0
    target = reply_target(mail, context)  # the same trust as any answer: no relay via Reply-To
    if target.note:
        log.info("out-of-hours note for inbound #%s: %s", row.id, target.note)
    threading = threading_headers(mail.message_id, mail.references)
    item = Outgoing(
        kind="out_of_hours",
        language=mail.language,
        recipient=target.address,
        to_customer=True,
        context={
            "customer_name": target.name,
            "support_name": settings.support.name,
            "subject": mail.subject,
            "next_opening": opening.astimezone(app.calendar.zone),
        },
        in_reply_to=threading.get("In-Reply-To"),
        references=threading.get("References", "").split(),
    )
    row_out = enqueue(
        session, app.renderer, sender_of(app), app.mailbox, item,
        ticket_id=None, inbound_id=row.id, now=now, dedup_key=key,
    )  # fmt: skip
    return 1 if row_out.state == OutboxState.PENDING else 0


def _record_failure(
    session: Session, app: App, row: InboundMail, key: str, error: str, now: datetime
) -> None:
    """The failed note on record, so it is not tried (and logged) again on every pass; if even that
    fails, the log line above is all there is, and the next pass tries again."""
    try:
        with session.begin_nested():
            store_failed(
                session, sender_of(app), app.mailbox, kind="out_of_hours", recipient=row.from_addr or "",
                subject=row.subject or "", error=error, inbound_id=row.id, now=now, dedup_key=key,
            )  # fmt: skip
    except Exception:
        log.exception("the failed out-of-hours note for inbound #%s could not be recorded", row.id)
