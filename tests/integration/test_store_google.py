"""The Google Play reviews client over HTTP against the loopback stand-in (issue 16, acceptance checks 4,
5, 6, 9, 10, 11, 12 and 15 at the client's level).

Each test gets its own stand-in, service-account key (made for the test, never committed) and quota
counters on the stand-in's clock, so moving that clock moves the client's token cache and budgets too.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import jwt
import pytest

from mailbot import logredact
from mailbot.stores.google import CheckOutcome, GooglePlayReviewsClient, load_service_account
from mailbot.stores.google_budget import RollingBudget
from mailbot.stores.model import (
    PublicState,
    StoreAccessDenied,
    StoreAuthError,
    StoreError,
    StoreNotFound,
    StoreRateLimited,
    StoreRejected,
    StoreUnavailable,
)
from tests.servers.googleplay import SCOPE, FakeGooglePlay

PACKAGE = "com.example.shop"


@pytest.fixture
def play() -> Iterator[FakeGooglePlay]:
    with FakeGooglePlay() as fake:
        yield fake


@pytest.fixture
def key(play: FakeGooglePlay, tmp_path: Path) -> Path:
    return play.new_service_account(tmp_path / "keys", packages=(PACKAGE,))


def make_client(play: FakeGooglePlay, key: Path, **options) -> GooglePlayReviewsClient:
    options.setdefault("get_budget", RollingBudget(200, 3600, "reads per hour", clock=play.timestamp))
    options.setdefault("post_budget", RollingBudget(2000, 86400, "replies per day", clock=play.timestamp))
    options.setdefault("timeout_seconds", 5)
    return GooglePlayReviewsClient(
        load_service_account(key), api_base=play.base_url, clock=play.timestamp, **options
    )


@pytest.fixture
def client(play: FakeGooglePlay, key: Path) -> Iterator[GooglePlayReviewsClient]:
    with make_client(play, key) as c:
        yield c


# --- 4: the token ------------------------------------------------------------------------------------


def test_the_token_endpoint_gets_a_valid_rs256_assertion_for_the_androidpublisher_scope(play, key, client):
    play.add_review(PACKAGE)
    assert len(client.recent_reviews(PACKAGE)) == 1
    (request,) = [r for r in play.received if r.path == "/token"]
    assert request.form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer"
    info = json.loads(key.read_text())
    header = jwt.get_unverified_header(request.form["assertion"])
    claims = jwt.decode(request.form["assertion"], options={"verify_signature": False})
    assert header["alg"] == "RS256" and header["kid"] == info["private_key_id"]
    assert claims["iss"] == info["client_email"] and claims["aud"] == play.token_uri
    assert SCOPE in claims["scope"].split() and claims["exp"] - claims["iat"] <= 3600
    assert play.tokens_issued == 1  # the stand-in verified it and issued a token
    assert play.api_calls()[0].headers["authorization"].startswith("Bearer ya29.")


def test_one_token_serves_an_hour_of_calls_and_is_renewed_five_minutes_before_it_expires(play, client):
    for _ in range(100):  # 100 calls in 50 simulated minutes
        client.check(PACKAGE)
        play.advance(30)
    assert play.tokens_issued == 1
    play.advance(timedelta(minutes=5, seconds=1))  # 55 min after issue: inside the 5-minute margin
    client.check(PACKAGE)
    assert play.tokens_issued == 2 and client.tokens_fetched == 2


def test_clients_made_anew_for_each_poll_share_the_accounts_token(play, key):
    for _ in range(3):
        with make_client(play, key) as client:
            client.check(PACKAGE)
    assert play.tokens_issued == 1 and len(play.api_calls()) == 3


def test_a_refused_token_is_replaced_once_and_the_call_retried(play, client):
    play.add_review(PACKAGE)
    client.recent_reviews(PACKAGE)
    play.fail_next(401)
    assert len(client.recent_reviews(PACKAGE)) == 1
    assert play.tokens_issued == 2 and len(play.api_calls("GET")) == 3


def test_expired_tokens_are_replaced_without_failing_the_call(play, client):
    client.check(PACKAGE)
    play.expire_tokens()
    assert client.check(PACKAGE).outcome is CheckOutcome.NO_RECENT_REVIEWS
    assert play.tokens_issued == 2


def test_a_second_401_is_an_auth_error_after_exactly_one_retry(play, client):
    play.fail_next(401, times=2)
    with pytest.raises(StoreAuthError, match="refused the access token") as caught:
        client.recent_reviews(PACKAGE)
    assert caught.value.code == "UNAUTHENTICATED"
    assert play.tokens_issued == 2 and len(play.api_calls()) == 2


def test_a_key_the_token_endpoint_refuses_is_an_auth_error_naming_account_and_fix(play, key, tmp_path):
    other = FakeGooglePlay().new_service_account(tmp_path / "other")  # same e-mail, a key Google never saw
    info = json.loads(key.read_text())
    info["private_key"] = json.loads(other.read_text())["private_key"]
    key.write_text(json.dumps(info))
    with make_client(play, key) as client, pytest.raises(StoreAuthError) as caught:
        client.recent_reviews(PACKAGE)
    message = str(caught.value)
    assert info["client_email"] in message and "invalid_grant" in message and "key file" in message
    assert play.api_calls() == [] and play.tokens_issued == 0


# --- 5: listing --------------------------------------------------------------------------------------


def test_only_text_reviews_of_the_last_seven_days_come_back_newest_first(play, client):
    now = play.now()
    old = play.add_review(PACKAGE, "Old\tfrom last week", 2, modified=now - timedelta(days=7, minutes=1))
    stars_only = play.add_review(PACKAGE, "", 1)
    older = play.add_review(PACKAGE, "Fine\tgood", 4, modified=now - timedelta(days=6))
    newest = play.add_review(PACKAGE, "Crash\tcrashes at start", 1, modified=now - timedelta(hours=1))
    reviews = client.recent_reviews(PACKAGE)
    assert [r.review_id for r in reviews] == [newest, older]
    assert old not in {r.review_id for r in reviews} and stars_only not in {r.review_id for r in reviews}


def test_all_pages_are_read_with_100_reviews_each(play, client):
    now = play.now()
    ids = [
        play.add_review(PACKAGE, f"T{i}\tbody {i}", 3, modified=now - timedelta(minutes=i))
        for i in range(250)
    ]
    reviews = client.recent_reviews(PACKAGE)
    assert [r.review_id for r in reviews] == ids
    calls = play.api_calls("GET")
    assert len(calls) == 3 and all(c.query["maxResults"] == ["100"] for c in calls)
    assert "token" not in calls[0].query and all("token" in c.query for c in calls[1:])


def test_no_reviews_key_is_an_empty_list(play, client):
    assert client.recent_reviews(PACKAGE) == []
    assert len(play.api_calls()) == 1


def test_a_page_two_without_token_pagination_and_a_null_page_info_end_paging_without_a_crash(play, client):
    play.drop_page2_token = play.null_page_info = True
    for i in range(250):
        play.add_review(PACKAGE, f"T{i}\tbody", 3, modified=play.now() - timedelta(minutes=i))
    assert len(client.recent_reviews(PACKAGE)) == 200  # Google gives no way to page 3
    assert len(play.api_calls("GET")) == 2


def test_a_review_is_normalised_from_the_user_comment(play, client):
    text = "Tolle App\tAber der Login hängt"
    rid = play.add_review(PACKAGE, text, 2, language="de_DE", app_version="4.1.0", reply="Danke!")
    (review,) = client.recent_reviews(PACKAGE)
    assert (review.review_id, review.app, review.rating) == (rid, PACKAGE, 2)
    assert (review.title, review.body) == ("Tolle App", "Aber der Login hängt")
    assert (review.device_language, review.app_version, review.author) == ("de_DE", "4.1.0", "A Google user")
    assert review.modified_at == review.created_at
    assert abs((review.modified_at - play.now()).total_seconds()) < 5
    assert review.reply is not None and review.reply.text == "Danke!"
    assert review.reply.state is PublicState.PUBLISHED


# --- 6: replying -------------------------------------------------------------------------------------


def test_a_351_character_reply_is_never_sent_and_350_are(play, client):
    rid = play.add_review(PACKAGE)
    with pytest.raises(StoreRejected, match="351 characters"):
        client.post_reply(PACKAGE, rid, "x" * 351)
    assert play.api_calls() == [] and play.tokens_issued == 0  # refused before any request
    reply = client.post_reply(PACKAGE, rid, "ü" * 350)
    assert reply.text == "ü" * 350 and play.review(PACKAGE, rid).reply == "ü" * 350


@pytest.mark.parametrize("text", ["Danke <b>sehr</b>!", "Thanks &amp; sorry", "See <a href='x'>FAQ</a>"])
def test_html_never_leaves_mailbot(play, client, text):
    rid = play.add_review(PACKAGE)
    with pytest.raises(StoreRejected, match="HTML"):
        client.post_reply(PACKAGE, rid, text)
    assert play.api_calls() == []


def test_a_reply_is_stored_and_its_last_edited_time_returned(play, client):
    rid = play.add_review(PACKAGE)
    text = "Vielen Dank für Ihre Bewertung! Bei Fragen: support@example.com"
    reply = client.post_reply(PACKAGE, rid, text)
    (post,) = play.api_calls("POST")
    assert post.json == {"replyText": text}
    assert (reply.text, reply.state) == (text, PublicState.PUBLISHED)
    stored = play.review(PACKAGE, rid)
    assert stored.reply == text and reply.modified_at is not None
    assert abs((reply.modified_at - stored.reply_modified).total_seconds()) < 1e-3
    assert client.current_reply(PACKAGE, rid) == reply


def test_a_second_reply_replaces_the_first(play, client):
    rid = play.add_review(PACKAGE)
    client.post_reply(PACKAGE, rid, "First")
    client.post_reply(PACKAGE, rid, "Second")
    current = client.current_reply(PACKAGE, rid)
    assert current is not None and current.text == "Second"


def test_current_reply_is_none_before_a_reply_and_unknown_reviews_are_not_found(play, client):
    rid = play.add_review(PACKAGE)
    assert client.current_reply(PACKAGE, rid) is None
    with pytest.raises(StoreNotFound):
        client.current_reply(PACKAGE, "gp:unknown")


def test_replying_to_a_review_older_than_seven_days_is_unavailable_not_silently_done(play, client):
    rid = play.add_review(PACKAGE)
    play.advance(timedelta(days=8))
    with pytest.raises(StoreUnavailable, match="500"):
        client.post_reply(PACKAGE, rid, "Thanks")
    assert play.review(PACKAGE, rid).reply is None


# --- 9: an unknown outcome ---------------------------------------------------------------------------


def test_a_reply_whose_answer_never_comes_is_unavailable_and_read_back_from_the_store(play, key):
    rid = play.add_review(PACKAGE, "Crash\tcrashes", 1)
    with make_client(play, key, timeout_seconds=0.5) as client:
        play.hang_next()
        with pytest.raises(StoreUnavailable, match="read it back"):
            client.post_reply(PACKAGE, rid, "Thanks, passed on to our developers.")
        current = client.current_reply(PACKAGE, rid)
    assert current is not None and current.text == "Thanks, passed on to our developers."
    assert len(play.api_calls("POST")) == 1


# --- 10: limits --------------------------------------------------------------------------------------


def test_the_stores_429_is_rate_limited_with_its_retry_after_and_not_retried(play, client):
    play.fail_next(429, retry_after="120")
    with pytest.raises(StoreRateLimited) as caught:
        client.recent_reviews(PACKAGE)
    assert caught.value.retry_after_seconds == 120 and caught.value.code == "RESOURCE_EXHAUSTED"
    assert len(play.api_calls()) == 1


def test_a_spent_store_quota_is_rate_limited(play, client):
    play.get_quota = 2
    client.check(PACKAGE)
    client.check(PACKAGE)
    with pytest.raises(StoreRateLimited, match="quota"):
        client.recent_reviews(PACKAGE)
    play.advance(3601)
    assert client.recent_reviews(PACKAGE) == []


def test_the_client_never_sends_a_201st_get_in_an_hour(play, client):
    sent = 0
    with pytest.raises(StoreRateLimited) as caught:
        while True:
            if sent % 2:
                client.check(PACKAGE)
            else:
                client.recent_reviews(PACKAGE)
            sent += 1
    assert sent == 200 and len(play.api_calls("GET")) == 200  # the 201st never left mailbot
    assert caught.value.code == "LOCAL_QUOTA" and 3500 < caught.value.retry_after_seconds <= 3600
    play.advance(timedelta(minutes=61))
    client.recent_reviews(PACKAGE)


def test_the_post_budget_refuses_before_the_store_would(play, key):
    rid = play.add_review(PACKAGE)
    budget = RollingBudget(2, 86400, "replies per day", clock=play.timestamp)
    with make_client(play, key, post_budget=budget) as client:
        client.post_reply(PACKAGE, rid, "One")
        client.post_reply(PACKAGE, rid, "Two")
        with pytest.raises(StoreRateLimited):
            client.post_reply(PACKAGE, rid, "Three")
    assert len(play.api_calls("POST")) == 2 and play.review(PACKAGE, rid).reply == "Two"


# --- 11: permissions and the onboarding check -----------------------------------------------------------


def test_a_package_not_granted_is_access_denied_naming_the_grant(play, key, client):
    play.add_review("com.example.other")
    with pytest.raises(StoreAccessDenied, match="Reply to reviews") as caught:
        client.recent_reviews("com.example.other")
    assert caught.value.code == "PERMISSION_DENIED" and caught.value.status == 403
    assert json.loads(key.read_text())["client_email"] in str(caught.value)


@pytest.mark.parametrize(
    ("setup", "outcome"),
    [
        ("review", CheckOutcome.WORKS),
        ("nothing", CheckOutcome.NO_RECENT_REVIEWS),
        ("only_old_reviews", CheckOutcome.NO_RECENT_REVIEWS),
        ("not_granted", CheckOutcome.NO_ACCESS),
        ("unknown_package", CheckOutcome.NO_ACCESS),
        ("key_refused", CheckOutcome.CREDENTIALS_REFUSED),
        ("store_down", CheckOutcome.TRY_LATER),
    ],
)
def test_the_onboarding_check_tells_the_cases_apart_with_one_read(play, key, client, setup, outcome):
    package = PACKAGE
    email = json.loads(key.read_text())["client_email"]
    if setup == "review":
        play.add_review(PACKAGE)
    elif setup == "only_old_reviews":
        play.add_review(PACKAGE, modified=play.now() - timedelta(days=9))
    elif setup == "not_granted":
        play.revoke(email, PACKAGE)
    elif setup == "unknown_package":
        package = "com.example.typo"
    elif setup == "key_refused":
        play.fail_next(400, path="/token")
    elif setup == "store_down":
        play.fail_next(503)
    result = client.check(package)
    assert result.outcome is outcome
    assert len(play.api_calls()) == (0 if setup == "key_refused" else 1)
    if outcome is CheckOutcome.NO_ACCESS:
        assert "Users and permissions" in result.message and email in result.message
        assert not result.ok
    if outcome is CheckOutcome.NO_RECENT_REVIEWS:
        assert "7 days" in result.message and result.ok


# --- 12: edits ---------------------------------------------------------------------------------------


def test_an_edited_review_comes_back_with_a_new_modified_time_and_rating(play, client):
    rid = play.add_review(PACKAGE, "Super\tLäuft", 5)
    client.post_reply(PACKAGE, rid, "Danke!")
    (before,) = client.recent_reviews(PACKAGE)
    play.advance(timedelta(hours=5))
    play.edit_review(PACKAGE, rid, text="Schlecht\tSeit dem Update stürzt sie ab", rating=1)
    (after,) = client.recent_reviews(PACKAGE)
    assert after.review_id == before.review_id
    assert (after.rating, after.title) == (1, "Schlecht")
    assert after.modified_at is not None and before.modified_at is not None
    assert timedelta(hours=5) <= after.modified_at - before.modified_at < timedelta(hours=5, seconds=30)
    assert after.reply is not None and after.reply.text == "Danke!"  # answered before: for a person


# --- 15: secrets -------------------------------------------------------------------------------------


def test_no_key_assertion_or_access_token_in_logs_errors_or_reprs(play, key, caplog):
    caplog.set_level(logging.DEBUG)
    rid = play.add_review(PACKAGE)
    errors: list[StoreError] = []
    with make_client(play, key, timeout_seconds=0.5) as client:
        client.recent_reviews(PACKAGE)
        play.fail_next(401, times=2)
        play.hang_next()
        for call in (
            lambda: client.recent_reviews(PACKAGE),
            lambda: client.post_reply(PACKAGE, rid, "Thanks"),
            lambda: client.recent_reviews("com.example.other"),
        ):
            with pytest.raises(StoreError) as caught:
                call()
            errors.append(caught.value)
        play.fail_next(400, path="/token")
        play.expire_tokens()
        with pytest.raises(StoreAuthError) as refused:
            client.recent_reviews(PACKAGE)
        errors.append(refused.value)
        shown = [repr(client), repr(client.credentials), repr(client._tokens)]
    private_key = json.loads(key.read_text())["private_key"]
    key_lines = [line for line in private_key.splitlines() if "PRIVATE KEY" not in line]
    assertions = [r.form["assertion"] for r in play.received if r.path == "/token"]
    tokens = {r.headers["authorization"].removeprefix("Bearer ") for r in play.api_calls()}
    assert len(assertions) == 3 and len(tokens) == 2
    texts = [caplog.text, *shown, *(str(e) for e in errors), *(repr(e) for e in errors)]
    for secret in [*key_lines, *assertions, *tokens]:
        assert not any(secret in text for text in texts)


def test_the_current_token_and_assertion_are_scrubbed_by_the_log_filter(play, client):
    client.check(PACKAGE)
    token = play.api_calls()[-1].headers["authorization"].removeprefix("Bearer ")
    assertion = [r.form["assertion"] for r in play.received if r.path == "/token"][-1]
    scrub = logredact.RedactingFilter([], addresses=False).scrub  # run-time secrets reach every filter
    assert scrub(f"sent {token} and {assertion}") == "sent [secret] and [secret]"


# --- the rest of the face ------------------------------------------------------------------------------


def test_one_review_is_read_normalised_and_an_old_one_is_not_found(play, key):
    rid = play.add_review(PACKAGE, "Frage\tWie exportiere ich?", 4)
    old = play.add_review(PACKAGE, modified=play.now() - timedelta(days=8))
    with make_client(play, key) as client:
        review = client.review(PACKAGE, rid)
        assert review is not None and (review.title, review.body) == ("Frage", "Wie exportiere ich?")
        with pytest.raises(StoreNotFound):
            client.review(PACKAGE, old)


def test_a_client_from_a_key_variable(play, key, monkeypatch):
    monkeypatch.setenv("MAILBOT_TEST_PLAY_KEY", key.read_text())
    with GooglePlayReviewsClient.from_key("env:MAILBOT_TEST_PLAY_KEY", api_base=play.base_url) as client:
        assert client.check(PACKAGE).outcome is CheckOutcome.NO_RECENT_REVIEWS


def test_a_token_endpoint_elsewhere_that_is_down_is_unavailable_and_the_check_says_try_later(play, key):
    from tests.servers.common import free_ports

    dead = f"http://127.0.0.1:{free_ports(1)[0]}/token"  # its own origin: the client mounts a transport
    credentials = load_service_account(key, token_uri=dead)
    with GooglePlayReviewsClient(credentials, api_base=play.base_url, timeout_seconds=2) as client:
        with pytest.raises(StoreUnavailable, match="unreachable"):
            client.recent_reviews(PACKAGE)
        assert client.check(PACKAGE).outcome is CheckOutcome.TRY_LATER
    assert play.received == []
