"""The database side of `mailbot kb gaps`: the unanswered mails of a range, and the gaps of earlier runs.

Reads mails and tickets only (two queries plus one per 500 tickets); writes nothing but the client's
rows of `kb_gaps`, in one transaction after the run found its clusters, so a failed run leaves the
earlier ids as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.chunks import in_chunks
from mailbot.db.schema import InboundMail, KnowledgeBaseGap, Outcome, Ticket
from mailbot.reports.gap_ids import KnownGap
from mailbot.reports.gap_model import NEAR_MARGIN, Cluster, GapMail

NO_FAULT = (None, "", "none")


def load_gap_mails(
    session: Session, mailbox: str, since: datetime, until: datetime, margin: float = NEAR_MARGIN
) -> list[GapMail]:
    """The requests of `mailbox` that arrived in [since, until) and found no confident answer:
    escalated because no article was sure enough (or out of scope), escalated faults, and answers
    given below threshold + `margin`. Escalations the knowledge base meant (an article with
    `action: escalate` that is no fault, a second question, a sender who may get no automatic mail)
    are no gap and are left out (out-of-scope mail is kept: its confidence is 0)."""
    rows = session.execute(
        select(
            InboundMail.id,
            InboundMail.received_at,
            InboundMail.outcome,
            InboundMail.language,
            InboundMail.decision,
            InboundMail.ticket_id,
        )
        .where(
            InboundMail.mailbox == mailbox,
            InboundMail.received_at >= since,
            InboundMail.received_at < until,
            InboundMail.outcome.in_([Outcome.ANSWERED, Outcome.ESCALATED]),
            InboundMail.ticket_id.is_not(None),
        )
        .order_by(InboundMail.id)
    ).all()
    tickets = _tickets(session, sorted({row.ticket_id for row in rows}))
    mails = []
    for row in rows:
        ticket = tickets.get(row.ticket_id)
        why = _why(row, ticket, margin) if ticket is not None else None
        if why is None:
            continue
        prediction = (row.decision or {}).get("prediction") or {}
        mails.append(
            GapMail(
                inbound_id=row.id,
                arrived_at=row.received_at,
                subject=ticket.subject or "",
                text=ticket.text_excerpt or "",
                why=why,
                reference=ticket.reference,
                language=row.language or ticket.language,
                sender=ticket.customer,
                article_id=prediction.get("article_id"),
                confidence=prediction.get("confidence"),
                severity=None if ticket.severity in NO_FAULT else ticket.severity,
            )
        )
    return mails


def _why(row: Any, ticket: Any, margin: float) -> str | None:
    """Why a request counts as unanswered, or None when it does not."""
    prediction = (row.decision or {}).get("prediction") or {}
    confidence, threshold = prediction.get("confidence"), prediction.get("threshold")
    unsure = confidence is None or threshold is None or confidence < threshold
    if row.outcome == Outcome.ANSWERED:
        near = confidence is not None and threshold is not None and confidence < threshold + margin
        return "near_threshold" if near else None
    if ticket.severity not in NO_FAULT:
        return "fault"
    return "not_confident" if unsure else None


def _tickets(session: Session, ids: Sequence[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for chunk in in_chunks(ids):
        for row in session.execute(
            select(
                Ticket.id,
                Ticket.reference,
                Ticket.subject,
                Ticket.text_excerpt,
                Ticket.language,
                Ticket.customer,
                Ticket.severity,
            ).where(Ticket.id.in_(chunk))
        ):
            found[row.id] = row
    return found


def load_known_gaps(session: Session, mailbox: str) -> list[KnownGap]:
    rows = session.scalars(
        select(KnowledgeBaseGap).where(KnowledgeBaseGap.mailbox == mailbox).order_by(KnowledgeBaseGap.gap_id)
    )
    return [KnownGap(row.gap_id, frozenset(row.members), dict(row.terms)) for row in rows]


def save_gaps(
    session: Session, mailbox: str, clusters: Sequence[Cluster], ids: Sequence[str], now: datetime
) -> None:
    """Remember this run's clusters under their ids (earlier gaps not seen again stay as they were)."""
    for cluster, gap_id in zip(clusters, ids, strict=True):
        row = session.get(KnowledgeBaseGap, (mailbox, gap_id))
        if row is None:
            row = KnowledgeBaseGap(mailbox=mailbox, gap_id=gap_id, first_seen_at=now)
            session.add(row)
        row.title = cluster.title[:300]
        row.terms = dict(cluster.terms)
        row.members = list(cluster.members)
        row.last_seen_at = now
