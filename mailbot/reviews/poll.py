"""Read one app's new reviews and store them, so that no review is missed and none is stored twice.

What a failure leaves behind: the reviews of a poll and the moved watermark are committed together, so a
crash or a store error before the commit leaves the old watermark, and the next poll reads the same reviews
again (the unique key makes that harmless). A failed poll is recorded on the app's row (since when, why);
Google lists only the last 7 days, so `failing_too_long` tells the caller when to warn the team. A quota
answer (429) sets `wait_until`: no call to that store for the app before then.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.schema import StoreApp
from mailbot.reviews.channel import ReviewChannel, Watermark
from mailbot.reviews.intake import Intake, store_reviews
from mailbot.stores.model import StoreError, StoreRateLimited

log = logging.getLogger(__name__)
QUOTA_WAIT = timedelta(minutes=15)  # when a 429 names no Retry-After


@dataclass(frozen=True)
class PollResult:
    store: str
    app: str
    intake: Intake | None  # None: nothing was read
    error: str = ""  # one line, no secrets
    skipped: str = ""  # why no call was made (quota wait)


def poll_app(
    sessions: sessionmaker[Session], mailbox: str, channel: ReviewChannel, now: datetime
) -> PollResult:
    store, app = channel.store.value, channel.app
    with sessions.begin() as session:
        row = _app_row(session, mailbox, store, app)
        if row.wait_until is not None and row.wait_until > now:
            return PollResult(store, app, None, skipped=f"quota: waiting until {row.wait_until:%H:%M} UTC")
        watermark = Watermark(row.watermark_at, frozenset(row.watermark_ids or ()))
    try:
        reading = channel.read_new(watermark)
    except StoreError as exc:
        return _failed(sessions, mailbox, store, app, exc, now)
    with sessions.begin() as session:
        intake = store_reviews(session, mailbox, reading.reviews, now)
        row = _app_row(session, mailbox, store, app)
        if reading.watermark.at is not None:
            row.watermark_at, row.watermark_ids = reading.watermark.at, sorted(reading.watermark.ids)
        row.polled_at = row.succeeded_at = now
        row.failing_since = row.last_error = row.warned_at = row.wait_until = None
    log.info(
        "reviews %s %s: %d new, %d edited, %d unchanged",
        store, app, len(intake.new), len(intake.edited), intake.unchanged,
    )  # fmt: skip
    return PollResult(store, app, intake)


def failing_too_long(row: StoreApp, now: datetime, days: float) -> bool:
    """True once polling has failed for `days` and the team was not told yet."""
    return (
        row.failing_since is not None and row.warned_at is None and now - row.failing_since >= timedelta(days)
    )


def _failed(
    sessions: sessionmaker[Session], mailbox: str, store: str, app: str, exc: StoreError, now: datetime
) -> PollResult:
    error = f"{type(exc).__name__}: {exc.detail}"
    wait = None
    if isinstance(exc, StoreRateLimited):
        wait = timedelta(seconds=exc.retry_after_seconds) if exc.retry_after_seconds else QUOTA_WAIT
    record_failure(sessions, mailbox, store, app, error, now, wait)
    log.warning("reviews %s %s: poll failed: %s", store, app, error)
    return PollResult(store, app, None, error=error)


def record_failure(
    sessions: sessionmaker[Session],
    mailbox: str,
    store: str,
    app: str,
    error: str,
    now: datetime,
    wait: timedelta | None = None,
) -> None:
    """A look at the app that failed (a store's answer, or a key that cannot be read): since when, why."""
    with sessions.begin() as session:
        row = _app_row(session, mailbox, store, app)
        row.polled_at, row.last_error = now, error
        if row.failing_since is None:
            row.failing_since = now
        if wait is not None:
            row.wait_until = now + wait


def _app_row(session: Session, mailbox: str, store: str, app: str) -> StoreApp:
    row = session.get(StoreApp, (store, app))
    if row is None:
        row = StoreApp(store=store, app=app, mailbox=mailbox, watermark_ids=[])
        session.add(row)
        session.flush()
    return row
