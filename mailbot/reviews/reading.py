"""What the models say about the reviews waiting to be decided: language, articles model, severity guess
and detectors, worked out outside any write transaction (mailbot.reviews.drafting applies them)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from mailbot.app import App
from mailbot.classify.normalise import classification_text
from mailbot.db.schema import ReviewState, StoreReviewRow
from mailbot.domain import Prediction, SeverityGuess
from mailbot.reviews.detect import DetectorHit, detect
from mailbot.reviews.language import ReviewLanguage, review_language
from mailbot.reviews.settings import AppleApp, GoogleApp

BATCH = 200  # reviews decided per transaction


@dataclass(frozen=True)
class Reading:
    """What the models say about one review: worked out before the write transaction, which they would
    otherwise hold for the whole batch (on SQLite that stops the mail worker meanwhile)."""

    digest: str  # of the text read; a review edited meanwhile is read again in the next round
    language: ReviewLanguage
    prediction: Prediction
    severity: SeverityGuess
    hits: tuple[DetectorHit, ...]


def read_new(app: App, store_app: AppleApp | GoogleApp) -> dict[int, Reading]:
    with app.sessions() as session:
        rows = session.execute(
            select(StoreReviewRow.id, StoreReviewRow.title, StoreReviewRow.body, StoreReviewRow.text_sha256)
            .where(
                StoreReviewRow.mailbox == app.mailbox,
                StoreReviewRow.store == store_app.store,
                StoreReviewRow.app == store_app.app,
                StoreReviewRow.state == ReviewState.NEW,
            )
            .order_by(StoreReviewRow.created_at, StoreReviewRow.id)
            .limit(BATCH)
        ).all()
    if not rows:
        return {}
    predictions = app.classifier.predict_texts(
        [classification_text(title, body) for _, title, body, _ in rows]
    )
    default = app.settings.support.default_language
    return {
        pk: Reading(
            digest,
            review_language(title, body, default),
            prediction,
            app.severity.guess(title, body),
            detect(title, body),
        )
        for (pk, title, body, digest), prediction in zip(rows, predictions, strict=True)
    }
