"""Google Play's `Review` JSON to mailbot's values, and the store's rules for a reply text: pure.

The pitfalls of the resource (the reference and the reply guide; client libraries tripped over each):
- `comments[]` holds a `userComment` and, once answered, a `developerComment`, in no promised order:
  the review is the `userComment`, never simply `comments[0]`;
- `text` joins title and body with a tab; with `translationLanguage` it is a translation and
  `originalText` holds what the reviewer wrote (empty otherwise): `originalText or text`;
- `reviewerLanguage` is the device's language and may be absent;
- timestamps are protobuf Timestamps: `seconds` an int64 sent as a string, `nanos` a number.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from mailbot.stores.model import PublicState, Store, StoreReply, StoreReview

REPLY_LIMIT = 350  # "Replies of more than approximately 350 characters will be rejected."
_HTML = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>|&(?:[a-zA-Z]{2,8}|#\d{1,6}|#x[0-9a-fA-F]{1,6});")


def reply_problem(text: str) -> str | None:
    """Why Google would refuse or alter `text` as a reply (None: it may be sent as it is).

    HTML is refused rather than left to Google, which strips tags: what would be published is then not
    what a person approved. Characters are code points, as the reference counts them.
    """
    if not text.strip():
        return "the reply is empty"
    if len(text) > REPLY_LIMIT:
        return f"the reply has {len(text)} characters, Google Play takes at most {REPLY_LIMIT}"
    if _HTML.search(text):
        return "the reply contains HTML (a tag or an entity), which Google Play strips"
    return None


def timestamp(value: Any) -> datetime | None:
    """A protobuf Timestamp ({"seconds": "1700000000", "nanos": 5}) as an aware UTC datetime."""
    if not isinstance(value, dict):
        return None
    try:
        seconds = int(value.get("seconds", 0))
        nanos = int(value.get("nanos") or 0)
    except (TypeError, ValueError):
        return None
    return datetime.fromtimestamp(seconds + nanos / 1e9, UTC)


def split_text(text: str) -> tuple[str, str]:
    """(title, body): Google joins them with a tab; without a tab there is no title."""
    title, tab, body = text.partition("\t")
    return (title.strip(), body.strip()) if tab else ("", text.strip())


def review_from_json(package: str, data: Any) -> StoreReview | None:
    """The review in `data`, or None when it has no text or no usable rating (never work for mailbot).

    Google gives no creation time: `created_at` is set to `modified_at` (the last edit). The first
    `lastModified` mailbot saw for a review is the closest to a creation time; keeping it is the caller's
    job (the stored row), not this function's.
    """
    if not isinstance(data, dict) or not isinstance(data.get("reviewId"), str):
        return None
    comments = [c for c in data.get("comments") or [] if isinstance(c, dict)]
    user = next((c["userComment"] for c in comments if isinstance(c.get("userComment"), dict)), None)
    if user is None:
        return None
    text = str(user.get("originalText") or user.get("text") or "")
    rating = user.get("starRating")
    modified = timestamp(user.get("lastModified"))
    if not text.strip() or not isinstance(rating, int) or not 1 <= rating <= 5 or modified is None:
        return None
    title, body = split_text(text)
    return StoreReview(
        store=Store.GOOGLE,
        app=package,
        review_id=data["reviewId"],
        rating=rating,
        title=title,
        body=body,
        author=str(data.get("authorName") or ""),
        created_at=modified,
        modified_at=modified,
        device_language=str(user.get("reviewerLanguage") or ""),
        app_version=str(user.get("appVersionName") or ""),
        reply=developer_reply(comments),
    )


def developer_reply(comments: list[Any]) -> StoreReply | None:
    """The `developerComment` among a review's comments; Google publishes replies at once."""
    for comment in comments:
        developer = comment.get("developerComment") if isinstance(comment, dict) else None
        if isinstance(developer, dict) and isinstance(developer.get("text"), str):
            return StoreReply(
                developer["text"], PublicState.PUBLISHED, timestamp(developer.get("lastModified"))
            )
    return None


def reply_from_result(data: Any, sent: str) -> StoreReply:
    """The answer of reviews.reply ({"result": {"replyText", "lastEdited"}}) as the reply now shown."""
    result = data.get("result") if isinstance(data, dict) else None
    result = result if isinstance(result, dict) else {}
    text = result.get("replyText")
    return StoreReply(
        text if isinstance(text, str) else sent, PublicState.PUBLISHED, timestamp(result.get("lastEdited"))
    )
