"""Retention (issue 15): what the client's contract allows to keep, kept; the rest anonymised on schedule.

Due, per client (`[privacy]`, docs/privacy.md):
- a ticket `retention_days` after it was solved, or after its last activity when it was answered
  automatically and the customer never came back (it stays "answered"): the ticket, its events, every
  mail it received or sent, its learned example, its backend calls;
- ignored and quarantined mail without ticket `unhandled_retention_days` after receipt, with the mails
  sent about it (an out-of-hours acknowledgement); other mail without ticket after `retention_days`;
- mail sent without ticket or mail (report mails, digests) `retention_days` after it went out;
- the attachments of a ticket's mails `attachment_days` after it ended (its text stays longer);
- mailbot's copy of a store review `retention_days` after its last activity (privacy.review_retention).
Rows are anonymised the way an erasure does it (privacy.anonymise), so figures and reports of earlier
periods stay as they were. The work goes in batches, one transaction each: a crash loses at most the
batch in hand, which the next run does again. Logged with counts only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from mailbot.config import PrivacySettings
from mailbot.db.engine import release_erased_pages
from mailbot.db.schema import (
    EscalationJob,
    InboundMail,
    InboundState,
    LearnedExample,
    OutboxMail,
    OutboxState,
    Outcome,
    Ticket,
    TicketEvent,
)
from mailbot.domain import TicketState
from mailbot.privacy import anonymise, review_retention
from mailbot.privacy.attachments import without_attachments
from mailbot.privacy.folders import queue_folder_copies, queues_folder_copy

if TYPE_CHECKING:
    from mailbot.app import App

log = logging.getLogger(__name__)
BATCH = 200  # rows of one kind per transaction
RETENTION_MINUTES = 60  # how often the scheduler looks (a quiet query when nothing is due)
UNHANDLED = (Outcome.IGNORED, Outcome.QUARANTINED)


@dataclass(frozen=True)
class Cutoffs:
    """Rows older than these instants are due."""

    tickets: datetime
    unhandled: datetime
    attachments: datetime


def cutoffs(settings: PrivacySettings, now: datetime) -> Cutoffs:
    return Cutoffs(
        tickets=now - timedelta(days=settings.retention_days),
        unhandled=now - timedelta(days=settings.unhandled_retention_days),
        attachments=now - timedelta(days=settings.attachment_days),
    )


@dataclass
class Retained:
    """What one run did, as counts (the log line and `mailbot privacy retention` print them)."""

    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("tickets", "received_mails", "sent_mails"), 0)
    )

    def add(self, kind: str, n: int) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n

    @property
    def total(self) -> int:
        return sum(self.counts.values())


# a step anonymises one batch in the given session and returns how many rows of each kind it did
Step = Callable[[Session, "Stand", Cutoffs, datetime, int], dict[str, int]]


@dataclass(frozen=True)
class Stand:
    """Who the client is and how to name a person after their data is gone."""

    mailbox: str
    key: bytes
    folders: bool = False  # the mail server's copies are deleted with the rows ([privacy] folders)
    # one person's many rows (a ticket's mails, answers, notices): the IDNA work once per address
    known: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def pseudonym(self, address: str | None) -> str | None:
        if not address or anonymise.is_pseudonym(address):
            return address
        if address not in self.known:
            self.known[address] = anonymise.pseudonym(self.key, address)
        return self.known[address]


def apply_retention(
    app: App, now: datetime | None = None, batch: int = BATCH, *, dry_run: bool = False
) -> Retained:
    """Anonymise what is due for one client; return the counts (`dry_run`: count, change nothing)."""
    now = now or app.clock()
    due = cutoffs(app.settings.privacy, now)
    imap = app.settings.imap is not None
    stand = Stand(
        app.mailbox,
        app.message_id_key,
        imap and queues_folder_copy(app.settings.privacy.folders, "retention"),
    )
    done = Retained()
    if dry_run:
        with app.sessions() as session:
            for step in STEPS:
                for kind, n in step(session, stand, due, now, 2**31 - 1).items():
                    done.add(kind, n)
            session.rollback()
        return done
    for step in STEPS:
        while True:
            with app.sessions.begin() as session:
                counts = step(session, stand, due, now, batch)
            for kind, n in counts.items():
                done.add(kind, n)
            if not any(counts.values()):
                break
    if done.total:
        release_erased_pages(app.engine)
        log.info(
            "retention for client %s: %s",
            app.mailbox,
            ", ".join(f"{kind.replace('_', ' ')} {n}" for kind, n in done.counts.items() if n),
        )
    return done


def ended_before(cutoff: datetime) -> ColumnElement[bool]:
    """A ticket that ended before `cutoff`: solved, or answered automatically and never followed up (its
    last activity is its end)."""
    return or_(
        and_(Ticket.state == TicketState.SOLVED, Ticket.resolved_at < cutoff),
        and_(Ticket.state == TicketState.ANSWERED, Ticket.updated_at < cutoff),
    )


def due_tickets(session: Session, mailbox: str, due: Cutoffs, limit: int) -> Sequence[Ticket]:
    return session.scalars(
        select(Ticket)
        .where(Ticket.mailbox == mailbox, Ticket.erased_at.is_(None), ended_before(due.tickets))
        .order_by(Ticket.id)
        .limit(limit)
    ).all()


def _attachments(session: Session, stand: Stand, due: Cutoffs, now: datetime, limit: int) -> dict[str, int]:
    """`attachment_days` after a ticket ended, its mails (received, and sent: a team notice carries the
    original) keep their text and lose their attachments; the rest of them stays until `retention_days`."""
    ended = select(Ticket.id).where(
        Ticket.mailbox == stand.mailbox, Ticket.erased_at.is_(None), ended_before(due.attachments)
    )
    received = session.scalars(
        select(InboundMail)
        .where(
            InboundMail.mailbox == stand.mailbox,
            InboundMail.ticket_id.in_(ended),
            InboundMail.attachments_removed_at.is_(None),
            InboundMail.erased_at.is_(None),
        )
        .order_by(InboundMail.id)
        .limit(limit)
    ).all()
    if not received:
        return {}
    note = f"Removed {now.date().isoformat()}, [privacy] attachment_days after the ticket ended."
    removed = 0
    for mail in received:
        stripped = without_attachments(mail.raw, note) if mail.raw else mail.raw
        removed += stripped != mail.raw
        mail.raw, mail.attachments_removed_at = stripped, now
    tickets = {mail.ticket_id for mail in received}
    for sent in _sent(session, stand, OutboxMail.ticket_id.in_(tickets)):
        if sent.raw:
            sent.raw = without_attachments(sent.raw, note)
    # a mail without attachments is looked at once, too: it counts as looked at, not as removed
    return {"attachments_removed": removed, "mails_looked_at_for_attachments": len(received)}


def _tickets(session: Session, stand: Stand, due: Cutoffs, now: datetime, limit: int) -> dict[str, int]:
    tickets = due_tickets(session, stand.mailbox, due, limit)
    ids = [t.id for t in tickets]
    if not ids:
        return {}
    for ticket in tickets:
        anonymise.ticket(ticket, stand.pseudonym(ticket.customer) or "", now)
    received = session.scalars(
        select(InboundMail).where(
            InboundMail.mailbox == stand.mailbox,
            InboundMail.ticket_id.in_(ids),
            InboundMail.erased_at.is_(None),
        )
    ).all()
    _received(session, stand, received, now)
    sent = _sent(session, stand, OutboxMail.ticket_id.in_(ids))
    for mail in sent:
        anonymise.outbox(mail, stand.pseudonym(mail.recipient), now)
    for event in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id.in_(ids))):
        anonymise.event(event)
    for example in session.scalars(
        select(LearnedExample).where(
            LearnedExample.mailbox == stand.mailbox, LearnedExample.ticket_id.in_(ids)
        )
    ):
        anonymise.learned(example)
    for job in session.scalars(select(EscalationJob).where(EscalationJob.ticket_id.in_(ids))):
        anonymise.job(job, now)
    return {"tickets": len(tickets), "received_mails": len(received), "sent_mails": len(sent)}


def _mail_without_ticket(
    session: Session, stand: Stand, due: Cutoffs, now: datetime, limit: int
) -> dict[str, int]:
    unhandled = or_(InboundMail.state == InboundState.QUARANTINED, InboundMail.outcome.in_(UNHANDLED))
    is_due = or_(
        and_(unhandled, InboundMail.received_at < due.unhandled),
        and_(~unhandled, InboundMail.processed_at < due.tickets),
    )
    received = session.scalars(
        select(InboundMail)
        .where(
            InboundMail.mailbox == stand.mailbox,
            InboundMail.ticket_id.is_(None),
            InboundMail.erased_at.is_(None),
            InboundMail.state.in_((InboundState.DONE, InboundState.QUARANTINED)),
            is_due,
        )
        .order_by(InboundMail.id)
        .limit(limit)
    ).all()
    if not received:
        return {}
    _received(session, stand, received, now)
    sent = _sent(
        session, stand, OutboxMail.inbound_id.in_([m.id for m in received]), OutboxMail.ticket_id.is_(None)
    )
    for mail in sent:
        anonymise.outbox(mail, stand.pseudonym(mail.recipient), now)
    return {"received_mails": len(received), "sent_mails": len(sent)}


def _sent(
    session: Session, stand: Stand, *where: ColumnElement[bool], limit: int | None = None
) -> Sequence[OutboxMail]:
    """The client's sent (or failed) mails not anonymised yet that match `where`: a mail still waiting to
    go out is left to go (retention never cancels a mail; an erasure does, privacy.anonymise)."""
    query = (
        select(OutboxMail)
        .where(
            OutboxMail.mailbox == stand.mailbox,
            OutboxMail.erased_at.is_(None),
            OutboxMail.state.in_((OutboxState.SENT, OutboxState.FAILED)),
            *where,
        )
        .order_by(OutboxMail.id)
    )
    return session.scalars(query if limit is None else query.limit(limit)).all()


def _received(session: Session, stand: Stand, received: Sequence[InboundMail], now: datetime) -> None:
    if stand.folders:  # before the rows lose the Message-ID the copies are found by
        queue_folder_copies(session, stand.mailbox, received, "retention", now)
    for mail in received:
        anonymise.inbound(mail, stand.pseudonym(mail.from_addr) or "", now)


def _sent_alone(session: Session, stand: Stand, due: Cutoffs, now: datetime, limit: int) -> dict[str, int]:
    """Mail sent without ticket (reports, digests, and mail whose own mail is still kept), or left over
    from a ticket anonymised while it was waiting to go."""
    erased_tickets = select(Ticket.id).where(Ticket.mailbox == stand.mailbox, Ticket.erased_at.is_not(None))
    sent = _sent(
        session,
        stand,
        # a mail still waiting when its ticket was anonymised is done here once it went (or failed)
        or_(OutboxMail.ticket_id.is_(None), OutboxMail.ticket_id.in_(erased_tickets)),
        func.coalesce(OutboxMail.sent_at, OutboxMail.created_at) < due.tickets,
        limit=limit,
    )
    for mail in sent:
        anonymise.outbox(mail, stand.pseudonym(mail.recipient), now)
    return {"sent_mails": len(sent)}


STEPS: tuple[Step, ...] = (
    _tickets,
    _mail_without_ticket,
    _sent_alone,
    _attachments,
    review_retention.reviews,
)
