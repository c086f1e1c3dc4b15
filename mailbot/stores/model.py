"""What both store clients hand to the rest of mailbot: reviews, replies and the errors of a call.

The two stores describe a review differently (Apple: JSON:API `customerReviews` with a separate response
resource; Google: a `Review` with a `userComment` and a `developerComment`). The clients translate to these
frozen values at the edge, so deciding, storing and replying never see a store's JSON.

The errors are the retry vocabulary of a store call, like `mailbot.errors` is for mail: an access problem
is permanent until a person fixes the grant, a quota waits for the next run, and `StoreUnavailable` on a
write means "the outcome is unknown": read the current reply back before posting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from mailbot.errors import PermanentError, TransientError


class Store(StrEnum):
    APPLE = "apple"
    GOOGLE = "google"


class PublicState(StrEnum):
    """Where a posted reply stands in the store (Apple screens replies before publishing them)."""

    PENDING = "pending"  # Apple: PENDING_PUBLISH
    PUBLISHED = "published"  # Apple: PUBLISHED; Google publishes at once


@dataclass(frozen=True)
class StoreReply:
    """The developer's reply as the store holds it now."""

    text: str
    state: PublicState
    modified_at: datetime | None = None  # Apple lastModifiedDate, Google lastEdited (UTC)
    response_id: str = ""  # Apple's customerReviewResponses id; "" on Google


@dataclass(frozen=True)
class StoreReview:
    """One customer review, normalised.

    `title` and `body` are what the reviewer wrote (Google joins them with a tab; the client splits them,
    and prefers `originalText` to a translation). `device_language` and `territory` are what the store
    says about the device or the storefront: never the language of the text, which mailbot detects.
    """

    store: Store
    app: str  # Apple: the numeric app id; Google: the package name
    review_id: str
    rating: int  # 1..5
    title: str
    body: str
    author: str  # the nickname or name shown in the store: personal data
    created_at: datetime  # UTC
    modified_at: datetime | None = None  # Google's lastModified of the user comment; Apple has none
    territory: str = ""  # Apple, ISO 3166-1 alpha-3 of the storefront
    device_language: str = ""  # Google's reviewerLanguage
    app_version: str = ""  # Google's appVersionName; Apple gives none on the review
    reply: StoreReply | None = None  # the developer's reply the store already shows, if it said so


@dataclass(frozen=True)
class Quota:
    """What a store said about the caller's remaining budget (Apple's X-Rate-Limit)."""

    limit: int | None = None
    remaining: int | None = None


class StoreError(Exception):
    """A store call failed; `status` and `code` as the store sent them, `detail` one short line."""

    def __init__(self, detail: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code


class StoreAuthError(StoreError, PermanentError):
    """401, or the token endpoint refused the key: the credentials are wrong, expired or revoked."""


class StoreAccessDenied(StoreError, PermanentError):
    """403: the key works but lacks the role or app access, or an agreement is missing (`code` says which)."""


class StoreNotFound(StoreError, PermanentError):
    """404: no such app, review or response (a missing response is not an error: clients return None)."""


class StoreRejected(StoreError, PermanentError):
    """400/409/422: the store refused the request itself; sending it again changes nothing."""


class StoreRateLimited(StoreError, TransientError):
    """429, or the remaining budget is spent: wait `retry_after_seconds` (or until the next run)."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = 429,
        code: str = "",
        retry_after_seconds: float | None = None,
    ) -> None:
        super().__init__(detail, status=status, code=code)
        self.retry_after_seconds = retry_after_seconds


class StoreUnavailable(StoreError, TransientError):
    """5xx, a timeout or a dropped connection: after a write the outcome is unknown (read back first)."""
