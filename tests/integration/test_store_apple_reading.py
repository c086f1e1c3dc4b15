"""AppleReviewsClient reading reviews from the App Store Connect stand-in, over real HTTP on loopback.

Acceptance check 2 of the issue-16 note (paging to a watermark with exactly the needed calls) and the
Apple half of check 12 (a text edit is caught by the unanswered sweep).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from mailbot.stores.apple import AppleCredentials, AppleReviewsClient, AppleWatermark
from mailbot.stores.model import PublicState, Store, StoreRejected
from tests.servers.appstore import FakeAppStoreConnect, MovableClock

APP = "1234567890"
START = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeAppStoreConnect]:
    with FakeAppStoreConnect(clock=clock) as server:
        server.add_app(APP)
        yield server


@pytest.fixture
def client(fake: FakeAppStoreConnect, clock: MovableClock) -> Iterator[AppleReviewsClient]:
    pem = fake.new_key("KEY123", issuer_id="69a6de70-03db-47e3-e053-5b8c7c11a4d1")
    credentials = AppleCredentials(
        "KEY123", "69a6de70-03db-47e3-e053-5b8c7c11a4d1", pem, base_url=fake.base_url
    )
    with AppleReviewsClient(credentials, timeout_seconds=5.0, clock=clock) as c:
        yield c


def seed(fake: FakeAppStoreConnect, count: int, start: datetime = START) -> list[str]:
    return [
        fake.add_review(
            APP, rating=1 + i % 5, title=f"T{i}", body=f"Review {i}", created=start + timedelta(minutes=i)
        )
        for i in range(count)
    ]


def list_calls(fake: FakeAppStoreConnect) -> int:
    return len(fake.calls("GET", f"/v1/apps/{APP}/customerReviews"))


def test_450_reviews_take_3_calls_then_a_poll_without_news_takes_1(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    ids = seed(fake, 450)

    reviews, watermark = client.reviews_newer_than(APP, None)

    assert list_calls(fake) == 3
    assert [r.review_id for r in reviews] == ids[::-1]  # newest first, every one exactly once
    assert watermark == AppleWatermark(START + timedelta(minutes=449), frozenset({ids[-1]}))
    first, *following = fake.calls("GET", "/customerReviews")
    assert {k: v[0] for k, v in first.query.items()} == {
        "sort": "-createdDate",
        "limit": "200",
        "include": "response",
    }
    assert all("cursor" in call.query for call in following)  # links.next was followed

    again, same = client.reviews_newer_than(APP, watermark)

    assert again == [] and same == watermark
    assert list_calls(fake) == 4  # exactly one more call

    newest = fake.add_review(APP, rating=2, body="Neu", created=START + timedelta(days=3))
    one, moved = client.reviews_newer_than(APP, watermark)

    assert [r.review_id for r in one] == [newest]
    assert moved == AppleWatermark(START + timedelta(days=3), frozenset({newest}))
    assert list_calls(fake) == 5


def test_new_reviews_spanning_a_page_are_all_found_and_paging_stops_at_the_watermark(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    seed(fake, 300)
    _, watermark = client.reviews_newer_than(APP, None)
    assert watermark is not None
    later = seed(fake, 250, start=START + timedelta(days=30))
    before = list_calls(fake)

    new, moved = client.reviews_newer_than(APP, watermark)

    assert [r.review_id for r in new] == later[::-1]
    assert list_calls(fake) - before == 2  # 250 new: page 1 has 200, page 2 reaches the watermark
    assert moved is not None and moved.created_at == START + timedelta(days=30, minutes=249)


def test_a_review_at_the_watermark_instant_that_was_not_stored_is_new(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    instant = START + timedelta(hours=5)
    first = fake.add_review(APP, body="eins", created=instant)
    _, watermark = client.reviews_newer_than(APP, None)
    second = fake.add_review(APP, body="zwei", created=instant)  # same second, surfaced later

    new, moved = client.reviews_newer_than(APP, watermark)

    assert [r.review_id for r in new] == [second]
    assert moved == AppleWatermark(instant, frozenset({first, second}))


def test_reviews_are_normalised_with_utc_dates_and_their_included_response(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    created = datetime(2026, 11, 15, 16, 10, 34, tzinfo=UTC)
    rid = fake.add_review(
        APP,
        rating=1,
        title="Absturz",
        body="Die App stürzt ab.",
        nickname="Erika",
        created=created,
        territory="DEU",
    )
    client.post_reply(rid, "Danke für Ihre Rückmeldung.")

    (review,), _ = client.reviews_newer_than(APP, None)

    assert (review.store, review.app, review.review_id, review.rating) == (Store.APPLE, APP, rid, 1)
    assert (review.title, review.body, review.author, review.territory) == (
        "Absturz",
        "Die App stürzt ab.",
        "Erika",
        "DEU",
    )
    assert review.created_at == created and review.created_at.tzinfo == UTC  # Apple sent -07:00
    assert review.reply is not None
    assert (review.reply.text, review.reply.state) == ("Danke für Ihre Rückmeldung.", PublicState.PENDING)
    assert review.reply.response_id == fake.response_of(rid).id  # type: ignore[union-attr]


def test_the_sweep_returns_unanswered_and_pending_reviews_and_sees_text_edits(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    unanswered, pending, published = seed(fake, 3)
    client.post_reply(pending, "Danke!")
    client.post_reply(published, "Danke!")
    fake.publish_pending()
    client.post_reply(pending, "Danke sehr!")  # overwritten: pending again

    swept = client.sweep_unanswered(APP)

    assert {r.review_id for r in swept} == {unanswered, pending}
    sweep = fake.calls("GET", "/customerReviews")[-1]
    assert sweep.query["exists[publishedResponse]"] == ["false"]
    reply = {r.review_id: r.reply for r in swept}[pending]
    assert reply is not None and reply.state is PublicState.PENDING  # the caller decides from its own state

    fake.edit_review(unanswered, body="Jetzt geht gar nichts mehr", rating=1)
    (edited,) = [r for r in client.sweep_unanswered(APP) if r.review_id == unanswered]
    assert (edited.body, edited.rating) == ("Jetzt geht gar nichts mehr", 1)


def test_the_stand_in_refuses_what_apple_refuses_in_a_list_query(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    http = client._http
    with pytest.raises(StoreRejected, match=r"400 PARAMETER_ERROR.INVALID.*limit"):
        http.request("GET", f"/v1/apps/{APP}/customerReviews", "listing", params={"limit": "201"})
    with pytest.raises(StoreRejected, match=r"PARAMETER_ERROR\.ILLEGAL"):
        http.request("GET", f"/v1/apps/{APP}/customerReviews", "listing", params={"filter[language]": "de"})
    with pytest.raises(StoreRejected, match="sort"):
        http.request("GET", f"/v1/apps/{APP}/customerReviews", "listing", params={"sort": "-lastModified"})


def test_filters_and_sorting_of_the_stand_in(fake: FakeAppStoreConnect, client: AppleReviewsClient) -> None:
    seed(fake, 10)
    fake.add_review(APP, rating=1, territory="DEU", created=START)
    response = client._http.request(
        "GET",
        f"/v1/apps/{APP}/customerReviews",
        "listing",
        params={"filter[rating]": "1,2", "filter[territory]": "DEU,USA", "sort": "rating", "limit": "3"},
    )
    page = response.json()

    assert [r["attributes"]["rating"] for r in page["data"]] == [1, 1, 1]
    assert page["meta"]["paging"] == {"total": 5, "limit": 3}  # ratings 1 and 2 of ten, plus the German one
    assert page["links"]["next"].startswith(f"{fake.base_url}/v1/apps/{APP}/customerReviews?")


def test_one_review_with_its_response_as_the_stand_in_serves_it(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    rid = fake.add_review(APP, rating=3, body="Geht so")
    posted = client.post_reply(rid, "Danke!")

    document = client._http.request(
        "GET", f"/v1/customerReviews/{rid}", "reading", params={"include": "response"}
    ).json()

    assert document["data"]["id"] == rid and document["data"]["attributes"]["rating"] == 3
    linkage = document["data"]["relationships"]["response"]["data"]
    assert linkage == {"type": "customerReviewResponses", "id": posted.response_id}
    (included,) = document["included"]
    assert included["attributes"]["responseBody"] == "Danke!"
    assert included["attributes"]["state"] == "PENDING_PUBLISH"
