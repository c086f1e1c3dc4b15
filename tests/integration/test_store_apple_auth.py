"""Bearer tokens between AppleReviewsClient and the App Store Connect stand-in, and keeping them secret.

Acceptance checks 1 (the stand-in accepts mailbot's tokens and refuses what Apple refuses; 100 calls in
10 simulated minutes use at most 2 tokens) and 15 (no key, JWT or signature in logs or error texts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from mailbot.stores.apple import AppleCredentials, AppleReviewsClient
from mailbot.stores.model import StoreAuthError, StoreError
from tests.servers.appstore import FakeAppStoreConnect, MovableClock, new_private_key_pem

APP = "1234567890"
ISSUER = "57246542-96fe-1a63-e053-0824d011072a"


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def fake(clock: MovableClock) -> Iterator[FakeAppStoreConnect]:
    with FakeAppStoreConnect(clock=clock) as server:
        server.add_review(APP, rating=4, body="Gut")
        yield server


def team_client(fake: FakeAppStoreConnect, clock: MovableClock, **kwargs: Any) -> AppleReviewsClient:
    pem = fake.new_key("TEAM01", issuer_id=ISSUER)
    return AppleReviewsClient(AppleCredentials("TEAM01", ISSUER, pem, fake.base_url), clock=clock, **kwargs)


def status_with(fake: FakeAppStoreConnect, token: str) -> tuple[int, str]:
    answer = httpx.get(
        f"{fake.base_url}/v1/apps/{APP}/customerReviews", headers={"Authorization": f"Bearer {token}"}
    )
    code = answer.json()["errors"][0]["code"] if answer.status_code != 200 else ""
    return answer.status_code, code


def test_the_stand_in_accepts_the_tokens_of_team_and_individual_keys(
    fake: FakeAppStoreConnect, clock: MovableClock
) -> None:
    pem = fake.new_key("INDIV1")
    with (
        team_client(fake, clock) as team,
        AppleReviewsClient(AppleCredentials("INDIV1", None, pem, fake.base_url), clock=clock) as individual,
    ):
        assert len(team.reviews_newer_than(APP, None)[0]) == 1
        assert len(individual.reviews_newer_than(APP, None)[0]) == 1

    team_token, individual_token = fake.tokens_seen
    header = jwt.get_unverified_header(team_token)
    assert header == {"alg": "ES256", "kid": "TEAM01", "typ": "JWT"}
    claims = jwt.decode(team_token, options={"verify_signature": False})
    now = int(clock.now.timestamp())
    assert claims == {"iss": ISSUER, "aud": "appstoreconnect-v1", "iat": now, "exp": now + 900}
    assert jwt.decode(individual_token, options={"verify_signature": False})["sub"] == "user"


def forged(fake: FakeAppStoreConnect, clock: MovableClock, pem: str, **changes: Any) -> str:
    now = int(clock.now.timestamp())
    claims = {"iss": ISSUER, "aud": "appstoreconnect-v1", "iat": now, "exp": now + 900} | changes.pop(
        "claims", {}
    )
    headers = {"kid": "TEAM01", "typ": "JWT"} | changes.pop("headers", {})
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, pem, algorithm="ES256", headers=headers
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"claims": {"aud": "appstoreconnect-v2"}},
        {"headers": {"kid": "OTHER1"}},
        {"claims": {"exp": "+1201"}},
        {"claims": {"iat": "-1300", "exp": "-100"}},  # expired
        {"claims": {"iss": "00000000-0000-0000-0000-000000000000"}},
        {"claims": {"iss": None, "sub": "user"}},  # a team key must name its issuer
        {"key": "another"},  # signed with a key the stand-in does not know for this kid
    ],
    ids=["aud", "kid", "exp>20min", "expired", "issuer", "no-iss", "signature"],
)
def test_the_stand_in_refuses_tokens_apple_refuses(
    fake: FakeAppStoreConnect, clock: MovableClock, changes: dict[str, Any]
) -> None:
    pem = fake.new_key("TEAM01", issuer_id=ISSUER)
    now = int(clock.now.timestamp())
    claims = {
        name: now + int(value) if isinstance(value, str) and value[0] in "+-" else value
        for name, value in changes.get("claims", {}).items()
    }
    key = new_private_key_pem() if changes.get("key") else pem
    token = forged(fake, clock, key, claims=claims, headers=changes.get("headers", {}))

    assert status_with(fake, forged(fake, clock, pem)) == (200, "")
    assert status_with(fake, token) == (401, "NOT_AUTHORIZED")


def test_an_individual_key_must_say_sub_user_and_no_issuer(
    fake: FakeAppStoreConnect, clock: MovableClock
) -> None:
    pem = fake.new_key("TEAM01")  # registered as an individual key under the same kid
    now = int(clock.now.timestamp())
    with_issuer = forged(fake, clock, pem)
    as_user = forged(fake, clock, pem, claims={"iss": None, "sub": "user"})
    assert status_with(fake, with_issuer) == (401, "NOT_AUTHORIZED")
    assert status_with(fake, as_user) == (200, "")
    assert now  # the clock is the stand-in's: tokens are checked against simulated time


def test_100_calls_in_10_simulated_minutes_use_at_most_2_tokens(
    fake: FakeAppStoreConnect, clock: MovableClock
) -> None:
    with team_client(fake, clock) as client:
        for _ in range(100):
            assert client.current_reply(fake.add_review(APP)) is None
            clock.advance(6)

    assert len(fake.tokens_seen) <= 2
    assert len(fake.calls("GET", "/response")) == 100  # every call was accepted


def test_a_refused_token_is_renewed_once_then_the_key_is_reported(
    fake: FakeAppStoreConnect, clock: MovableClock
) -> None:
    with team_client(fake, clock) as client:
        fake.fail_next(401)
        assert len(client.reviews_newer_than(APP, None)[0]) == 1  # a new token, one retry
        assert len(fake.tokens_seen) == 2 and len(fake.received) == 2

        fake.fail_next(401, count=2)
        with pytest.raises(StoreAuthError) as caught:
            client.reviews_newer_than(APP, None)

    assert len(fake.received) == 4  # one retry, no loop
    assert str(caught.value) == (
        "App Store Connect refused the key TEAM01 (401 NOT_AUTHORIZED): "
        "check key id, issuer id and the .p8 file"
    )


def test_no_key_token_or_signature_reaches_logs_errors_or_reprs(
    fake: FakeAppStoreConnect, clock: MovableClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    pem = fake.new_key("TEAM01", issuer_id=ISSUER)
    credentials = AppleCredentials("TEAM01", ISSUER, pem, fake.base_url)
    errors: list[StoreError] = []
    with AppleReviewsClient(credentials, timeout_seconds=1.0, clock=clock) as client:
        review = fake.add_review(APP)
        client.post_reply(review, "Danke!")
        for status in (401, 403, 409, 429, 500):
            fake.fail_next(status, count=2 if status == 401 else 1)  # 401: renewed and retried once
            try:
                client.current_reply(review)
            except StoreError as exc:
                errors.append(exc)
        fake.hang_next()
        try:
            client.post_reply(review, "Danke sehr!")
        except StoreError as exc:
            errors.append(exc)
        clock.advance(11 * 60)  # the next token
        client.current_reply(review)
        shown = [repr(client), repr(credentials), repr(client._http), repr(client._http.tokens)]

    assert len(errors) == 6
    texts = [caplog.text, *shown, *(str(e) for e in errors), *(repr(e) for e in errors)]
    tokens = fake.tokens_seen
    assert len(tokens) >= 2
    body = "".join(pem.strip().splitlines()[1:-1])
    der = serialization.load_pem_private_key(pem.encode(), None).private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for text in texts:
        assert "PRIVATE KEY" not in text and der.hex()[-64:] not in text  # the tail holds the secret scalar
        assert all(chunk not in text for chunk in (body[:40], body[40:80], body[-40:]))
        for token in tokens:
            _, payload, signature = token.split(".")
            assert token not in text and signature not in text and payload not in text


def test_a_call_without_a_bearer_token_is_401_with_apples_error_document(fake: FakeAppStoreConnect) -> None:
    answer = httpx.get(f"{fake.base_url}/v1/apps/{APP}/customerReviews")

    assert answer.status_code == 401
    (error,) = answer.json()["errors"]
    assert {error["status"], error["code"]} == {"401", "NOT_AUTHORIZED"}
    assert error["title"] and error["detail"] and error["id"]
    assert answer.headers["X-Rate-Limit"] == "user-hour-lim:3500;user-hour-rem:3500;"
