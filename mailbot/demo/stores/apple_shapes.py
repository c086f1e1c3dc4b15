"""JSON shapes of App Store Connect's customer-review resources, as the stand-in answers them (the
loopback stand-in of the tests and `mailbot demo`, never for production).

From Apple's OpenAPI spec (`CustomerReview`, `CustomerReviewResponseV1`, `ErrorResponse`; mirrored in
EvanBacon/App-Store-Connect-OpenAPI-Spec:specs/3.7.0.json) and the examples on
developer.apple.com/documentation/appstoreconnectapi/customer-reviews. Dates are ISO 8601 with the
offset Apple's examples carry (Pacific time), so a client must normalise them itself.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

PACIFIC = timezone(timedelta(hours=-7))  # Apple's examples: "2017-11-15T08:10:34-08:00"

# Apple's own titles and details for the errors the stand-in sends.
TITLES: dict[str, tuple[str, str]] = {
    "NOT_AUTHORIZED": (
        "Authentication credentials are missing or invalid.",
        "Provide a properly configured and signed bearer token, and make sure that it has not expired. "
        "Learn more about Generating Tokens for API Requests https://developer.apple.com/go/?id=api-generating-tokens",
    ),
    "FORBIDDEN_ERROR": (
        "The given operation is not allowed",
        "The API key in use does not allow this request",
    ),
    "FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED": (
        "A required agreement is missing or has expired.",
        "This request requires an in-effect agreement that has not been signed or has expired.",
    ),
    "NOT_FOUND": ("The specified resource does not exist", "There is no resource with this id."),
    "RATE_LIMIT_EXCEEDED": (
        "The request rate limit has been reached.",
        "We've received too many requests for this API. Please wait and try again or slow down your "
        "request rate.",
    ),
    "PARAMETER_ERROR.INVALID": ("A parameter has an invalid value", "The value is not valid here."),
    "PARAMETER_ERROR.ILLEGAL": ("A parameter was given that is not allowed", "The parameter is not allowed."),
    "ENTITY_ERROR": ("The request entity is not valid.", "The request body does not match the schema."),
    "UNEXPECTED_ERROR": ("An unexpected error occurred.", "An unexpected error occurred on the server side."),
}
CODE_BY_STATUS = {
    400: "PARAMETER_ERROR.INVALID",
    401: "NOT_AUTHORIZED",
    403: "FORBIDDEN_ERROR",
    404: "NOT_FOUND",
    409: "ENTITY_ERROR",
    429: "RATE_LIMIT_EXCEEDED",
}


def error(status: int, code: str | None = None, detail: str | None = None, **source: str) -> dict[str, Any]:
    """Apple's `ErrorResponse`: `code`, `detail`, `status`, `title` required; `source` pointer/parameter."""
    code = code or CODE_BY_STATUS.get(status, "UNEXPECTED_ERROR")
    title, default_detail = TITLES.get(code) or TITLES.get(code.split(".")[0]) or TITLES["UNEXPECTED_ERROR"]
    item: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "status": str(status),
        "code": code,
        "title": title,
        "detail": detail or default_detail,
    }
    if source:
        item["source"] = source
    return {"errors": [item]}


def apple_date(moment: datetime) -> str:
    return moment.astimezone(PACIFIC).isoformat(timespec="seconds")


@dataclass
class Response:
    id: str
    review_id: str
    body: str
    modified: datetime
    state: str = "PENDING_PUBLISH"  # then PUBLISHED


@dataclass
class Review:
    id: str
    app_id: str
    rating: int
    title: str
    body: str
    nickname: str
    created: datetime
    territory: str
    response: Response | None = None


def review_dto(base: str, review: Review, *, with_response_data: bool) -> dict[str, Any]:
    links = {
        "self": f"{base}/v1/customerReviews/{review.id}/relationships/response",
        "related": f"{base}/v1/customerReviews/{review.id}/response",
    }
    relationship: dict[str, Any] = {"links": links}
    if with_response_data:  # the linkage is present only when the response was included
        response = review.response
        relationship["data"] = (
            None if response is None else {"type": "customerReviewResponses", "id": response.id}
        )
    return {
        "type": "customerReviews",
        "id": review.id,
        "attributes": {
            "rating": review.rating,
            "title": review.title,
            "body": review.body,
            "reviewerNickname": review.nickname,
            "createdDate": apple_date(review.created),
            "territory": review.territory,
        },
        "relationships": {"response": relationship},
        "links": {"self": f"{base}/v1/customerReviews/{review.id}"},
    }


def response_dto(base: str, response: Response) -> dict[str, Any]:
    return {
        "type": "customerReviewResponses",
        "id": response.id,
        "attributes": {
            "responseBody": response.body,
            "lastModifiedDate": apple_date(response.modified),
            "state": response.state,
        },
        "relationships": {
            "review": {
                "links": {
                    "self": f"{base}/v1/customerReviewResponses/{response.id}/relationships/review",
                    "related": f"{base}/v1/customerReviewResponses/{response.id}/review",
                },
            }
        },
        "links": {"self": f"{base}/v1/customerReviewResponses/{response.id}"},
    }


def create_request_problem(body: Any) -> tuple[str, str, str] | None:
    """What is wrong with a `CustomerReviewResponseV1CreateRequest` (code, detail, JSON pointer), or None.

    Strict like the real service: the documented members only, the right types, nothing missing.
    """
    if not isinstance(body, dict) or set(body) != {"data"} or not isinstance(body["data"], dict):
        return "ENTITY_ERROR", "The request body must be a JSON object with exactly one member 'data'.", ""
    data = body["data"]
    unknown = set(data) - {"type", "attributes", "relationships"}
    if unknown:
        name = sorted(unknown)[0]
        return "ENTITY_ERROR.ATTRIBUTE.UNKNOWN", f"'{name}' is not a member of data.", f"/data/{name}"
    if data.get("type") != "customerReviewResponses":
        return "ENTITY_ERROR.TYPE.INVALID", "The type must be 'customerReviewResponses'.", "/data/type"
    attributes = data.get("attributes")
    if not isinstance(attributes, dict) or "responseBody" not in attributes:
        return (
            "ENTITY_ERROR.ATTRIBUTE.REQUIRED",
            "You must provide a value for 'responseBody'.",
            ("/data/attributes/responseBody"),
        )
    extra = set(attributes) - {"responseBody"}
    if extra:
        name = sorted(extra)[0]
        return (
            "ENTITY_ERROR.ATTRIBUTE.UNKNOWN",
            f"'{name}' is not an attribute of this resource.",
            (f"/data/attributes/{name}"),
        )
    text = attributes["responseBody"]
    if not isinstance(text, str) or not text.strip():
        return (
            "ENTITY_ERROR.ATTRIBUTE.INVALID",
            "'responseBody' must be a non-empty string.",
            ("/data/attributes/responseBody"),
        )
    relationships = data.get("relationships")
    review = relationships.get("review") if isinstance(relationships, dict) else None
    linkage = review.get("data") if isinstance(review, dict) else None
    if not isinstance(linkage, dict):
        return (
            "ENTITY_ERROR.RELATIONSHIP.REQUIRED",
            "You must provide a value for the relationship 'review'.",
            ("/data/relationships/review"),
        )
    if (
        linkage.get("type") != "customerReviews"
        or not isinstance(linkage.get("id"), str)
        or set(linkage)
        != {
            "type",
            "id",
        }
    ):
        return (
            "ENTITY_ERROR.RELATIONSHIP.INVALID",
            "The relationship 'review' must be a customerReviews id.",
            ("/data/relationships/review/data"),
        )
    return None
