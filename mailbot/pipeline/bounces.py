"""A bounce of a mail we sent: recorded on that mail's ticket, and the team told the customer did not get it.

The SMTP server took our mail (the outbox row is "sent"); the customer's server refused it later and
sent a bounce to us. Such a bounce is ignored like every bounce (no ticket of its own, never an
answer), but when it names a mail of ours (a Message-ID signed by us or found in our outbox), the
ticket of that mail gets an event with what the bounce says (recipient, status, the server's words),
and the team a `delivery_failed` mail, as for a refusal at sending time. A bounce that only says the
delivery is delayed is an event, no mail. The team hears once per mail of ours however many bounces
name it (the outbox `dedup_key`), so forged bounces cost at most one team mail per mail we sent, and
only about the forger's own ticket unless they hold another customer's Message-ID.

Both steps run in the process stage's transaction: `bounce_hit` while deciding, `record_bounce` with
the decision's other effects, so a crash leaves either nothing or everything.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import InboundMail, OutboxMail, Ticket, TicketEvent
from mailbot.domain import ParsedMail, RuleEffect, RuleHit
from mailbot.parse.dsn import DeliveryReport, read_delivery_report
from mailbot.reply.compose import verify_message_id
from mailbot.reply.pending_outbox import before_reading, with_message_id
from mailbot.tickets.events_waiting import write_waiting
from mailbot.tickets.notify import mail_team
from mailbot.tickets.team_view import recipient_label

log = logging.getLogger(__name__)

RULE_NAME = "own_mail_bounced"
_SIGNED_SHAPE = re.compile(r"<mb\.[A-Za-z0-9._-]+\.[0-9a-f]{20}@")  # what make_message_id writes with a key
# the rules that say "a bounce" (mailbot.rules.bounce); Return-Path <> alone also marks absence notes
BOUNCE_RULES = frozenset({"daemon_sender", "failed_recipients", "bounce_subject"})
EXCERPT_CHARS = 1500  # of a plain-text bounce, the part that says why (the returned mail follows)
MAX_MAILS = 5  # of ours named in one bounce


@dataclass(frozen=True)
class Bounce:
    report: DeliveryReport
    mails: tuple[OutboxMail, ...]  # ours, named by the bounce, oldest first

    @property
    def delayed(self) -> bool:
        return self.report.only_delayed


def find_bounce(
    session: Session, app: App, raw: bytes, mail: ParsedMail, hits: Sequence[RuleHit]
) -> Bounce | None:
    """The mails of ours that `raw` reports undelivered (or delayed), when it is a bounce; else None.

    A bounce is a delivery status notification, or a mail the bounce rules fired on; a read receipt
    (multipart/report too) or an absence note (Return-Path <> too) is none.
    """
    said_bounce = any(hit.name in BOUNCE_RULES for hit in hits)
    if not (said_bounce or mail.content_type == "multipart/report"):
        return None
    report = read_delivery_report(raw)
    if not (report.is_dsn or said_bounce):
        return None
    if report.recipients and not (report.failed or report.only_delayed):
        return None  # "delivered" or "relayed": nothing went wrong
    mails = _our_mails(session, app, report.message_ids)
    return Bounce(report, mails) if mails else None


def bounce_hit(bounce: Bounce) -> RuleHit:
    """The rule hit that makes the decision IGNORE and says why, like the other loop guards."""
    first = bounce.mails[0]
    what = "delays" if bounce.delayed else "reports undelivered"
    return RuleHit(
        name=RULE_NAME,
        reason=f"a bounce that {what} our mail #{first.id} ({first.kind}) to {first.recipient}",
        effect=RuleEffect.IGNORE,
    )


def record_bounce(
    session: Session, app: App, row: InboundMail, mail: ParsedMail, hits: Sequence[RuleHit], now: datetime
) -> str | None:
    """Events on the tickets of the mails the bounce names, and a team mail for each that failed;
    the reference of the first ticket (for the log line)."""
    bounce = find_bounce(session, app, row.raw, mail, hits)
    if bounce is None:
        return None
    details = _details(bounce.report, mail)
    kind = "delivery_delayed" if bounce.delayed else "bounced"
    reference = None
    for ours in bounce.mails:
        ticket = session.get(Ticket, ours.ticket_id) if ours.ticket_id is not None else None
        if ticket is None:
            log.info("inbound #%s: a bounce of outbox #%s, which belongs to no ticket", row.id, ours.id)
            continue
        reference = reference or ticket.reference
        note = f"our {ours.kind} mail #{ours.id} to {ours.recipient}: {details}"[:2000]
        write_waiting(session)  # the batch's events come first in the ticket's history
        session.add(
            TicketEvent(
                mailbox=ticket.mailbox, ticket_id=ticket.id, at=now, kind=kind, inbound_id=row.id, note=note
            )
        )
        if bounce.delayed or not ours.to_customer:  # the team's own address bouncing cannot be told by mail
            continue
        mail_team(
            session, app, ticket, "delivery_failed", f"bounce:{ours.id}", now,
            reference=ticket.reference, recipient=recipient_label(ours.recipient, ticket),
            subject=ours.subject, error=details,
        )  # fmt: skip
        log.info(
            "inbound #%s: outbox #%s to %s bounced (%s)", row.id, ours.id, ours.recipient, ticket.reference
        )
    return reference


def _our_mails(session: Session, app: App, message_ids: Sequence[str]) -> tuple[OutboxMail, ...]:
    """The mails of this mailbox's outbox among `message_ids`; an id shaped like our signed ones whose
    signature does not verify is not even looked up (a forged or another installation's id)."""
    key = app.message_id_key
    wanted = [mid for mid in message_ids if verify_message_id(mid, key) or not _SIGNED_SHAPE.match(mid)]
    if not wanted:
        return ()
    before_reading(session, with_message_id(wanted))
    rows = session.scalars(
        select(OutboxMail)
        .where(OutboxMail.mailbox == app.mailbox, OutboxMail.message_id.in_(wanted))
        .order_by(OutboxMail.id)
        .limit(MAX_MAILS)
    )
    return tuple(rows)


def _details(report: DeliveryReport, mail: ParsedMail) -> str:
    """What the team reads as the server's answer: the DSN's fields, else the bounce's own words."""
    shown = report.failed or report.recipients
    if shown:
        return "; ".join(str(recipient) for recipient in shown)
    excerpt = mail.text[:EXCERPT_CHARS].strip()
    return f"{mail.subject}\n\n{excerpt}" if excerpt else mail.subject
