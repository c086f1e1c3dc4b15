"""AppleReviewsClient answering reviews on the App Store Connect stand-in, over real HTTP on loopback.

Acceptance checks 3 (the documented POST body, 201 -> pending, published after Apple's screening) and
9 (a POST whose answer never comes: the reply exists, the client says "unknown", reading it back shows
the text so the caller does not post again) of the issue-16 note.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from mailbot.stores.apple import AppleCredentials, AppleReviewsClient
from mailbot.stores.model import PublicState, StoreNotFound, StoreRejected, StoreUnavailable
from tests.servers.appstore import FakeAppStoreConnect, MovableClock

APP = "1234567890"
TEXT = "Danke für Ihre Nachricht! Das Update 2.3.1 behebt den Absturz."


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeAppStoreConnect]:
    with FakeAppStoreConnect(clock=clock) as server:
        yield server


@pytest.fixture
def client(fake: FakeAppStoreConnect, clock: MovableClock) -> Iterator[AppleReviewsClient]:
    pem = fake.new_key("INDIV1", apps={APP})  # an individual key, as onboarding recommends
    with AppleReviewsClient(
        AppleCredentials("INDIV1", None, pem, fake.base_url), timeout_seconds=1.0, clock=clock
    ) as c:
        yield c


@pytest.fixture
def review(fake: FakeAppStoreConnect) -> str:
    return fake.add_review(APP, rating=1, title="Absturz", body="Stürzt beim Start ab.", territory="DEU")


def test_a_reply_is_the_documented_body_pending_first_then_published(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, review: str, clock: MovableClock
) -> None:
    posted = client.post_reply(review, TEXT)

    (post,) = fake.calls("POST", "/v1/customerReviewResponses")
    assert post.body == {
        "data": {
            "type": "customerReviewResponses",
            "attributes": {"responseBody": TEXT},
            "relationships": {"review": {"data": {"type": "customerReviews", "id": review}}},
        }
    }
    assert post.headers["content-type"] == "application/json"
    assert (posted.text, posted.state, posted.modified_at) == (TEXT, PublicState.PENDING, clock.now)
    assert posted.response_id

    assert client.reply_state(posted.response_id).state is PublicState.PENDING
    fake.publish_pending()
    published = client.reply_state(posted.response_id)
    assert (published.text, published.state) == (TEXT, PublicState.PUBLISHED)
    assert client.current_reply(review) == published


def test_a_second_post_overwrites_the_one_response_and_keeps_its_id(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, review: str
) -> None:
    first = client.post_reply(review, "Danke!")
    fake.publish_pending()

    second = client.post_reply(review, TEXT)

    assert second.response_id == first.response_id
    assert (second.text, second.state) == (TEXT, PublicState.PENDING)  # Apple screens the new text again
    response = fake.response_of(review)
    assert response is not None and response.body == TEXT


def test_no_response_yet_is_none_and_an_unknown_review_is_not_found(
    client: AppleReviewsClient, review: str
) -> None:
    assert client.current_reply(review) is None
    with pytest.raises(StoreNotFound, match="posting the response to review nope"):
        client.post_reply("nope", TEXT)


def test_a_post_whose_answer_never_comes_is_unknown_and_reading_back_shows_the_reply(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, review: str
) -> None:
    fake.hang_next("/v1/customerReviewResponses")

    with pytest.raises(StoreUnavailable, match="outcome is unknown: read the reply back"):
        client.post_reply(review, TEXT)

    reply = client.current_reply(review)  # what the caller does before any second attempt
    assert reply is not None and reply.text == TEXT and reply.state is PublicState.PENDING
    assert len(fake.calls("POST", "/v1/customerReviewResponses")) == 1


def test_a_5xx_on_the_post_is_unavailable_and_not_repeated(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, review: str
) -> None:
    fake.fail_next(503, path_contains="/v1/customerReviewResponses")

    with pytest.raises(StoreUnavailable, match="503"):
        client.post_reply(review, TEXT)

    assert len(fake.calls("POST", "/v1/customerReviewResponses")) == 1
    assert client.current_reply(review) is None


def test_deleting_a_response_is_204_and_idempotent(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, review: str
) -> None:
    posted = client.post_reply(review, TEXT)

    assert client.delete_reply(posted.response_id) is True
    assert client.current_reply(review) is None
    assert client.delete_reply(posted.response_id) is False
    with pytest.raises(StoreNotFound):
        client.reply_state(posted.response_id)


def good_body(review: str) -> dict[str, Any]:
    return {
        "data": {
            "type": "customerReviewResponses",
            "attributes": {"responseBody": TEXT},
            "relationships": {"review": {"data": {"type": "customerReviews", "id": review}}},
        }
    }


@pytest.mark.parametrize(
    ("change", "pointer"),
    [
        (lambda b: b["data"].update(type="customerReviews"), "/data/type"),
        (lambda b: b["data"]["attributes"].pop("responseBody"), "/data/attributes/responseBody"),
        (lambda b: b["data"]["attributes"].update(responseBody=""), "/data/attributes/responseBody"),
        (lambda b: b["data"]["attributes"].update(state="PUBLISHED"), "/data/attributes/state"),
        (lambda b: b["data"].pop("relationships"), "/data/relationships/review"),
        (
            lambda b: b["data"]["relationships"]["review"]["data"].update(type="apps"),
            "/data/relationships/review/data",
        ),
        (lambda b: b.update(meta={}), ""),
    ],
)
def test_the_stand_in_refuses_a_body_apple_would_refuse_with_409_and_a_pointer(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, review: str, change: Any, pointer: str
) -> None:
    body = good_body(review)
    change(body)
    with pytest.raises(StoreRejected, match="409 ENTITY_ERROR") as caught:
        client._http.request("POST", "/v1/customerReviewResponses", "posting", json=body)

    assert caught.value.status == 409
    token = client._http.tokens.token()
    raw = httpx.post(
        f"{fake.base_url}/v1/customerReviewResponses", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    (error,) = raw.json()["errors"]
    assert error["source"] == {"pointer": pointer}
    assert fake.response_of(review) is None
