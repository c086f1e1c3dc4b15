"""A person's word on a review: approve the draft, edit it, or reject it. Pure database steps, one each.

A review is named by its number (`reviews.id`, shown as R<id>). Each step works on the review's open reply
(the newest that is a draft, failed or rejected); an edit of a review whose reply is already posted writes a
new reply that replaces it in the store once approved. The checker runs on every edit, and a reply with
problems cannot be approved: the person edits it until it passes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreReviewRow

OPEN = (ReplyState.DRAFT, ReplyState.FAILED, ReplyState.REJECTED)
IN_FLIGHT = (ReplyState.APPROVED, ReplyState.POSTING, ReplyState.UNKNOWN)
Checker = Callable[[StoreReviewRow, str], tuple[str, ...]]  # the problems of a text for a review


class WorkflowError(Exception):
    """The step does not fit the review's state; the message says what would."""


def review_by_number(session: Session, mailbox: str | None, number: str) -> StoreReviewRow:
    digits = number.strip().upper().removeprefix("R")
    review = session.get(StoreReviewRow, int(digits)) if digits.isdigit() else None
    if review is None or (mailbox is not None and review.mailbox != mailbox):
        raise WorkflowError(f"no review {number!r}: `mailbot reviews list` shows the numbers")
    return review


def latest_reply(session: Session, review: StoreReviewRow) -> ReviewReply | None:
    return session.scalar(
        select(ReviewReply).where(ReviewReply.review_pk == review.id).order_by(ReviewReply.id.desc()).limit(1)
    )


def approve(session: Session, review: StoreReviewRow, by: str, now: datetime) -> ReviewReply:
    reply = latest_reply(session, review)
    if reply is None or reply.state not in (ReplyState.DRAFT, ReplyState.FAILED):
        raise WorkflowError(
            f"R{review.id} has no draft to approve{_state(reply)}: write one with `reviews edit`"
        )
    if reply.problems:
        raise WorkflowError(
            f"R{review.id}'s draft cannot be posted: {'; '.join(reply.problems)}. Edit it first"
        )
    reply.state, reply.decided_by, reply.decided_at = ReplyState.APPROVED, by, now
    reply.auto, reply.attempts, reply.next_attempt_at, reply.last_error = False, 0, None, None
    review.state = ReviewState.DECIDED
    return reply


def edit(
    session: Session, review: StoreReviewRow, text: str, by: str, now: datetime, check: Checker
) -> ReviewReply:
    """Replace the open draft's text, or start a new one; the checker's problems are stored with it."""
    text = text.strip()
    if not text:
        raise WorkflowError("an empty reply cannot be posted: to answer nothing, use `reviews reject`")
    reply = latest_reply(session, review)
    if reply is not None and reply.state in IN_FLIGHT:
        raise WorkflowError(
            f"R{review.id}'s reply is being posted ({reply.state}): edit it after it is posted"
        )
    if reply is None or reply.state not in OPEN:
        reply = ReviewReply(mailbox=review.mailbox, review_pk=review.id, kind="manual", created_at=now)
        session.add(reply)
    reply.text, reply.problems = text, list(check(review, text))
    reply.state, reply.decided_by, reply.decided_at, reply.last_error = ReplyState.DRAFT, by, now, None
    review.state = ReviewState.DECIDED
    session.flush()
    return reply


def reject(session: Session, review: StoreReviewRow, by: str, now: datetime) -> ReviewReply | None:
    """No reply (or no new reply) to this review; a posted reply stays as it is in the store."""
    reply = latest_reply(session, review)
    if reply is not None and reply.state in IN_FLIGHT:
        raise WorkflowError(
            f"R{review.id}'s reply is being posted ({reply.state}): it cannot be rejected now"
        )
    if reply is not None and reply.state == ReplyState.DRAFT:
        reply.state, reply.decided_by, reply.decided_at = ReplyState.REJECTED, by, now
    review.state = ReviewState.DONE
    return reply


def _state(reply: ReviewReply | None) -> str:
    return "" if reply is None else f" (its reply is {reply.state})"
