"""Reading and answering App Store reviews through the App Store Connect API.

What a failure leaves behind: reads change nothing, so any error just ends the run early (the
watermark is only advanced by what the caller stores from a returned result). A reply is one POST
that creates or overwrites the review's single response; when it fails with `StoreUnavailable` the
response may or may not exist, so the caller reads `current_reply` before posting again, and posting
the same text twice is harmless anyway (an overwrite, never a second reply).

Reading new reviews follows the newest-first list and stops at the watermark: the newest createdDate
already stored plus the ids stored at that instant. Apple has no edit date and may surface a review
late, so `sweep_unanswered` is the slow second net for misses and text edits.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

import httpx

from mailbot.stores.apple_check import AppleCheck, CheckOutcome, check_app
from mailbot.stores.apple_http import DEFAULT_TIMEOUT, AppleHttp, json_of
from mailbot.stores.apple_json import reply_body, reply_document, review_page
from mailbot.stores.apple_keys import AppleCredentials, load_private_key
from mailbot.stores.apple_token import Clock, parse_rate_limit, system_clock
from mailbot.stores.model import Quota, StoreReply, StoreReview

PAGE_LIMIT = 200  # Apple's maximum
MAX_PAGES = 500  # 100,000 reviews: a pager whose `links.next` never ends stops here
BEGINNING = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class AppleWatermark:
    """The newest createdDate already stored for an app and the ids stored at exactly that instant."""

    created_at: datetime
    ids: frozenset[str] = field(default_factory=frozenset)

    def knows(self, review: StoreReview) -> bool:
        """True for a review at or before the watermark that is already stored (or older than it)."""
        return review.created_at < self.created_at or (
            review.created_at == self.created_at and review.review_id in self.ids
        )

    def advanced(self, new: list[StoreReview]) -> AppleWatermark:
        newest = max((r.created_at for r in new), default=self.created_at)
        if newest < self.created_at:
            return self
        at_newest = {r.review_id for r in new if r.created_at == newest}
        return AppleWatermark(
            newest, frozenset(at_newest | (self.ids if newest == self.created_at else set()))
        )


class AppleReviewsClient:
    """The reviews and responses of the apps one App Store Connect key may see."""

    def __init__(
        self,
        credentials: AppleCredentials,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT,
        clock: Clock = system_clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self._http = AppleHttp(credentials, timeout_seconds=timeout_seconds, clock=clock, transport=transport)

    def __repr__(self) -> str:
        return f"AppleReviewsClient(key_id={self.credentials.key_id!r}, kind={self.credentials.kind!r})"

    @property
    def quota(self) -> Quota:
        """What the last answer's X-Rate-Limit said (empty before the first call)."""
        return self._http.quota

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- reading ---------------------------------------------------------------------------------

    def reviews_newer_than(
        self, app_id: str, watermark: AppleWatermark | None
    ) -> tuple[list[StoreReview], AppleWatermark | None]:
        """Reviews created after the watermark (newest first) and the watermark to store with them.

        Pages are requested only until one reaches a review at or before the watermark; without a
        watermark (the first poll) every page is read. The included response comes with each review.
        """
        new: list[StoreReview] = []
        for page in self._pages(app_id, {"sort": "-createdDate"}):
            new.extend(r for r in page if watermark is None or not watermark.knows(r))
            if watermark is not None and any(r.created_at <= watermark.created_at for r in page):
                break
        if watermark is None:
            return new, AppleWatermark(BEGINNING).advanced(new) if new else None
        return new, watermark.advanced(new)

    def sweep_unanswered(self, app_id: str) -> list[StoreReview]:
        """Every review without a *published* response (pending ones included: decide from own state)."""
        found: list[StoreReview] = []
        for page in self._pages(app_id, {"sort": "-createdDate", "exists[publishedResponse]": "false"}):
            found.extend(page)
        return found

    def _pages(self, app_id: str, params: dict[str, str]) -> Iterator[list[StoreReview]]:
        """The pages of one list query, following `links.next`; a page is requested only when wanted."""
        url: str | None = f"/v1/apps/{app_id}/customerReviews"
        first: dict[str, str] | None = params | {"limit": str(PAGE_LIMIT), "include": "response"}
        for number in range(1, MAX_PAGES + 1):
            if url is None:
                return
            what = f"listing the reviews of app {app_id} (page {number})"
            response = self._http.request("GET", url, what, params=first)
            page, url, _ = review_page(json_of(response), app_id)
            first = None  # `links.next` carries the query and the cursor
            yield page

    # --- replies ---------------------------------------------------------------------------------

    def current_reply(self, review_id: str) -> StoreReply | None:
        """The response the review has now (pending or published), or None when it has none."""
        what = f"reading the response to review {review_id}"
        response = self._http.request("GET", f"/v1/customerReviews/{review_id}/response", what, allow=(404,))
        return None if response.status_code == 404 else reply_document(json_of(response))

    def post_reply(self, review_id: str, text: str) -> StoreReply:
        """Create the review's response, or overwrite the one it has; Apple answers PENDING_PUBLISH."""
        what = f"posting the response to review {review_id}"
        response = self._http.request(
            "POST", "/v1/customerReviewResponses", what, json=reply_body(review_id, text)
        )
        return reply_document(json_of(response))

    def reply_state(self, response_id: str) -> StoreReply:
        """The response as Apple holds it now (PENDING until screened, then PUBLISHED).

        StoreNotFound when it is gone (deleted in App Store Connect)."""
        what = f"reading response {response_id}"
        return reply_document(
            json_of(self._http.request("GET", f"/v1/customerReviewResponses/{response_id}", what))
        )

    def delete_reply(self, response_id: str) -> bool:
        """Delete a response; False when it was already gone (deleting is idempotent)."""
        what = f"deleting response {response_id}"
        response = self._http.request(
            "DELETE", f"/v1/customerReviewResponses/{response_id}", what, allow=(404,)
        )
        return response.status_code != 404

    def check(self, app_id: str) -> AppleCheck:
        """One read call that tells a working set-up from the usual set-up mistakes, with the fix."""
        return check_app(self._http, app_id)


__all__ = [
    "AppleCheck",
    "AppleCredentials",
    "AppleReviewsClient",
    "AppleWatermark",
    "CheckOutcome",
    "load_private_key",
    "parse_rate_limit",
]
