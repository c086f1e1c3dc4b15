"""Quotas, access problems and the onboarding check of AppleReviewsClient against the stand-in.

Acceptance checks 10 (X-Rate-Limit near zero or 429 RATE_LIMIT_EXCEEDED: no tight retry loop, work
resumes on a later run) and 11 (FORBIDDEN_ERROR and the agreement error are access problems, never
"0 reviews") of the issue-16 note.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from mailbot.stores.apple import AppleCheck, AppleCredentials, AppleReviewsClient, CheckOutcome
from mailbot.stores.model import Quota, StoreAccessDenied, StoreRateLimited, StoreUnavailable
from tests.servers.appstore import FakeAppStoreConnect, MovableClock

APP, OTHER_APP = "1234567890", "9876543210"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeAppStoreConnect]:
    with FakeAppStoreConnect(clock=clock) as server:
        server.add_app(APP)
        server.add_app(OTHER_APP)
        yield server


def client_for(
    fake: FakeAppStoreConnect, clock: MovableClock, key_id: str = "INDIV1", **key: object
) -> AppleReviewsClient:
    pem = fake.new_key(key_id, **key)  # type: ignore[arg-type]
    issuer = key.get("issuer_id")
    credentials = AppleCredentials(key_id, issuer if isinstance(issuer, str) else None, pem, fake.base_url)
    return AppleReviewsClient(credentials, timeout_seconds=2.0, clock=clock)


@pytest.fixture
def client(fake: FakeAppStoreConnect, clock: MovableClock) -> Iterator[AppleReviewsClient]:
    with client_for(fake, clock, apps={APP}) as c:
        yield c


def test_every_answer_updates_the_quota(fake: FakeAppStoreConnect, client: AppleReviewsClient) -> None:
    assert client.quota == Quota()
    fake.set_quota(3500, 500)

    client.reviews_newer_than(APP, None)

    assert client.quota == Quota(limit=3500, remaining=499)


def test_a_spent_budget_stops_calls_before_they_are_made_and_a_later_run_resumes(
    fake: FakeAppStoreConnect, client: AppleReviewsClient, clock: MovableClock
) -> None:
    review = fake.add_review(APP)
    fake.set_quota(3500, 1)
    client.current_reply(review)  # spends the last call
    assert client.quota.remaining == 0
    calls = len(fake.received)

    with pytest.raises(StoreRateLimited, match="hourly budget of key INDIV1 is spent") as caught:
        client.post_reply(review, "Danke!")

    assert len(fake.received) == calls  # nothing was sent
    assert caught.value.retry_after_seconds == 600
    fake.set_quota(3500, 3500)  # the rolling hour frees budget
    clock.advance(10 * 60)
    assert client.post_reply(review, "Danke!").text == "Danke!"  # one probe, and work goes on


def test_a_429_is_rate_limited_with_retry_after_and_never_retried(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    fake.add_review(APP)
    fake.fail_next(429, retry_after="120")

    with pytest.raises(StoreRateLimited) as caught:
        client.reviews_newer_than(APP, None)

    assert (caught.value.status, caught.value.code, caught.value.retry_after_seconds) == (
        429,
        "RATE_LIMIT_EXCEEDED",
        120.0,
    )
    assert len(fake.received) == 1
    assert len(client.reviews_newer_than(APP, None)[0]) == 1  # the next run reads normally


def test_the_stand_in_answers_429_at_zero_and_the_client_stops_there(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    for _ in range(450):
        fake.add_review(APP)
    fake.set_quota(3500, 2)  # two pages, the third is refused

    with pytest.raises(StoreRateLimited):
        client.reviews_newer_than(APP, None)
    with pytest.raises(StoreRateLimited):
        client.reviews_newer_than(APP, None)

    assert len(fake.received) == 2  # the spent budget was known: no third call


def test_an_app_the_key_may_not_see_is_access_denied(client: AppleReviewsClient) -> None:
    with pytest.raises(StoreAccessDenied, match="403 FORBIDDEN_ERROR") as caught:
        client.reviews_newer_than(OTHER_APP, None)
    assert caught.value.code == "FORBIDDEN_ERROR"
    assert "Customer Support role" in str(caught.value)


def test_a_timeout_while_reading_is_unavailable(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    fake.hang_next()
    with pytest.raises(StoreUnavailable, match="did not answer listing the reviews of app 1234567890"):
        client.reviews_newer_than(APP, None)


# --- the onboarding check: one read call, one verdict with the fix -------------------------------------


def check_with(fake: FakeAppStoreConnect, client: AppleReviewsClient, app: str = APP) -> AppleCheck:
    before = len(fake.received)
    result = client.check(app)
    assert len(fake.received) - before == (2 if result.outcome is CheckOutcome.CREDENTIALS_REFUSED else 1)
    return result


def test_check_says_works_with_the_count(fake: FakeAppStoreConnect, client: AppleReviewsClient) -> None:
    for day in (1, 2, 3):
        fake.add_review(APP, created=datetime(2026, 11, day, 9, 0, tzinfo=UTC))

    result = check_with(fake, client)

    assert result == AppleCheck(
        CheckOutcome.WORKS, "works: app 1234567890 has 3 reviews, the newest from 2026-11-03"
    )
    assert result.ok


def test_check_tells_no_reviews_yet_from_no_access(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    empty = check_with(fake, client)
    denied = check_with(fake, client, OTHER_APP)

    assert empty.outcome is CheckOutcome.NO_REVIEWS and empty.ok
    assert denied.outcome is CheckOutcome.NO_ACCESS and not denied.ok
    assert "Customer Support role for this app" in denied.message


def test_check_reports_a_key_without_the_role_as_no_access(
    fake: FakeAppStoreConnect, clock: MovableClock
) -> None:
    with client_for(fake, clock, "DEV001", reviews_allowed=False) as developer:
        assert check_with(fake, developer).outcome is CheckOutcome.NO_ACCESS


def test_check_reports_a_missing_agreement(fake: FakeAppStoreConnect, client: AppleReviewsClient) -> None:
    fake.agreements_missing = True
    result = check_with(fake, client)
    assert result.outcome is CheckOutcome.AGREEMENT_MISSING
    assert "Account Holder accepts the latest agreements" in result.message


def test_check_reports_refused_credentials(fake: FakeAppStoreConnect, clock: MovableClock) -> None:
    pem = fake.new_key("TEAM01", issuer_id="57246542-96fe-1a63-e053-0824d011072a")
    wrong_issuer = AppleCredentials("TEAM01", "00000000-0000-0000-0000-000000000000", pem, fake.base_url)
    with AppleReviewsClient(wrong_issuer, clock=clock) as client:
        result = check_with(fake, client)
    assert result.outcome is CheckOutcome.CREDENTIALS_REFUSED
    assert "issuer id" in result.message


def test_check_reports_an_unknown_app_id(fake: FakeAppStoreConnect, clock: MovableClock) -> None:
    with client_for(fake, clock, "TEAM01", issuer_id="57246542-96fe-1a63-e053-0824d011072a") as team:
        result = check_with(fake, team, "com.example.app")
    assert result.outcome is CheckOutcome.NO_ACCESS
    assert "numeric Apple ID" in result.message


def test_check_reports_an_outage_as_not_a_verdict(
    fake: FakeAppStoreConnect, client: AppleReviewsClient
) -> None:
    fake.fail_next(503)
    result = check_with(fake, client)
    assert result.outcome is CheckOutcome.UNAVAILABLE and not result.ok
    assert result.message.endswith("run the check again later")
