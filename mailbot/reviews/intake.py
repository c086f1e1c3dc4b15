"""Store what a poll read: a new review becomes a row, an edited one updates its row, the rest is skipped.

The unique key (store, app, review id) does the de-duplication, so two workers or a repeated poll store a
review once. An edit is a change of rating, title or body (Apple has no edit time, so the text's digest is
compared; Google's lastModified moves too): the row takes the new text and is decided again; if a reply was
already posted, a person decides (mailbot.reviews.decide).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import ReviewState, StoreReviewRow, clean_text
from mailbot.stores.model import StoreReview

TEXT_LIMIT = 10_000  # characters kept of a title or body; the stores allow ~4,000
AUTHOR_LIMIT = 200


@dataclass
class Intake:
    new: list[int] = field(default_factory=list)  # row ids to decide
    edited: list[int] = field(default_factory=list)  # row ids to decide again
    unchanged: int = 0


def text_digest(review: StoreReview) -> str:
    return hashlib.sha256(f"{review.rating}\0{review.title}\0{review.body}".encode()).hexdigest()


def store_reviews(session: Session, mailbox: str, reviews: Sequence[StoreReview], now: datetime) -> Intake:
    """Insert or update `reviews` (all of one app) in the caller's transaction."""
    intake = Intake()
    if not reviews:
        return intake
    store, app = reviews[0].store, reviews[0].app
    ids = [r.review_id for r in reviews]
    stored = {
        row.review_id: row
        for row in session.scalars(
            select(StoreReviewRow).where(
                StoreReviewRow.store == store, StoreReviewRow.app == app, StoreReviewRow.review_id.in_(ids)
            )
        )
    }
    for review in reviews:
        row = stored.get(review.review_id)
        digest = text_digest(review)
        if row is None:
            row = StoreReviewRow(
                mailbox=mailbox,
                store=review.store.value,
                app=review.app,
                review_id=review.review_id,
                created_at=review.created_at,
                first_seen_at=now,
                state=ReviewState.NEW,
                **_text(review, digest),
            )
            session.add(row)
            session.flush()
            stored[review.review_id] = row
            intake.new.append(row.id)
        elif row.erased_at is None and row.text_sha256 != digest:
            for name, value in _text(review, digest).items():
                setattr(row, name, value)
            row.edited_at = now
            row.state = ReviewState.NEW
            intake.edited.append(row.id)
        else:
            intake.unchanged += 1
    return intake


def _text(review: StoreReview, digest: str) -> dict[str, object]:
    return {
        "rating": max(1, min(5, review.rating)),
        "title": clean_text(review.title, TEXT_LIMIT),
        "body": clean_text(review.body, TEXT_LIMIT),
        "author": clean_text(review.author, AUTHOR_LIMIT),
        "territory": review.territory[:10],
        "app_version": review.app_version[:60],
        "modified_at": review.modified_at,
        "text_sha256": digest,
    }
