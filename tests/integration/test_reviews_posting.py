"""Posting approved review replies exactly once, on SQLite and PostgreSQL, whatever the store answers.

The store is a scripted channel here (its protocol is tested against the loopback stand-ins in
tests/e2e/test_reviews_*.py): these tests are about the database states around each call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreReviewRow
from mailbot.reviews.channel import Reading, Watermark
from mailbot.reviews.intake import store_reviews
from mailbot.reviews.posting import LEASE, post_approved
from mailbot.reviews.workflow import approve, edit
from mailbot.stores.model import (
    PublicState,
    Store,
    StoreRateLimited,
    StoreRejected,
    StoreReply,
    StoreReview,
    StoreUnavailable,
)
from tests.integration.db_rows import NOW, migrated


@dataclass
class ScriptedStore:
    """Holds one reply per review like the stores; `fail` scripts what the next post does."""

    store: Store = Store.GOOGLE
    app: str = "de.example.app"
    replies: dict[str, str] = field(default_factory=dict)
    posts: list[tuple[str, str]] = field(default_factory=list)
    reads: list[str] = field(default_factory=list)
    fail: list[str] = field(default_factory=list)  # "timeout-after-write", "timeout", "429", "400"

    def read_new(self, watermark: Watermark) -> Reading:
        return Reading((), watermark)

    def current_reply(self, review_id: str) -> StoreReply | None:
        self.reads.append(review_id)
        text = self.replies.get(review_id)
        return None if text is None else StoreReply(text, PublicState.PUBLISHED)

    def post_reply(self, review_id: str, text: str) -> StoreReply:
        failure = self.fail.pop(0) if self.fail else ""
        if failure == "429":
            raise StoreRateLimited("quota spent", retry_after_seconds=60)
        if failure == "400":
            raise StoreRejected("reply too long", status=400, code="INVALID_ARGUMENT")
        if failure == "timeout":
            raise StoreUnavailable("no answer in 30 s")
        self.posts.append((review_id, text))
        self.replies[review_id] = text
        if failure == "timeout-after-write":
            raise StoreUnavailable("no answer in 30 s")
        return StoreReply(text, PublicState.PUBLISHED)

    def close(self) -> None:
        pass


def review(number: int) -> StoreReview:
    return StoreReview(
        Store.GOOGLE, "de.example.app", f"gp:{number}", 5, "", f"Tolle App Nummer {number}", "Kim", NOW
    )


def no_problems(_review: object, _text: str) -> tuple[str, ...]:
    return ()


@pytest.fixture
def sessions(database_url):
    return migrated(database_url)


def approved_replies(sessions, count: int) -> list[int]:
    ids = []
    with sessions.begin() as session:
        intake = store_reviews(session, "mb", [review(n) for n in range(count)], NOW)
        for pk in intake.new:
            row = session.get_one(StoreReviewRow, pk)
            edit(session, row, f"Vielen Dank, Nummer {pk}!", "agent", NOW, no_problems)
            ids.append(approve(session, row, "agent", NOW).id)
    return ids


def states(sessions) -> list[str]:
    with sessions() as session:
        return [r.state for r in session.query(ReviewReply).order_by(ReviewReply.id)]


def test_an_approved_reply_is_posted_once_and_a_second_run_posts_nothing(sessions):
    store = ScriptedStore()
    approved_replies(sessions, 3)
    first = post_approved(sessions, "mb", store, NOW)
    again = post_approved(sessions, "mb", store, NOW + timedelta(hours=1))
    assert len(first.posted) == 3 and again.posted == []
    assert len(store.posts) == 3 and store.reads == []  # nothing to read back: every post was answered
    assert states(sessions) == [ReplyState.POSTED] * 3


def test_a_timeout_after_the_store_took_the_reply_is_not_posted_again(sessions):
    store = ScriptedStore(fail=["timeout-after-write"])
    (reply_id,) = approved_replies(sessions, 1)
    first = post_approved(sessions, "mb", store, NOW)
    assert first.waiting == [reply_id] and states(sessions) == [ReplyState.UNKNOWN]
    assert post_approved(sessions, "mb", store, NOW + timedelta(minutes=1)).posted == []  # waits its turn
    later = post_approved(sessions, "mb", store, NOW + timedelta(hours=1))
    assert later.found_posted == [reply_id]
    assert len(store.posts) == 1 and store.reads == ["gp:0"]
    assert states(sessions) == [ReplyState.POSTED]


def test_a_timeout_before_the_store_took_it_is_posted_after_reading_back(sessions):
    store = ScriptedStore(fail=["timeout"])
    approved_replies(sessions, 1)
    post_approved(sessions, "mb", store, NOW)
    later = post_approved(sessions, "mb", store, NOW + timedelta(hours=1))
    assert later.posted and not later.found_posted
    assert store.reads == ["gp:0"] and len(store.posts) == 1


def test_a_crash_between_claim_and_answer_reads_back_after_the_lease(sessions):
    store = ScriptedStore()
    (reply_id,) = approved_replies(sessions, 1)
    with sessions.begin() as session:  # what a crash right after the store took it leaves behind
        reply = session.get_one(ReviewReply, reply_id)
        reply.state, reply.lease_until, reply.attempts = ReplyState.POSTING, NOW + LEASE, 1
        store.replies["gp:0"] = reply.text
    assert post_approved(sessions, "mb", store, NOW).posted == []  # leased: someone may still be at it
    after = post_approved(sessions, "mb", store, NOW + LEASE + timedelta(seconds=1))
    assert after.found_posted == [reply_id] and store.posts == []


def test_a_quota_answer_stops_the_run_and_the_replies_go_out_later(sessions):
    store = ScriptedStore(fail=["429"])
    approved_replies(sessions, 3)
    first = post_approved(sessions, "mb", store, NOW)
    assert first.posted == [] and len(first.waiting) == 1  # the other two were not even tried
    assert store.posts == [] and states(sessions) == [ReplyState.APPROVED] * 3
    assert post_approved(sessions, "mb", store, NOW + timedelta(seconds=30)).posted == [2, 3]
    assert len(post_approved(sessions, "mb", store, NOW + timedelta(minutes=2)).posted) == 1
    assert len(store.posts) == 3


def test_a_refusal_marks_the_reply_failed_with_the_stores_reason_and_the_others_go_on(sessions):
    store = ScriptedStore(fail=["400"])
    approved_replies(sessions, 2)
    report = post_approved(sessions, "mb", store, NOW)
    assert len(report.failed) == 1 and len(report.posted) == 1
    with sessions() as session:
        failed = session.query(ReviewReply).filter_by(state=ReplyState.FAILED).one()
        assert "reply too long" in (failed.last_error or "")


def test_a_draft_is_never_posted_and_a_dry_run_posts_nothing(sessions):
    store = ScriptedStore()
    with sessions.begin() as session:
        intake = store_reviews(session, "mb", [review(1)], NOW)
        row = session.get_one(StoreReviewRow, intake.new[0])
        edit(session, row, "Danke!", "agent", NOW, no_problems)
    assert post_approved(sessions, "mb", store, NOW).posted == []
    approved_replies(sessions, 1)
    dry = post_approved(sessions, "mb", store, NOW, dry_run=True)
    assert dry.posted == [] and len(dry.waiting) == 1 and store.posts == []
    with sessions() as session:
        assert {r.state for r in session.query(ReviewReply)} == {ReplyState.DRAFT, ReplyState.APPROVED}
        assert all(r.state != ReviewState.DONE for r in session.query(ReviewReply))
