"""Read a client's facts from the database: the one place of mailbot.reports that does I/O.

Four queries per load, whatever the number of requests (the mails, their tickets, the tickets' events,
their automatic replies), in chunks of ids so that no statement grows with the history. Reading only:
a report never changes a ticket.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.chunks import in_chunks
from mailbot.db.schema import InboundMail, LearnedExample, OutboxMail, Outcome, Ticket, TicketEvent
from mailbot.reports.facts import Facts, RequestFact
from mailbot.tickets.correction import parse_correction

REQUEST_OUTCOMES = (Outcome.ANSWERED, Outcome.ESCALATED, Outcome.IGNORED, Outcome.QUARANTINED)
AUTOMATIC_KINDS = ("answer", "acknowledgement")
# ticket event kind -> the RequestFact field its time goes to
EVENT_FIELDS = {
    "agent_reply": "human_replies",
    "solved": "human_replies",  # solving with a message is an answer too (tickets.service sets responded_at)
    "escalated": "escalations",
    "reopened": "reopens",
    "customer_closing": "thanks",
    "customer_reply": "customer_replies",
}
SOLVED_KIND = "solved"
FAILURE_KIND = "failure_signal"
CORRECTION_KIND = "severity_corrected"


def load_facts(session: Session, mailbox: str, since: datetime, until: datetime) -> Facts:
    """The requests and follow-ups of `mailbox` that arrived in [since, until), with their tickets'
    histories (events at any time up to now)."""
    rows = session.execute(
        select(
            InboundMail.id,
            InboundMail.received_at,
            InboundMail.outcome,
            InboundMail.language,
            InboundMail.reason,
            InboundMail.decision,
            InboundMail.ticket_id,
        )
        .where(
            InboundMail.mailbox == mailbox,
            InboundMail.received_at >= since,
            InboundMail.received_at < until,
            InboundMail.outcome.in_([*REQUEST_OUTCOMES, Outcome.FOLLOW_UP]),
        )
        .order_by(InboundMail.received_at, InboundMail.id)
    ).all()
    follow_ups = tuple(row.received_at for row in rows if row.outcome == Outcome.FOLLOW_UP)
    requests = [row for row in rows if row.outcome != Outcome.FOLLOW_UP]
    ticket_ids = sorted({row.ticket_id for row in requests if row.ticket_id is not None})
    tickets = _tickets(session, ticket_ids)
    history = _events(session, ticket_ids)
    first_sent = _automatic_replies(session, ticket_ids)
    relabelled = _agent_articles(session, mailbox, ticket_ids)
    facts = [
        replace(
            _fact(mailbox, row, tickets, history, first_sent), agent_article=relabelled.get(row.ticket_id)
        )
        for row in requests
    ]
    return Facts(mailbox, tuple(facts), follow_ups)


def _tickets(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(
                Ticket.id,
                Ticket.reference,
                Ticket.external_key,
                Ticket.customer,
                Ticket.severity,
                Ticket.sla_started_at,
                Ticket.response_due_at,
                Ticket.resolution_due_at,
            ).where(Ticket.id.in_(chunk))
        ):
            found[row.id] = row
    return found


def _events(session: Session, ids: Sequence[int]) -> dict[int, dict[str, list[Any]]]:
    """ticket id -> fact field -> times (failures: (time, kind)); solves also under "solves"."""
    found: dict[int, dict[str, list[Any]]] = defaultdict(lambda: defaultdict(list))
    wanted = [*EVENT_FIELDS, FAILURE_KIND, CORRECTION_KIND]
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(TicketEvent.ticket_id, TicketEvent.kind, TicketEvent.at, TicketEvent.note)
            .where(TicketEvent.ticket_id.in_(chunk), TicketEvent.kind.in_(wanted))
            .order_by(TicketEvent.at, TicketEvent.id)
        ):
            fields = found[row.ticket_id]
            if row.kind == FAILURE_KIND:
                fields["failures"].append((row.at, row.note.split(":", 1)[0].strip() or "negative"))
                continue
            if row.kind == CORRECTION_KIND:
                corrected = parse_correction(row.note)
                if corrected is not None:
                    fields["corrections"].append(corrected)
                continue
            fields[EVENT_FIELDS[row.kind]].append(row.at)
            if row.kind == SOLVED_KIND:
                fields["solves"].append(row.at)
    return found


def _agent_articles(session: Session, mailbox: str, ids: Sequence[int]) -> dict[int, str]:
    """ticket id -> the article an agent confirmed its question belongs to (`mailbot kb learn`)."""
    found: dict[int, str] = {}
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(LearnedExample.ticket_id, LearnedExample.target).where(
                LearnedExample.mailbox == mailbox,
                LearnedExample.ticket_id.in_(chunk),
                LearnedExample.decision == "accepted",
                LearnedExample.candidate.like("t%"),
            )
        ):
            if row.ticket_id is not None and row.target:
                found[row.ticket_id] = row.target
    return found


def _automatic_replies(session: Session, ids: Sequence[int]) -> dict[int, dict[str, datetime]]:
    """ticket id -> kind -> when its first automatic reply of that kind was sent (queued, if not yet)."""
    found: dict[int, dict[str, datetime]] = defaultdict(dict)
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(OutboxMail.ticket_id, OutboxMail.kind, OutboxMail.sent_at, OutboxMail.created_at).where(
                OutboxMail.ticket_id.in_(chunk), OutboxMail.kind.in_(AUTOMATIC_KINDS)
            )
        ):
            at = row.sent_at or row.created_at
            kinds = found[row.ticket_id]
            if row.kind not in kinds or at < kinds[row.kind]:
                kinds[row.kind] = at
    return found


def _fact(
    mailbox: str,
    row: Any,
    tickets: dict[int, Any],
    history: dict[int, dict[str, list[Any]]],
    first_sent: dict[int, dict[str, datetime]],
) -> RequestFact:
    decision = row.decision or {}
    prediction = decision.get("prediction") or {}
    ticket = tickets.get(row.ticket_id) if row.ticket_id is not None else None
    events = history.get(row.ticket_id, {}) if row.ticket_id is not None else {}
    sent = first_sent.get(row.ticket_id, {}) if row.ticket_id is not None else {}
    ignored = row.outcome in (Outcome.IGNORED, Outcome.QUARANTINED)
    corrections = events.get("corrections", [])
    severity = ticket.severity if ticket else None
    return RequestFact(
        inbound_id=row.id,
        mailbox=mailbox,
        arrived_at=row.received_at,
        outcome=str(row.outcome),
        language=row.language,
        ignore_reason=row.reason if ignored else None,
        article_id=decision.get("article_id") or prediction.get("article_id"),
        confidence=prediction.get("confidence"),
        threshold=prediction.get("threshold"),
        model_version=prediction.get("model_version"),
        ticket_id=row.ticket_id,
        reference=ticket.reference if ticket else None,
        external_key=ticket.external_key if ticket else None,
        customer_key=ticket.customer if ticket else None,
        severity=severity,
        guessed_severity=corrections[0][0] if corrections else severity,
        severity_corrected=bool(corrections),
        sla_started_at=ticket.sla_started_at if ticket else None,
        response_due_at=ticket.response_due_at if ticket else None,
        resolution_due_at=ticket.resolution_due_at if ticket else None,
        first_auto_reply_at=min(sent.values(), default=None),
        first_acknowledgement_at=sent.get("acknowledgement"),
        human_replies=tuple(events.get("human_replies", ())),
        escalations=tuple(events.get("escalations", ())),
        solves=tuple(events.get("solves", ())),
        reopens=tuple(events.get("reopens", ())),
        thanks=tuple(events.get("thanks", ())),
        customer_replies=tuple(events.get("customer_replies", ())),
        failures=tuple(events.get("failures", ())),
    )
