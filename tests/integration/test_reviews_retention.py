"""mailbot's copy of a store review is anonymised `retention_days` after its last activity."""

from __future__ import annotations

from datetime import timedelta

from mailbot.config import PrivacySettings
from mailbot.db.schema import ReviewReply, StoreReviewRow
from mailbot.privacy.retention import Stand, cutoffs
from mailbot.privacy.review_retention import reviews
from mailbot.reviews.intake import store_reviews
from mailbot.reviews.workflow import edit
from mailbot.stores.model import Store, StoreReview
from tests.integration.db_rows import NOW, migrated


def test_a_review_and_its_replies_lose_their_words_after_retention_days_and_keep_their_figures(database_url):
    sessions = migrated(database_url)
    with sessions.begin() as session:
        old = StoreReview(Store.APPLE, "1", "old", 2, "Mist", "Geht nicht, Kim aus Köln", "Kim1984", NOW)
        new = StoreReview(Store.APPLE, "1", "new", 5, "Top", "Super App", "Lou", NOW)
        intake = store_reviews(session, "mb", [old, new], NOW)
        first = session.get_one(StoreReviewRow, intake.new[0])
        edit(session, first, "Danke, wir kümmern uns.", "agent", NOW, lambda _r, _t: ())
    later = NOW + timedelta(days=181)
    with sessions.begin() as session:
        recent = session.get_one(StoreReviewRow, intake.new[1])
        recent.edited_at = later - timedelta(days=1)  # the reviewer changed it yesterday
        done = reviews(session, Stand("mb", b"k"), cutoffs(PrivacySettings(), later), later, 200)
    assert done == {"reviews": 1}
    with sessions() as session:
        gone, kept = (
            session.get_one(StoreReviewRow, intake.new[0]),
            session.get_one(StoreReviewRow, intake.new[1]),
        )
        assert (gone.title, gone.body, gone.author, gone.rating, gone.erased_at is not None) == (
            "",
            "",
            "",
            2,
            True,
        )
        assert [r.text for r in session.query(ReviewReply)] == [""]
        assert kept.body == "Super App" and kept.erased_at is None
