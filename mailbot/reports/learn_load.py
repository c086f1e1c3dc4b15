"""Read the ticket histories that `mailbot kb learn` selects from: the only I/O of the selection.

Four queries whatever the history's length (the tickets a person answered or whose severity was
corrected, their events, their mails' decisions), in chunks of ids like mailbot.reports.load. Reading
only: selecting candidates changes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.chunks import in_chunks
from mailbot.db.schema import InboundMail, Outcome, Ticket, TicketEvent
from mailbot.reports.learn_select import (
    ANSWER_KINDS,
    BY_MAIL,
    CLOSING,
    ESCALATED,
    FAILURE_KINDS,
    Event,
    TicketHistory,
)
from mailbot.tickets.correction import EVENT as CORRECTION_EVENT

WANTED = (ESCALATED, *ANSWER_KINDS, *FAILURE_KINDS, CLOSING, CORRECTION_EVENT)
REQUEST_OUTCOMES = (Outcome.ESCALATED, Outcome.ANSWERED)


def load_histories(session: Session, mailbox: str, since: datetime | None = None) -> list[TicketHistory]:
    """The histories of `mailbox`'s tickets (created at or after `since`) that a person answered or
    whose severity an agent corrected."""
    query = (
        select(Ticket.id)
        .where(Ticket.mailbox == mailbox)
        .where(
            Ticket.id.in_(
                select(TicketEvent.ticket_id).where(
                    TicketEvent.mailbox == mailbox,
                    TicketEvent.kind.in_([*ANSWER_KINDS, CORRECTION_EVENT]),
                )
            )
        )
        .order_by(Ticket.id)
    )
    if since is not None:
        query = query.where(Ticket.created_at >= since)
    ids = list(session.scalars(query))
    events = _events(session, ids)
    rankings, sent = _decisions(session, ids)
    histories = []
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(Ticket.id, Ticket.reference, Ticket.language, Ticket.subject, Ticket.text_excerpt).where(
                Ticket.id.in_(chunk)
            )
        ):
            history = tuple(
                Event(
                    e.at, e.kind, e.note, e.inbound_id, sent.get(e.inbound_id) if e.kind == BY_MAIL else None
                )
                for e in events.get(row.id, ())
            )
            histories.append(
                TicketHistory(
                    ticket_id=row.id,
                    reference=row.reference or "",
                    language=row.language,
                    subject=row.subject or "",
                    excerpt=row.text_excerpt or "",
                    events=history,
                    ranking=rankings.get(row.id, ()),
                )
            )
    return sorted(histories, key=lambda history: history.ticket_id)


def _events(session: Session, ids: Sequence[int]) -> dict[int, list[Any]]:
    found: dict[int, list[Any]] = defaultdict(list)
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(
                TicketEvent.ticket_id,
                TicketEvent.at,
                TicketEvent.kind,
                TicketEvent.note,
                TicketEvent.inbound_id,
            )
            .where(TicketEvent.ticket_id.in_(chunk), TicketEvent.kind.in_(WANTED))
            .order_by(TicketEvent.at, TicketEvent.id)
        ):
            found[row.ticket_id].append(row)
    return found


def _decisions(
    session: Session, ids: Sequence[int]
) -> tuple[dict[int, tuple[tuple[str, float], ...]], dict[int, str]]:
    """ticket id -> the ranking of its first request's decision; inbound id of a member's answer by
    mail -> the suggested article it sent."""
    rankings: dict[int, tuple[tuple[str, float], ...]] = {}
    sent: dict[int, str] = {}
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(InboundMail.id, InboundMail.ticket_id, InboundMail.outcome, InboundMail.decision)
            .where(
                InboundMail.ticket_id.in_(chunk),
                InboundMail.outcome.in_([*REQUEST_OUTCOMES, Outcome.AGENT_ANSWER]),
            )
            .order_by(InboundMail.id)
        ):
            decision = row.decision or {}
            if row.outcome == Outcome.AGENT_ANSWER:
                if decision.get("article_id"):
                    sent[row.id] = str(decision["article_id"])
            elif row.ticket_id not in rankings:
                prediction = decision.get("prediction") or {}
                rankings[row.ticket_id] = tuple(
                    (str(pair[0]), float(pair[1])) for pair in prediction.get("ranking") or ()
                )
    return rankings, sent
