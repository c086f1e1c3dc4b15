"""App Store Connect's JSON:API documents as mailbot's store values, and the body of a reply.

Pure translation at the edge: `customerReviews` resources become `StoreReview`s (dates in UTC; the
territory is the storefront, never a language), `customerReviewResponses` become `StoreReply`s. A
document that does not have the documented shape is `StoreUnavailable`: something between mailbot and
Apple (a proxy, a captive portal, an outage page) answered, and a later run may read it fine.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mailbot.stores.model import PublicState, Store, StoreReply, StoreReview, StoreUnavailable

REVIEWS, RESPONSES = "customerReviews", "customerReviewResponses"


def reply_body(review_id: str, text: str) -> dict[str, Any]:
    """`CustomerReviewResponseV1CreateRequest`: creates the response, or overwrites the one there is."""
    return {
        "data": {
            "type": RESPONSES,
            "attributes": {"responseBody": text},
            "relationships": {"review": {"data": {"type": REVIEWS, "id": review_id}}},
        }
    }


def parse_date(value: Any) -> datetime:
    """ISO 8601 with an offset ("2017-11-15T08:10:34-08:00" or "...Z") as an aware UTC datetime."""
    if not isinstance(value, str):
        raise _unreadable(f"a date is {type(value).__name__}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _unreadable("a date is not ISO 8601") from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def reply_from(resource: Any) -> StoreReply:
    if not isinstance(resource, dict) or resource.get("type") != RESPONSES:
        raise _unreadable("a response is not a customerReviewResponses resource")
    attributes = resource.get("attributes") or {}
    modified = attributes.get("lastModifiedDate")
    return StoreReply(
        text=str(attributes.get("responseBody") or ""),
        state=PublicState.PUBLISHED if attributes.get("state") == "PUBLISHED" else PublicState.PENDING,
        modified_at=None if modified is None else parse_date(modified),
        response_id=str(resource.get("id") or ""),
    )


def reply_document(document: Any) -> StoreReply:
    """The `data` of a single-response document (201 of the POST, GET .../response, GET by id)."""
    return reply_from(document.get("data") if isinstance(document, dict) else None)


def review_from(resource: Any, app_id: str, included: dict[str, StoreReply]) -> StoreReview:
    if not isinstance(resource, dict) or resource.get("type") != REVIEWS or not resource.get("id"):
        raise _unreadable("a review is not a customerReviews resource")
    attributes = resource.get("attributes")
    if not isinstance(attributes, dict):
        raise _unreadable("a review has no attributes")
    rating = attributes.get("rating")
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise _unreadable("a review's rating is not 1 to 5")
    linkage = ((resource.get("relationships") or {}).get("response") or {}).get("data")
    reply = included.get(str(linkage.get("id"))) if isinstance(linkage, dict) else None
    return StoreReview(
        store=Store.APPLE,
        app=app_id,
        review_id=str(resource["id"]),
        rating=rating,
        title=str(attributes.get("title") or ""),
        body=str(attributes.get("body") or ""),
        author=str(attributes.get("reviewerNickname") or ""),
        created_at=parse_date(attributes.get("createdDate")),
        territory=str(attributes.get("territory") or ""),
        reply=reply,
    )


def review_page(document: Any, app_id: str) -> tuple[list[StoreReview], str | None, int | None]:
    """The reviews of one list page (with their included responses), `links.next` and `meta.paging.total`."""
    if not isinstance(document, dict) or not isinstance(document.get("data"), list):
        raise _unreadable("a review list has no data array")
    included = {
        str(r.get("id")): reply_from(r)
        for r in document.get("included") or []
        if isinstance(r, dict) and r.get("type") == RESPONSES
    }
    reviews = [review_from(resource, app_id, included) for resource in document["data"]]
    next_link = (document.get("links") or {}).get("next")
    total = ((document.get("meta") or {}).get("paging") or {}).get("total")
    return (
        reviews,
        next_link if isinstance(next_link, str) and next_link else None,
        (total if isinstance(total, int) else None),
    )


def first_error(document: Any) -> tuple[str, str]:
    """`code` and `detail` of the first entry of Apple's error document ("", "" if it is none)."""
    errors = document.get("errors") if isinstance(document, dict) else None
    if not isinstance(errors, list) or not errors or not isinstance(errors[0], dict):
        return "", ""
    first = errors[0]
    detail = " ".join(str(first.get("detail") or first.get("title") or "").split())
    pointer = (first.get("source") or {}).get("pointer") if isinstance(first.get("source"), dict) else None
    if pointer:
        detail = f"{detail} (at {pointer})"
    return str(first.get("code") or ""), detail[:200]


def _unreadable(what: str) -> StoreUnavailable:
    return StoreUnavailable(f"App Store Connect sent an answer mailbot cannot read ({what}): try again later")
