"""One pass over a client's store apps: read new reviews, decide and draft, post what is approved.

Each app is on its own: a key that cannot be read, a store that is down or a spent quota is recorded on
that app (mailbot.reviews.poll) and the next app goes on. The steps of an app run in order (poll, sweep,
decide, post, follow Apple's screening) over one client object, so its calls are strictly sequential, as
both stores ask. Polling waits `poll_minutes` between looks (`reviews run` on the command line looks now);
an approved reply goes out at the next pass whether or not a poll is due.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select

from mailbot.app import App
from mailbot.db.schema import ReplyState, ReviewReply, StoreApp, StoreReviewRow
from mailbot.errors import ConfigError
from mailbot.reviews.channels import AppleChannel, GoogleChannel, open_channel
from mailbot.reviews.drafting import DraftReport, draft_new
from mailbot.reviews.intake import store_reviews
from mailbot.reviews.poll import PollResult, poll_app, record_failure
from mailbot.reviews.posting import PostReport, post_approved
from mailbot.reviews.settings import AppleApp, GoogleApp
from mailbot.reviews.warnings import warn_if_failing
from mailbot.stores.model import PublicState, StoreError

log = logging.getLogger(__name__)
SWEEP_EVERY = timedelta(hours=24)
SYNC_LIMIT = 50  # pending Apple replies looked at per pass

Opener = Callable[[AppleApp | GoogleApp, float], AppleChannel | GoogleChannel]


@dataclass
class AppPass:
    store: str
    app: str
    name: str
    poll: PollResult | None = None
    drafts: DraftReport | None = None
    posts: PostReport | None = None
    published: int = 0
    error: str = ""
    would_post: list[tuple[int, str]] = field(default_factory=list)  # --dry-run: (review number, text)


@dataclass
class ReviewsPass:
    apps: list[AppPass] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        found = []
        for one in self.apps:
            if one.error:
                found.append(f"{one.store} {one.app}: {one.error}")
            if one.posts is not None:
                found.extend(f"{one.store} {one.app}: {error}" for error in one.posts.errors)
        return found


def reviews_pass(
    app: App, now: datetime, *, dry_run: bool = False, force: bool = True, opener: Opener = open_channel
) -> ReviewsPass:
    """`force`: poll every app now (the command); else only apps whose `poll_minutes` are up (the worker)."""
    settings = app.settings.reviews
    done = ReviewsPass()
    if settings is None:
        return done
    for store_app in settings.apps:
        poll = force or _poll_due(app, store_app, now, settings.poll_minutes)
        one = AppPass(store_app.store, store_app.app, store_app.name)
        if not poll:  # the database's part first: "fixed" follow-ups, reviews a crash left undecided
            one.drafts = draft_new(app, store_app, now)
            if not _work_waits(app, store_app, now):
                if one.drafts.decided or one.drafts.drafted:
                    done.apps.append(one)
                continue  # nothing to read yet, nothing to post: no key read, no connection
        done.apps.append(one)
        try:
            channel = opener(store_app, settings.timeout_seconds)
        except ConfigError as exc:
            one.error = str(exc)
            record_failure(app.sessions, app.mailbox, store_app.store, store_app.app, one.error[:2000], now)
            log.warning("reviews %s %s: %s", store_app.store, store_app.app, one.error)
            warn_if_failing(app, store_app, now)
            continue
        try:
            _one_app(app, store_app, channel, now, dry_run, one, poll)
        finally:
            channel.close()
        warn_if_failing(app, store_app, now)
    return done


def _one_app(
    app: App,
    store_app: AppleApp | GoogleApp,
    channel: AppleChannel | GoogleChannel,
    now: datetime,
    dry_run: bool,
    one: AppPass,
    poll: bool,
) -> None:
    if poll:
        one.poll = poll_app(app.sessions, app.mailbox, channel, now)
        if one.poll.error:
            one.error = one.poll.error
        elif _sweep_due(app, store_app, now):
            _sweep(app, channel, now)
        one.drafts = draft_new(app, store_app, now)
    one.posts = post_approved(app.sessions, app.mailbox, channel, now, dry_run=dry_run)
    if dry_run:
        one.would_post = _texts(app, one.posts.waiting)
    elif isinstance(channel, AppleChannel):
        one.published = _follow_screening(app, channel, now)


def _poll_due(app: App, store_app: AppleApp | GoogleApp, now: datetime, minutes: int) -> bool:
    with app.sessions() as session:
        row = session.get(StoreApp, (store_app.store, store_app.app))
    return row is None or row.polled_at is None or now - row.polled_at >= timedelta(minutes=minutes)


def _work_waits(app: App, store_app: AppleApp | GoogleApp, now: datetime) -> bool:
    """A reply to post (approved, or unknown and due), or one Apple is still screening."""
    with app.sessions() as session:
        found = session.scalar(
            select(ReviewReply.id)
            .join(StoreReviewRow, StoreReviewRow.id == ReviewReply.review_pk)
            .where(
                StoreReviewRow.store == store_app.store,
                StoreReviewRow.app == store_app.app,
                or_(
                    ReviewReply.state.in_((ReplyState.APPROVED, ReplyState.UNKNOWN, ReplyState.POSTING)),
                    ReviewReply.public_state == PublicState.PENDING.value,
                ),
                or_(ReviewReply.next_attempt_at.is_(None), ReviewReply.next_attempt_at <= now),
            )
            .limit(1)
        )
    return found is not None


def _sweep_due(app: App, store_app: AppleApp | GoogleApp, now: datetime) -> bool:
    """Once a day; not right after the first poll, which read every review there is."""
    with app.sessions.begin() as session:
        row = session.get(StoreApp, (store_app.store, store_app.app))
        if row is None:
            return False
        if row.swept_at is None:
            row.swept_at = now
            return False
        return now - row.swept_at >= SWEEP_EVERY


def _sweep(app: App, channel: AppleChannel | GoogleChannel, now: datetime) -> None:
    """Apple's text edits (and anything a poll missed) among the reviews without a published reply."""
    try:
        found = channel.sweep()
    except StoreError as exc:
        log.warning("reviews %s %s: sweep failed: %s", channel.store, channel.app, exc.detail)
        return
    with app.sessions.begin() as session:
        intake = store_reviews(session, app.mailbox, found, now)
        row = session.get_one(StoreApp, (channel.store.value, channel.app))
        row.swept_at = now
    if intake.new or intake.edited:
        log.info(
            "reviews %s %s: sweep found %d new, %d edited",
            channel.store,
            channel.app,
            len(intake.new),
            len(intake.edited),
        )


def _follow_screening(app: App, channel: AppleChannel, now: datetime) -> int:
    """Apple publishes a reply after screening: mark the ones that are public now."""
    with app.sessions() as session:
        pending = session.execute(
            select(ReviewReply.id, StoreReviewRow.review_id)
            .join(StoreReviewRow, StoreReviewRow.id == ReviewReply.review_pk)
            .where(
                StoreReviewRow.store == channel.store.value,
                StoreReviewRow.app == channel.app,
                ReviewReply.state == ReplyState.POSTED,
                ReviewReply.public_state == PublicState.PENDING.value,
            )
            .order_by(ReviewReply.id)
            .limit(SYNC_LIMIT)
        ).all()
    published = 0
    for reply_id, review_id in pending:
        try:
            current = channel.current_reply(review_id)
        except StoreError as exc:
            log.warning("reviews apple %s: screening state not read: %s", channel.app, exc.detail)
            break
        if current is not None and current.state is PublicState.PUBLISHED:
            with app.sessions.begin() as session:
                session.get_one(ReviewReply, reply_id).public_state = PublicState.PUBLISHED.value
            published += 1
    return published


def _texts(app: App, reply_ids: list[int]) -> list[tuple[int, str]]:
    with app.sessions() as session:
        return [
            (reply.review_pk, reply.text) for reply in (session.get_one(ReviewReply, i) for i in reply_ids)
        ]


def print_pass(done: ReviewsPass) -> int:
    from mailbot.terminal import safe_line, safe_text

    if not done.apps:
        print("no store apps configured ([[reviews.apps]] in the client's configuration)")
        return 0
    for one in done.apps:
        head = f"{one.store} {one.app} ({safe_line(one.name)})"
        if one.poll is not None and one.poll.intake is not None:
            intake = one.poll.intake
            head += f": {len(intake.new)} new, {len(intake.edited)} edited"
        print(head)
        if one.drafts is not None and one.drafts.decided:
            decided = ", ".join(f"{action} {n}" for action, n in sorted(one.drafts.decided.items()))
            auto = one.drafts.auto_approved
            print(f"  decided: {decided}; drafts {one.drafts.drafted} ({auto} approved automatically)")
        if one.drafts is not None and one.drafts.tickets:
            print(f"  tickets: {', '.join(one.drafts.tickets)}")
        if one.posts is not None and one.posts.posted:
            print(f"  posted: {len(one.posts.posted)} replies")
        if one.posts is not None and not one.would_post:
            if one.posts.waiting:
                print(f"  not posted yet: {len(one.posts.waiting)} (tried again at a later run)")
            if one.posts.failed:
                print(f"  refused by the store: {len(one.posts.failed)} (`mailbot reviews list` shows them)")
            for error in one.posts.errors:
                print(f"  store: {safe_line(error)}")
        if one.published:
            print(f"  published by Apple since the last look: {one.published}")
        for number, text in one.would_post:
            print(f"  would post to R{number}:")
            print("    " + safe_text(text).replace("\n", "\n    "))
        if one.error:
            print(f"  problem: {safe_line(one.error)}")
    return 1 if done.errors else 0
