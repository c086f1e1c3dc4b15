"""The onboarding check of one app on Google Play: what one read call says about the set-up.

"No reviews" and "no access" look alike in many tools (an empty list, or an error nobody reads); a
client who has not yet invited the service account must hear that, not "all quiet". The outcome is a
value with the fix in words, for `mailbot reviews check`; no error escapes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailbot.stores.google_http import GRANT_FIX
from mailbot.stores.model import (
    StoreAccessDenied,
    StoreAuthError,
    StoreError,
    StoreNotFound,
    StoreRateLimited,
    StoreUnavailable,
)


class CheckOutcome(StrEnum):
    WORKS = "works"
    NO_ACCESS = "no access or missing permission"
    CREDENTIALS_REFUSED = "credentials refused"
    NO_RECENT_REVIEWS = "no reviews in the last 7 days"
    TRY_LATER = "store unavailable or quota spent"


@dataclass(frozen=True)
class AccessCheck:
    outcome: CheckOutcome
    message: str  # one line: what was found and, unless it works, what to do

    @property
    def ok(self) -> bool:
        """mailbot can read (and so reply to) the app's reviews, whether or not there are any now."""
        return self.outcome in (CheckOutcome.WORKS, CheckOutcome.NO_RECENT_REVIEWS)


def found_reviews(package: str, email: str, count: int) -> AccessCheck:
    if count:
        return AccessCheck(CheckOutcome.WORKS, f"works: {email} reads the reviews of {package}")
    return AccessCheck(
        CheckOutcome.NO_RECENT_REVIEWS,
        f"works, but {package} has no reviews with text from the last 7 days (Google lists no older ones): "
        "nothing to answer yet; keep polling at least daily",
    )


def failed(package: str, email: str, error: StoreError) -> AccessCheck:
    """The check's outcome for the error of its read call (or of the token request before it)."""
    if isinstance(error, StoreAuthError):
        return AccessCheck(CheckOutcome.CREDENTIALS_REFUSED, f"credentials refused: {error.detail}")
    if isinstance(error, StoreAccessDenied | StoreNotFound):
        said = f"{error.status} {error.code}".strip()
        return AccessCheck(
            CheckOutcome.NO_ACCESS,
            f"no access or missing permission ({said}): check the package name {package}; "
            + GRANT_FIX.format(email=email, package=package),
        )
    if isinstance(error, StoreRateLimited | StoreUnavailable):
        return AccessCheck(CheckOutcome.TRY_LATER, f"could not tell, try again later: {error.detail}")
    return AccessCheck(CheckOutcome.TRY_LATER, f"could not tell: {error.detail}")
