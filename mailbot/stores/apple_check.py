"""The onboarding check of one app: a single read call, one verdict, and the fix in words.

Set-up mistakes look alike from the outside ("no reviews"), so the check keeps them apart: a refused
key, a key whose user lacks the role or the app, a missing agreement, a wrong app id, a working app
without reviews yet. An outage or a spent quota is no verdict about the set-up: "try again later".
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mailbot.stores.apple_http import AGREEMENT, AppleHttp, json_of
from mailbot.stores.apple_json import review_page
from mailbot.stores.model import StoreAccessDenied, StoreAuthError, StoreError, StoreNotFound


class CheckOutcome(StrEnum):
    WORKS = "works"
    NO_ACCESS = "no access or wrong role"
    AGREEMENT_MISSING = "agreement missing"
    CREDENTIALS_REFUSED = "credentials refused"
    NO_REVIEWS = "no reviews yet"
    UNAVAILABLE = "not reachable now"


@dataclass(frozen=True)
class AppleCheck:
    """The outcome and, in words, what it means or how to fix it."""

    outcome: CheckOutcome
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome in (CheckOutcome.WORKS, CheckOutcome.NO_REVIEWS)


def check_app(http: AppleHttp, app_id: str) -> AppleCheck:
    """List one review of `app_id` and say what the answer means (a refused token is renewed once)."""
    key = http.credentials.key_id
    what = f"listing the reviews of app {app_id}"
    try:
        response = http.request(
            "GET", f"/v1/apps/{app_id}/customerReviews", what, params={"sort": "-createdDate", "limit": "1"}
        )
        reviews, _, total = review_page(json_of(response), app_id)
    except StoreAuthError:
        return AppleCheck(
            CheckOutcome.CREDENTIALS_REFUSED,
            f"App Store Connect refused the key {key}: check the key id, the issuer id (team keys only; "
            "none for an individual key) and that the .p8 file belongs to this key and was not revoked",
        )
    except StoreAccessDenied as exc:
        if exc.code == AGREEMENT:
            return AppleCheck(
                CheckOutcome.AGREEMENT_MISSING,
                "App Store Connect holds the reviews back until the client's Account Holder accepts the "
                "latest agreements (App Store Connect > Business)",
            )
        return AppleCheck(
            CheckOutcome.NO_ACCESS,
            f"App Store Connect does not let the key {key} read the reviews of app {app_id}: the client "
            "invites our Apple Account with the Customer Support role for this app (role changes can take "
            "hours), then we make an individual API key; or a team key with the Customer Support role",
        )
    except StoreNotFound:
        return AppleCheck(
            CheckOutcome.NO_ACCESS,
            f"App Store Connect shows the key {key} no app {app_id}: check the app id (the numeric "
            "Apple ID under App Information, not the bundle id) and that our account may see this app",
        )
    except StoreError as exc:  # rate limited, unavailable, refused: not a verdict on the set-up
        return AppleCheck(CheckOutcome.UNAVAILABLE, f"{exc.detail}; run the check again later")
    if not reviews:
        return AppleCheck(
            CheckOutcome.NO_REVIEWS,
            f"access works, but app {app_id} has no customer reviews yet: nothing to answer until one comes",
        )
    count = f"{total} reviews" if total is not None else "reviews"
    newest = reviews[0].created_at.date().isoformat()
    return AppleCheck(CheckOutcome.WORKS, f"works: app {app_id} has {count}, the newest from {newest}")
