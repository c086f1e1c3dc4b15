"""Retention of store reviews (issue 16): mailbot's copy of a review is anonymised `retention_days` after
its last activity (seen, edited, or a reply decided or posted), like a ticket after it ended.

The review itself stays public in the store; what mailbot drops is its copy of the reviewer's nickname and
words, and the texts of the replies (a person's edit may quote them). Kept: store, app, rating, language,
the decision, the ticket link and the reply states, so that report figures stay as they were. The text's
digest stays too, so that a sweep that meets the review again does not take it for an edit.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.db.schema import ReviewReply, StoreReviewRow

if TYPE_CHECKING:
    from mailbot.privacy.retention import Cutoffs, Stand

ERASED = ""


def reviews(session: Session, stand: Stand, due: Cutoffs, now: datetime, limit: int) -> dict[str, int]:
    last_reply = (
        select(func.max(func.coalesce(ReviewReply.posted_at, ReviewReply.decided_at, ReviewReply.created_at)))
        .where(ReviewReply.review_pk == StoreReviewRow.id)
        .scalar_subquery()
    )
    last = func.coalesce(last_reply, StoreReviewRow.edited_at, StoreReviewRow.first_seen_at)
    rows = session.scalars(
        select(StoreReviewRow)
        .where(
            StoreReviewRow.mailbox == stand.mailbox,
            StoreReviewRow.erased_at.is_(None),
            func.coalesce(StoreReviewRow.edited_at, StoreReviewRow.first_seen_at) < due.tickets,
            last < due.tickets,
        )
        .order_by(StoreReviewRow.id)
        .limit(limit)
    ).all()
    for row in rows:
        row.title = row.body = row.author = ERASED
        row.reason, row.erased_at = ERASED, now
        for reply in session.scalars(select(ReviewReply).where(ReviewReply.review_pk == row.id)):
            reply.text, reply.problems, reply.last_error = ERASED, [], None
    return {"reviews": len(rows)} if rows else {}
