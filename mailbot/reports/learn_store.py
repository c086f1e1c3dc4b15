"""Remember the agents' decisions on learning candidates, so that each is offered once.

A table, not a file: the candidates come from the tickets in the same database, the decision belongs
to the client like its tickets (`mailbox`), a unique key (client, candidate) keeps it once even when two
agents decide at the same moment, and every worker and every copy of the installation sees it. A file
in the knowledge-base folder would itself be a change of the knowledge base (and retrain the model).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import LearnedExample

ACCEPTED, REJECTED = "accepted", "rejected"


def decided(session: Session, mailbox: str) -> frozenset[str]:
    """The candidate ids of `mailbox` that an agent accepted or rejected."""
    return frozenset(
        session.scalars(select(LearnedExample.candidate).where(LearnedExample.mailbox == mailbox))
    )


def record(
    session: Session,
    mailbox: str,
    candidate: str,
    ticket_id: int | None,
    decision: str,
    now: datetime,
    *,
    target: str = "",
    path: str = "",
    text: str = "",
) -> LearnedExample:
    """Store one decision (in the caller's transaction; the unique key refuses a second one)."""
    row = LearnedExample(
        mailbox=mailbox,
        candidate=candidate,
        ticket_id=ticket_id,
        decision=decision,
        target=target,
        path=path,
        text=text,
        decided_at=now,
    )
    session.add(row)
    session.flush()
    return row
