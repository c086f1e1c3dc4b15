"""The Google Play stand-in refuses what Google refuses: raw HTTP, without mailbot's client, so the client's
tests can trust that a request the stand-in accepted would have been accepted by Google too."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailbot.stores.google_reviews import review_from_json
from tests.servers.googleplay import API, JWT_BEARER, SCOPE, FakeGooglePlay

PACKAGE = "com.example.shop"


@pytest.fixture
def play() -> Iterator[FakeGooglePlay]:
    with FakeGooglePlay() as fake:
        yield fake


@pytest.fixture
def key(play: FakeGooglePlay, tmp_path: Path) -> dict:
    return json.loads(play.new_service_account(tmp_path, packages=(PACKAGE,)).read_text())


def assertion(
    play: FakeGooglePlay, key: dict, *, signing_key: object = None, algorithm: str = "RS256", **claims
):
    now = int(play.timestamp())
    body = {"iss": key["client_email"], "scope": SCOPE, "aud": play.token_uri, "iat": now, "exp": now + 3600}
    body.update(claims)
    return jwt.encode(body, signing_key or key["private_key"], algorithm=algorithm)


def token_answer(play: FakeGooglePlay, grant: str, **form: str) -> httpx.Response:
    return httpx.post(play.token_uri, data={"grant_type": JWT_BEARER, "assertion": grant, **form})


def access_token(play: FakeGooglePlay, key: dict) -> str:
    answer = token_answer(play, assertion(play, key))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    return body["access_token"]


def api(play: FakeGooglePlay, token: str, method: str, path: str, **kwargs) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.request(method, f"{play.base_url}{API}/{path}", headers=headers, **kwargs)


def test_a_correct_assertion_gets_an_hour_long_bearer_token(play, key):
    access_token(play, key)
    assert play.tokens_issued == 1


@pytest.mark.parametrize(
    ("claims", "error"),
    [
        # times relative to the moment the test runs (a whole suite takes longer than these offsets)
        (lambda now: {"aud": "https://oauth2.googleapis.com/token"}, "invalid_grant"),  # not this token URI
        (lambda now: {"scope": "https://www.googleapis.com/auth/cloud-platform"}, "invalid_scope"),
        (lambda now: {"exp": now + 7200}, "invalid_grant"),  # longer than an hour
        (lambda now: {"iat": now + 600, "exp": now + 1200}, "invalid_grant"),  # in the future
        (lambda now: {"iat": now - 7200, "exp": now - 3600}, "invalid_grant"),  # expired
        (lambda now: {"iss": "someone@else.iam.gserviceaccount.com"}, "invalid_grant"),
    ],
)
def test_assertions_google_refuses_are_refused(play, key, claims, error):
    answer = token_answer(play, assertion(play, key, **claims(int(time.time()))))
    assert (answer.status_code, answer.json()["error"]) == (400, error)
    assert play.tokens_issued == 0


def test_a_signature_of_another_key_or_algorithm_is_refused(play, key):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    for grant in (
        assertion(play, key, signing_key=pem),
        assertion(play, key, signing_key="a shared secret of 32 bytes long!", algorithm="HS256"),
    ):
        answer = token_answer(play, grant)
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    wrong_grant = token_answer(play, assertion(play, key), grant_type="client_credentials")
    assert wrong_grant.json()["error"] == "unsupported_grant_type"
    assert play.tokens_issued == 0


def test_the_api_needs_a_live_bearer_token(play, key):
    for token in ("", "ya29.made-up"):
        answer = api(play, token, "GET", f"{PACKAGE}/reviews")
        assert answer.status_code == 401 and answer.json()["error"]["status"] == "UNAUTHENTICATED"
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    token = access_token(play, key)
    assert api(play, token, "GET", f"{PACKAGE}/reviews").status_code == 200
    play.advance(3601)
    assert api(play, token, "GET", f"{PACKAGE}/reviews").status_code == 401


def test_errors_come_in_googles_format(play, key):
    token = access_token(play, key)
    play.add_app("com.example.other")
    denied = api(play, token, "GET", "com.example.other/reviews")
    assert denied.status_code == 403
    assert denied.json()["error"]["status"] == "PERMISSION_DENIED" and denied.json()["error"]["code"] == 403
    assert api(play, token, "GET", f"{PACKAGE}/reviews", params={"maxResults": 101}).status_code == 400
    assert api(play, token, "GET", f"{PACKAGE}/reviews", params={"token": "forged"}).status_code == 400


def test_reply_limits_html_and_empty_text(play, key):
    token = access_token(play, key)
    rid = play.add_review(PACKAGE)
    path = f"{PACKAGE}/reviews/{rid}:reply"
    too_long = api(play, token, "POST", path, json={"replyText": "x" * 351})
    assert too_long.status_code == 400 and too_long.json()["error"]["status"] == "INVALID_ARGUMENT"
    assert api(play, token, "POST", path, json={"replyText": "  "}).status_code == 400
    assert play.review(PACKAGE, rid).reply is None
    stripped = api(play, token, "POST", path, json={"replyText": "Danke <b>sehr</b>!"})
    assert stripped.json()["result"]["replyText"] == "Danke sehr!"
    assert set(stripped.json()["result"]["lastEdited"]) == {"seconds", "nanos"}
    assert play.review(PACKAGE, rid).reply == "Danke sehr!"


def test_the_post_quota_is_per_package_and_day(play, key):
    play.post_quota = 1
    token = access_token(play, key)
    rid = play.add_review(PACKAGE)
    assert (
        api(play, token, "POST", f"{PACKAGE}/reviews/{rid}:reply", json={"replyText": "A"}).status_code == 200
    )
    spent = api(play, token, "POST", f"{PACKAGE}/reviews/{rid}:reply", json={"replyText": "B"})
    assert spent.status_code == 429 and spent.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
    play.advance(86401)
    token = access_token(play, key)
    assert (
        api(play, token, "POST", f"{PACKAGE}/reviews/{rid}:reply", json={"replyText": "C"}).status_code == 200
    )


def test_a_translation_keeps_the_original_and_mailbot_reads_the_original(play, key):
    rid = play.add_review(PACKAGE, "Absturz\tDie App stürzt beim Start ab", 1, language="de")
    token = access_token(play, key)
    served = api(play, token, "GET", f"{PACKAGE}/reviews/{rid}", params={"translationLanguage": "en"}).json()
    user = served["comments"][0]["userComment"]
    assert (
        user["text"].startswith("[en] ") and user["originalText"] == "Absturz\tDie App stürzt beim Start ab"
    )
    assert served == play.review_json(PACKAGE, rid, translation="en")
    review = review_from_json(PACKAGE, served)
    assert review is not None and (review.title, review.body) == ("Absturz", "Die App stürzt beim Start ab")
