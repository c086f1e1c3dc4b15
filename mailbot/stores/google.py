"""Google Play Developer API (androidpublisher v3): read an app's recent reviews, read and post replies.

What a failure leaves behind: reading changes nothing in the store. A reply either arrives or not, and
after a timeout, a dropped connection or a 5xx (`StoreUnavailable`) nobody knows which: the caller reads
the reply back with `current_reply` before posting again (reviews.reply replaces a reply, so a second
post is no duplicate, but it must not overwrite a newer text, and the quota counts it). A reply Google
would refuse or alter (over 350 characters, HTML) is refused here, before any request.

One `httpx.Client` per client object, requests strictly one after the other, every call bounded as a
whole (`BoundedTransport`). A 401 gets one new token and one retry. Google keeps reviews listable for 7
days only, so the caller polls at least daily; each poll costs one GET per 100 reviews of the week, and
the app's 200 GETs per hour are counted here (`google_budget`) and never exceeded from this process.

Tokens, assertions and the key never reach a message, a repr or a log line (`google_token`).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote, urlsplit

import httpx

from mailbot.escalate import describe_url
from mailbot.escalate.bounded_http import BoundedTransport
from mailbot.stores.google_budget import SHARED_GET_BUDGET, SHARED_POST_BUDGET, RollingBudget
from mailbot.stores.google_check import AccessCheck, CheckOutcome, failed, found_reviews
from mailbot.stores.google_credentials import GoogleCredentials, load_service_account
from mailbot.stores.google_http import error_for
from mailbot.stores.google_reviews import developer_reply, reply_from_result, reply_problem, review_from_json
from mailbot.stores.google_token import GoogleTokenSource
from mailbot.stores.model import StoreError, StoreRejected, StoreReply, StoreReview, StoreUnavailable

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://androidpublisher.googleapis.com"
API_PATH = "/androidpublisher/v3/applications"
PAGE_SIZE = 100  # the most reviews.list gives per page
MAX_PAGES = 50  # 5,000 reviews in a week; a pager that never ends stops here
_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(?:\.[A-Za-z][A-Za-z0-9_]*)+$")


class GooglePlayReviewsClient:
    """The reviews of the apps one service account may see; use as a context manager (closes the session)."""

    def __init__(
        self,
        credentials: GoogleCredentials,
        *,
        api_base: str = DEFAULT_API_BASE,
        timeout_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
        get_budget: RollingBudget | None = None,
        post_budget: RollingBudget | None = None,
    ) -> None:
        self.credentials = credentials
        self.api_base = api_base.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._get_budget = get_budget or SHARED_GET_BUDGET
        self._post_budget = post_budget or SHARED_POST_BUDGET
        token_origin = _origin(credentials.token_uri)
        mounts = {}
        if token_origin != _origin(self.api_base):  # in production: oauth2.googleapis.com
            mounts[token_origin] = BoundedTransport(credentials.token_uri, timeout_seconds)
        self._http = httpx.Client(
            base_url=self.api_base,
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            headers={"Accept": "application/json", "User-Agent": "mailbot"},
            follow_redirects=False,
            transport=BoundedTransport(self.api_base, timeout_seconds),
            mounts=mounts or None,
        )
        self._tokens = GoogleTokenSource(credentials, self._http, clock=clock)
        self._one_at_a_time = threading.Lock()  # requests strictly sequential, even from several threads

    @classmethod
    def from_key(cls, source: str, **options: Any) -> GooglePlayReviewsClient:
        """A client for the key file or "env:NAME" variable `source` (see `load_service_account`)."""
        return cls(load_service_account(source), **options)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.credentials.client_email!r}, {describe_url(self.api_base)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def tokens_fetched(self) -> int:
        return self._tokens.fetched

    # --- the store's operations ------------------------------------------------------------------

    def recent_reviews(self, package: str) -> list[StoreReview]:
        """Every review with text created or edited in the last 7 days, newest first, over all pages.

        Robust to the documented quirks: no `reviews` key when there are none, a null `pageInfo`, a page 2
        without `tokenPagination` (paging ends there: Google gives no way on). Reviews without text, and a
        developer's comment alone, never come back. `created_at` is `modified_at` (see `review_from_json`).
        """
        found: dict[str, StoreReview] = {}
        params: dict[str, Any] = {"maxResults": PAGE_SIZE}
        seen_tokens: set[str] = set()
        for _ in range(MAX_PAGES):
            page = self._call("GET", package, "/reviews", "reading the reviews", params=params)
            for item in page.get("reviews") or []:
                review = review_from_json(package, item)
                if review is not None:
                    found.setdefault(review.review_id, review)
            next_token = (page.get("tokenPagination") or {}).get("nextPageToken")
            if not isinstance(next_token, str) or not next_token or next_token in seen_tokens:
                break
            seen_tokens.add(next_token)
            params = {"maxResults": PAGE_SIZE, "token": next_token}
        log.debug("Google Play %s: %d recent reviews in %d pages", package, len(found), len(seen_tokens) + 1)
        return list(found.values())

    def review(self, package: str, review_id: str) -> StoreReview | None:
        """One review (reviews.get) normalised; None if it has no text. StoreNotFound when unknown or older
        than 7 days."""
        data = self._call("GET", package, _review_path(review_id), "reading the review")
        return review_from_json(package, data)

    def current_reply(self, package: str, review_id: str) -> StoreReply | None:
        """The reply the review shows now (None: none yet): what to read after an unknown outcome."""
        data = self._call("GET", package, _review_path(review_id), "reading the review's reply")
        return developer_reply(data.get("comments") or [])

    def post_reply(self, package: str, review_id: str, text: str) -> StoreReply:
        """Reply to the review, or replace its reply; the text as Google now shows it.

        StoreRejected before any request when Google would refuse or alter the text; StoreUnavailable
        when the outcome is unknown (read back with `current_reply` before posting again).
        """
        problem = reply_problem(text)
        if problem is not None:
            raise StoreRejected(
                f"reply to review {review_id} of {package} not sent: {problem}",
                status=None,
                code="REPLY_TEXT",
            )
        data = self._call(
            "POST", package, _review_path(review_id) + ":reply", "posting the reply", json={"replyText": text}
        )
        return reply_from_result(data, text)

    def check(self, package: str) -> AccessCheck:
        """Onboarding: works / no access or missing permission / credentials refused / no reviews in the
        last 7 days, with the fix in words, from one read call."""
        email = self.credentials.client_email
        try:
            page = self._call("GET", package, "/reviews", "reading the reviews", params={"maxResults": 1})
        except StoreError as exc:
            return failed(package, email, exc)
        return found_reviews(package, email, len(page.get("reviews") or []))

    # --- one call --------------------------------------------------------------------------------

    def _call(
        self, method: str, package: str, path: str, what: str, *, params: Any = None, json: Any = None
    ) -> dict[str, Any]:
        """One API request with a token; after a 401 one new token and one retry. Raises StoreError."""
        if not _PACKAGE.match(package):
            raise StoreRejected(f"{package[:80]!r} is not an Android package name: check the app's settings")
        url = f"{API_PATH}/{quote(package, safe='')}{path}"
        budget = self._get_budget if method == "GET" else self._post_budget
        with self._one_at_a_time:
            response = self._authorised(method, url, what, package, budget, params=params, json=json)
        if not 200 <= response.status_code < 300:
            raise error_for(response, what, package, self.credentials.client_email)
        try:
            body = response.json()
        except ValueError:
            raise StoreUnavailable(
                f"Google Play answered {what} of {package} with something else than JSON"
            ) from None
        return body if isinstance(body, dict) else {}

    def _authorised(
        self, method: str, url: str, what: str, package: str, budget: RollingBudget, *, params: Any, json: Any
    ) -> httpx.Response:
        token = self._tokens.token()
        for attempt in (1, 2):
            budget.take(package)
            response = self._send(method, url, what, package, token, params=params, json=json)
            if response.status_code != 401 or attempt == 2:
                break
            log.info(
                "Google Play refused the access token of %s: fetching a new one",
                self.credentials.client_email,
            )
            token = self._tokens.renew(refused=token)
        return response

    def _send(
        self, method: str, url: str, what: str, package: str, token: str, *, params: Any, json: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"}
        unknown = (
            "; the reply may have been stored: read it back before posting again" if method == "POST" else ""
        )
        try:
            return self._http.request(method, url, params=params, json=json, headers=headers)
        except httpx.TimeoutException:
            raise StoreUnavailable(
                f"Google Play did not answer {what} of {package} within {self.timeout_seconds:g} s{unknown}"
            ) from None
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"Google Play unreachable for {what} of {package} ({type(exc).__name__}){unknown}"
            ) from None


def _review_path(review_id: str) -> str:
    return f"/reviews/{quote(review_id, safe='')}"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


__all__ = [
    "DEFAULT_API_BASE",
    "AccessCheck",
    "CheckOutcome",
    "GoogleCredentials",
    "GooglePlayReviewsClient",
    "load_service_account",
]
