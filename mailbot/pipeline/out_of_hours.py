"""Out-of-hours acknowledgements (`outside_hours = "acknowledge"`): "we are back on Tuesday at 08:00".

Mail that arrives while the business calendar is closed is stored but not decided until the next
opening (in arrival order), unless the contract lets it be decided at once (mailbot.pipeline.deferral:
urgent faults, confident answers with `answer_outside_hours`). In acknowledge mode each mail from a
person that is still waiting after that gets this one short note; the rules decide who is a person
(no note to auto-replies, bounces, lists or loops, nor over the daily limits per recipient and per
sender), `rules.reply_target` where it goes (a Reply-To only where an answer would go there too), and
the outbox's dedup key makes it once per mail.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from mailbot.db.schema import InboundMail, InboundState
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail
from mailbot.pipeline.process import rule_context
from mailbot.reply.compose import threading_headers
from mailbot.reply.outbox import Outgoing, enqueue
from mailbot.rules import apply_rules
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
    settings = app.settings
    queued = 0
    with app.sessions.begin() as session:
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
                mail = parse_mail(row.raw, default_language=settings.support.default_language)
            except Quarantine:
                continue  # decided (quarantined) at the opening, with its reason
            context = rule_context(session, app, mail, now)
            hits = apply_rules(mail, context)
            if hits:
                log.info("no out-of-hours note for inbound #%s: %s", row.id, hits[0].reason)
                continue
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
            enqueue(
                session, app.renderer, sender_of(app), app.mailbox, item,
                ticket_id=None, inbound_id=row.id, now=now, dedup_key=key,
            )  # fmt: skip
            queued += 1
    return queued
