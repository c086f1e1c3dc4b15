"""The store clients (mailbot.stores) behind the ReviewChannel face, built from a client's `[[reviews.apps]]`.

Apple lists every review there ever was, newest first: the poll pages back to the watermark only, and a
daily sweep of the unanswered ones finds text edits (Apple gives no edit time). Google lists only the last
7 days, edits included, in a page or two: each poll reads them all and the unique key sorts out what is new.
"""

from __future__ import annotations

from mailbot.reviews.channel import Reading, Watermark
from mailbot.reviews.settings import AppleApp, GoogleApp
from mailbot.stores.apple import AppleCredentials, AppleReviewsClient, AppleWatermark, load_private_key
from mailbot.stores.google import GooglePlayReviewsClient, load_service_account
from mailbot.stores.model import Store, StoreReply, StoreReview


def key_source(path: object, env: str | None) -> str:
    """The clients' notation: a file path, or "env:NAME" for an environment variable."""
    return f"env:{env}" if env else str(path)


class AppleChannel:
    store = Store.APPLE

    def __init__(self, settings: AppleApp, timeout_seconds: float) -> None:
        self.app = settings.app_id
        pem = load_private_key(key_source(settings.private_key_path, settings.private_key_env))
        credentials = AppleCredentials(settings.key_id, settings.issuer_id, pem, settings.api_url)
        self.client = AppleReviewsClient(credentials, timeout_seconds=timeout_seconds)

    def read_new(self, watermark: Watermark) -> Reading:
        known = AppleWatermark(watermark.at, watermark.ids) if watermark.at is not None else None
        reviews, moved = self.client.reviews_newer_than(self.app, known)
        after = Watermark(moved.created_at, moved.ids) if moved is not None else watermark
        return Reading(tuple(reviews), after)

    def sweep(self) -> tuple[StoreReview, ...]:
        return tuple(self.client.sweep_unanswered(self.app))

    def current_reply(self, review_id: str) -> StoreReply | None:
        return self.client.current_reply(review_id)

    def post_reply(self, review_id: str, text: str) -> StoreReply:
        return self.client.post_reply(review_id, text)

    def check(self) -> tuple[bool, str, str]:
        found = self.client.check(self.app)
        return found.ok, found.outcome.value, found.message

    def close(self) -> None:
        self.client.close()


class GoogleChannel:
    store = Store.GOOGLE

    def __init__(self, settings: GoogleApp, timeout_seconds: float) -> None:
        self.app = settings.package
        credentials = load_service_account(
            key_source(settings.service_account_path, settings.service_account_env)
        )
        self.client = GooglePlayReviewsClient(
            credentials, api_base=settings.api_url, timeout_seconds=timeout_seconds
        )

    def read_new(self, watermark: Watermark) -> Reading:
        reviews = self.client.recent_reviews(self.app)
        newest = max((r.modified_at or r.created_at for r in reviews), default=None)
        at = max(filter(None, (newest, watermark.at)), default=None)
        return Reading(tuple(reviews), Watermark(at, frozenset()))

    def sweep(self) -> tuple[StoreReview, ...]:
        return ()  # every poll reads the whole 7-day window, edits included

    def current_reply(self, review_id: str) -> StoreReply | None:
        return self.client.current_reply(self.app, review_id)

    def post_reply(self, review_id: str, text: str) -> StoreReply:
        return self.client.post_reply(self.app, review_id, text)

    def check(self) -> tuple[bool, str, str]:
        found = self.client.check(self.app)
        return found.ok, found.outcome.value, found.message

    def close(self) -> None:
        self.client.close()


def open_channel(settings: AppleApp | GoogleApp, timeout_seconds: float) -> AppleChannel | GoogleChannel:
    """Reads the key (ConfigError naming the file or variable and the fix when it is unusable)."""
    if isinstance(settings, AppleApp):
        return AppleChannel(settings, timeout_seconds)
    return GoogleChannel(settings, timeout_seconds)
