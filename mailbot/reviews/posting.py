"""Post approved replies to the stores, each exactly once, whatever the network does.

What a failure leaves behind: a reply is marked `posting` (with a lease) and committed before the store is
called. If the store answers, the answer is recorded; if it does not (timeout, 5xx, a crash of mailbot), the
row stays `posting` or becomes `unknown`, and the next attempt first reads the reply the store holds: when
that is our text, the post went through and is recorded instead of repeated. The stores keep one reply per
review and a post replaces it, so even a repeat would not show two replies; reading back keeps the store's
record (and Apple's screening) from being reset for nothing. A quota answer puts the reply back as approved
for later; a refusal (400/403/404/409/422) marks it failed with the store's reason, for a person.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreReviewRow
from mailbot.reviews.channel import ReviewChannel
from mailbot.stores.model import StoreError, StoreRateLimited, StoreReply, StoreUnavailable

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
RETRY_WAIT = timedelta(minutes=10)  # after a store that did not answer
QUOTA_WAIT = timedelta(minutes=15)
MAX_ATTEMPTS = 6  # then the reply is failed for a person to look at
_SPACE = re.compile(r"\s+")


@dataclass
class PostReport:
    posted: list[int] = field(default_factory=list)  # reply ids the store now holds
    found_posted: list[int] = field(default_factory=list)  # ... of which a read-back found there
    waiting: list[int] = field(default_factory=list)  # to try again later
    failed: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def same_text(ours: str, theirs: str) -> bool:
    """The store may trim or fold whitespace (Google strips HTML, which our replies never contain)."""
    return _SPACE.sub(" ", ours).strip() == _SPACE.sub(" ", theirs).strip()


def post_approved(
    sessions: sessionmaker[Session],
    mailbox: str,
    channel: ReviewChannel,
    now: datetime,
    *,
    dry_run: bool = False,
) -> PostReport:
    """Post every due approved reply of `channel`'s app, one at a time (the stores want sequential calls)."""
    report = PostReport()
    for reply_id in _due(sessions, mailbox, channel, now):
        claimed = _claim(sessions, reply_id, now, dry_run)
        if claimed is None:
            continue
        review_id, text, read_back = claimed
        if dry_run:
            report.waiting.append(reply_id)
            continue
        try:
            current = channel.current_reply(review_id) if read_back else None
            if current is not None and same_text(text, current.text):
                _posted(sessions, reply_id, current, now)
                report.posted.append(reply_id)
                report.found_posted.append(reply_id)
                continue
            answer = channel.post_reply(review_id, text)
        except StoreRateLimited as exc:
            wait = timedelta(seconds=exc.retry_after_seconds) if exc.retry_after_seconds else QUOTA_WAIT
            _again(
                sessions,
                reply_id,
                ReplyState.APPROVED if not read_back else ReplyState.UNKNOWN,
                now + wait,
                exc,
            )
            report.waiting.append(reply_id)
            report.errors.append(f"reply {reply_id}: {exc.detail}")
            break  # the quota is the key's or the app's: the next reply would get the same answer
        except StoreUnavailable as exc:
            _again(sessions, reply_id, ReplyState.UNKNOWN, now + RETRY_WAIT, exc)
            report.waiting.append(reply_id)
            report.errors.append(f"reply {reply_id}: {exc.detail}")
            continue
        except StoreError as exc:
            _fail(sessions, reply_id, exc)
            report.failed.append(reply_id)
            report.errors.append(f"reply {reply_id}: {exc.detail}")
            continue
        _posted(sessions, reply_id, answer, now)
        report.posted.append(reply_id)
    return report


def _due(sessions: sessionmaker[Session], mailbox: str, channel: ReviewChannel, now: datetime) -> list[int]:
    with sessions() as session:
        return list(
            session.scalars(
                select(ReviewReply.id)
                .join(StoreReviewRow, StoreReviewRow.id == ReviewReply.review_pk)
                .where(
                    ReviewReply.mailbox == mailbox,
                    StoreReviewRow.store == channel.store.value,
                    StoreReviewRow.app == channel.app,
                    or_(
                        ReviewReply.state.in_((ReplyState.APPROVED, ReplyState.UNKNOWN)),
                        (ReviewReply.state == ReplyState.POSTING) & (ReviewReply.lease_until < now),
                    ),
                    or_(ReviewReply.next_attempt_at.is_(None), ReviewReply.next_attempt_at <= now),
                )
                .order_by(ReviewReply.id)
            )
        )


def _claim(
    sessions: sessionmaker[Session], reply_id: int, now: datetime, dry_run: bool
) -> tuple[str, str, bool] | None:
    """Mark the reply `posting` and commit, before the store is called; None when someone else has it."""
    with sessions.begin() as session:
        reply = session.get(ReviewReply, reply_id, with_for_update={"skip_locked": True})
        if reply is None:
            return None
        leased = (
            reply.state == ReplyState.POSTING and reply.lease_until is not None and reply.lease_until >= now
        )
        if reply.state not in (ReplyState.APPROVED, ReplyState.UNKNOWN, ReplyState.POSTING) or leased:
            return None
        review = session.get_one(StoreReviewRow, reply.review_pk)
        read_back = reply.state != ReplyState.APPROVED or reply.attempts > 0
        if not dry_run:
            reply.state, reply.lease_until, reply.attempts = (
                ReplyState.POSTING,
                now + LEASE,
                reply.attempts + 1,
            )
        return review.review_id, reply.text, read_back


def _posted(sessions: sessionmaker[Session], reply_id: int, answer: StoreReply, now: datetime) -> None:
    with sessions.begin() as session:
        reply = session.get_one(ReviewReply, reply_id)
        reply.state, reply.posted_at, reply.lease_until = ReplyState.POSTED, now, None
        reply.public_state, reply.response_id, reply.last_error = answer.state.value, answer.response_id, None
        review = session.get_one(StoreReviewRow, reply.review_pk)
        review.state = ReviewState.DONE
    log.info("review reply %d posted (%s)", reply_id, answer.state.value)


def _again(
    sessions: sessionmaker[Session], reply_id: int, state: str, when: datetime, exc: StoreError
) -> None:
    with sessions.begin() as session:
        reply = session.get_one(ReviewReply, reply_id)
        reply.last_error = f"{type(exc).__name__}: {exc.detail}"
        if reply.attempts >= MAX_ATTEMPTS:
            reply.state, reply.lease_until = ReplyState.FAILED, None
            return
        reply.state, reply.next_attempt_at, reply.lease_until = state, when, None
    log.warning(
        "review reply %d: %s; again after %s", reply_id, exc.detail, when.isoformat(timespec="minutes")
    )


def _fail(sessions: sessionmaker[Session], reply_id: int, exc: StoreError) -> None:
    with sessions.begin() as session:
        reply = session.get_one(ReviewReply, reply_id)
        reply.state, reply.lease_until = ReplyState.FAILED, None
        reply.last_error = f"{type(exc).__name__}: {exc.detail}"
    log.warning("review reply %d refused by the store: %s", reply_id, exc.detail)
