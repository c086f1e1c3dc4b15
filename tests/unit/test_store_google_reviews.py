"""Google Play's Review JSON to StoreReview, the reply-text rules and the per-app budget: pure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailbot.stores.google_budget import RollingBudget
from mailbot.stores.google_reviews import (
    developer_reply,
    reply_from_result,
    reply_problem,
    review_from_json,
    split_text,
    timestamp,
)
from mailbot.stores.model import PublicState, Store, StoreRateLimited

PACKAGE = "com.example.shop"
WHEN = {"seconds": "1764950400", "nanos": 500000000}  # 2025-12-05 16:00:00.5 UTC
AT = datetime(2025, 12, 5, 16, 0, 0, 500000, tzinfo=UTC)


def user_comment(**fields):
    comment = {"text": "Title\tBody", "lastModified": WHEN, "starRating": 3, "reviewerLanguage": "de"}
    comment.update(fields)
    return {"userComment": comment}


def review(*comments, review_id="gp:1"):
    return {"reviewId": review_id, "authorName": "Kim", "comments": list(comments)}


def test_the_user_comment_is_the_review_even_when_the_developers_comes_first():
    developer = {"developerComment": {"text": "Thanks!", "lastModified": WHEN}}
    found = review_from_json(PACKAGE, review(developer, user_comment(appVersionName="2.3.1")))
    assert found is not None
    assert (found.store, found.app, found.review_id, found.rating) == (Store.GOOGLE, PACKAGE, "gp:1", 3)
    assert (found.title, found.body, found.author) == ("Title", "Body", "Kim")
    assert (found.device_language, found.app_version) == ("de", "2.3.1")
    assert found.modified_at == found.created_at == AT
    assert found.reply is not None and (found.reply.text, found.reply.state) == (
        "Thanks!",
        PublicState.PUBLISHED,
    )
    assert found.reply.modified_at == AT


@pytest.mark.parametrize(
    "data",
    [
        review({"developerComment": {"text": "Thanks!", "lastModified": WHEN}}),  # no user comment
        review(user_comment(text="")),  # a rating without text
        review(user_comment(text=" \t ")),
        review(user_comment(starRating=0)),
        review(user_comment(starRating="5")),
        review(user_comment(lastModified=None)),
        review(),
        {"authorName": "no id", "comments": [user_comment()]},
        None,
    ],
)
def test_what_is_not_a_text_review_is_never_work(data):
    assert review_from_json(PACKAGE, data) is None


def test_the_original_text_wins_over_a_translation():
    found = review_from_json(
        PACKAGE, review(user_comment(text="[en] Crash\tIt crashes", originalText="Absturz\tStürzt ab"))
    )
    assert found is not None and (found.title, found.body) == ("Absturz", "Stürzt ab")


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("Title\tBody", ("Title", "Body")),
        ("Only a body", ("", "Only a body")),
        ("\tBody without title", ("", "Body without title")),
        ("Title\tBody\twith a tab", ("Title", "Body\twith a tab")),
    ],
)
def test_title_and_body_split_at_the_first_tab(text, parts):
    assert split_text(text) == parts


def test_absent_optional_fields_are_empty():
    found = review_from_json(PACKAGE, {"reviewId": "gp:2", "comments": [{"userComment": {
        "text": "Body", "lastModified": {"seconds": "1764950400"}, "starRating": 5}}]})  # fmt: skip
    assert found is not None
    assert (found.author, found.device_language, found.app_version, found.reply) == ("", "", "", None)


def test_timestamps_are_protobuf_seconds_and_nanos():
    assert timestamp(WHEN) == AT
    assert timestamp({"seconds": 1764950400}) == datetime(2025, 12, 5, 16, 0, tzinfo=UTC)
    assert timestamp({"seconds": "soon"}) is None and timestamp(None) is None


def test_the_reply_answer_and_a_missing_developer_comment():
    reply = reply_from_result({"result": {"replyText": "Danke!", "lastEdited": WHEN}}, "Danke!")
    assert (reply.text, reply.state, reply.modified_at) == ("Danke!", PublicState.PUBLISHED, AT)
    assert reply_from_result({}, "sent").text == "sent"
    assert developer_reply([user_comment()]) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("x" * 350, None),
        ("ü" * 350, None),  # code points, not bytes
        ("Danke! 😀" + "x" * 342, None),
        ("x" * 351, "351 characters"),
        ("", "empty"),
        ("   ", "empty"),
        ("Danke <b>sehr</b>", "HTML"),
        ("<br/>", "HTML"),
        ("Fish &amp; chips", "HTML"),
        ("Zeichen &#169;", "HTML"),
        ("1 < 2 and 3 > 2", None),  # comparisons are not tags
        ("Tom & Jerry", None),
    ],
)
def test_reply_problems(text, problem):
    found = reply_problem(text)
    assert found is None if problem is None else problem in (found or "")


def test_the_budget_refuses_the_call_after_the_limit_until_the_window_moves():
    now = [1000.0]
    budget = RollingBudget(3, 3600, "reads per hour", clock=lambda: now[0])
    for _ in range(3):
        budget.take(PACKAGE)
        now[0] += 60
    budget.take("com.example.other")  # another app has its own budget
    with pytest.raises(StoreRateLimited) as caught:
        budget.take(PACKAGE)
    assert caught.value.retry_after_seconds == 3600 - 180 and budget.used(PACKAGE) == 3
    now[0] = 1000.0 + 3600  # the first call leaves the window
    budget.take(PACKAGE)
    assert budget.used(PACKAGE) == 3
