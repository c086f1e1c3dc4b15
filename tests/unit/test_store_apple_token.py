"""Pure parts of the App Store Connect client: the token cache, X-Rate-Limit, the watermark, key loading."""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailbot.errors import ConfigError
from mailbot.logredact import RedactingFilter
from mailbot.stores.apple import AppleCredentials, AppleWatermark, load_private_key, parse_rate_limit
from mailbot.stores.apple_token import AppleTokens
from mailbot.stores.model import Quota, Store, StoreReview
from tests.servers.appstore import MovableClock, new_private_key_pem

ISSUER = "57246542-96fe-1a63-e053-0824d011072a"
T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def tokens(clock: MovableClock, issuer: str | None = ISSUER) -> tuple[AppleTokens, str]:
    pem = new_private_key_pem()
    return AppleTokens(AppleCredentials("KEY123", issuer, pem), clock), pem


# --- the token cache -------------------------------------------------------------------------------


def test_100_calls_in_10_simulated_minutes_sign_at_most_2_tokens() -> None:
    clock = MovableClock(T0)
    cache, _ = tokens(clock)
    seen = set()
    for _ in range(100):
        seen.add(cache.token())
        clock.advance(6)
    assert len(seen) <= 2 and cache.made == len(seen)


def test_a_token_is_es256_with_kid_typ_aud_and_15_minutes_and_verifies_with_the_public_key() -> None:
    clock = MovableClock(T0)
    cache, pem = tokens(clock)
    token = cache.token()
    public = serialization.load_pem_private_key(pem.encode(), None).public_key()  # type: ignore[union-attr]

    claims = jwt.decode(
        token, public, algorithms=["ES256"], audience="appstoreconnect-v1", options={"verify_exp": False}
    )

    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": "KEY123", "typ": "JWT"}
    now = int(T0.timestamp())
    assert claims == {"iss": ISSUER, "aud": "appstoreconnect-v1", "iat": now, "exp": now + 15 * 60}


def test_an_individual_key_sends_sub_user_and_no_issuer() -> None:
    cache, _ = tokens(MovableClock(T0), issuer=None)
    claims = jwt.decode(cache.token(), options={"verify_signature": False})
    assert claims["sub"] == "user" and "iss" not in claims


def test_a_token_is_reused_until_less_than_5_minutes_are_left() -> None:
    clock = MovableClock(T0)
    cache, _ = tokens(clock)
    first = cache.token()
    clock.advance(10 * 60)  # exactly 5 minutes left: still good
    assert cache.token() == first
    clock.advance(1)
    second = cache.token()
    assert second != first
    claims = jwt.decode(second, options={"verify_signature": False})
    assert claims["iat"] == int(clock.now.timestamp()) and claims["exp"] - claims["iat"] <= 20 * 60


def test_renew_signs_a_new_token_at_once_and_the_log_filter_learns_it() -> None:
    clock = MovableClock(T0)
    cache, _ = tokens(clock)
    first = cache.token()
    clock.advance(1)
    second = cache.renew()
    assert second != first and cache.token() == second

    redacting = RedactingFilter([], addresses=False)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "sent %s", (second,), None)
    redacting.filter(record)
    assert record.getMessage() == "sent [secret]"
    assert first not in redacting.secrets  # the replaced token is dropped


def test_clients_of_the_same_key_share_its_token_and_other_keys_do_not() -> None:
    clock = MovableClock(T0)
    pem = new_private_key_pem()
    first_run = AppleTokens(AppleCredentials("KEY123", ISSUER, pem), clock)
    token = first_run.token()
    clock.advance(5 * 60)
    next_run = AppleTokens(AppleCredentials("KEY123", ISSUER, pem), clock)  # a new client, the next poll

    assert next_run.token() == token and next_run.made == 0
    assert AppleTokens(AppleCredentials("KEY123", ISSUER, new_private_key_pem()), clock).token() != token
    renewed = first_run.renew()
    assert next_run.token() == renewed != token


# --- X-Rate-Limit ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "quota"),
    [
        ("user-hour-lim:3500;user-hour-rem:500;", Quota(3500, 500)),
        ("user-hour-rem:0;user-hour-lim:3600", Quota(3600, 0)),
        (" user-hour-lim : 3500 ; user-hour-rem : 12 ; ", Quota(3500, 12)),
        ("user-hour-lim:3500;user-minute-rem:20;user-hour-rem:7;", Quota(3500, 7)),
        ("user-hour-lim:3500;", Quota(3500, None)),
        ("user-hour-lim:3500;user-hour-rem:many;", Quota(3500, None)),
        ("", None),
        (None, None),
        ("garbage", None),
    ],
)
def test_x_rate_limit_is_parsed_tolerantly(header: str | None, quota: Quota | None) -> None:
    assert parse_rate_limit(header) == quota


# --- the watermark ---------------------------------------------------------------------------------


def review(review_id: str, minutes: int) -> StoreReview:
    return StoreReview(Store.APPLE, "1", review_id, 5, "", "", "", T0 + timedelta(minutes=minutes))


def test_the_watermark_knows_older_reviews_and_stored_ones_at_its_instant_only() -> None:
    mark = AppleWatermark(T0, frozenset({"a"}))
    assert mark.knows(review("old", -1)) and mark.knows(review("a", 0))
    assert not mark.knows(review("b", 0)) and not mark.knows(review("new", 1))


def test_the_watermark_moves_to_the_newest_instant_and_collects_its_ids() -> None:
    mark = AppleWatermark(T0, frozenset({"a"}))
    assert mark.advanced([]) == mark
    assert mark.advanced([review("b", 0)]) == AppleWatermark(T0, frozenset({"a", "b"}))
    moved = mark.advanced([review("d", 2), review("c", 2), review("b", 1)])
    assert moved == AppleWatermark(T0 + timedelta(minutes=2), frozenset({"c", "d"}))


# --- credentials and the key file ------------------------------------------------------------------


def test_credentials_never_show_the_key() -> None:
    pem = new_private_key_pem()
    shown = repr(AppleCredentials("KEY123", None, pem))
    assert "PRIVATE" not in shown and pem.splitlines()[1] not in shown and "KEY123" in shown


def key_file(tmp_path: Path, text: str | bytes, mode: int = 0o600) -> Path:
    path = tmp_path / "AuthKey_KEY123.p8"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    path.chmod(mode)
    return path


def test_a_p8_file_and_an_environment_variable_load() -> None:
    pem = new_private_key_pem()
    assert load_private_key("env:APPLE_KEY", env={"APPLE_KEY": pem}) == pem
    one_line = pem.strip().replace("\n", "\\n")  # what a .env file often holds
    assert load_private_key("env:APPLE_KEY", env={"APPLE_KEY": one_line}) == pem


def test_a_p8_file_loads(tmp_path: Path) -> None:
    pem = new_private_key_pem()
    assert load_private_key(key_file(tmp_path, pem)) == pem


def pem_of(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not a key at all", "does not hold a PEM private key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no readable PEM private key"),
        (
            pem_of(rsa.generate_private_key(65537, 2048)),
            "holds a RSAPrivateKey key, but App Store Connect keys",
        ),
        (
            pem_of(ec.generate_private_key(ec.SECP384R1())),
            "holds a secp384r1 key, but App Store Connect keys",
        ),
        (b"\xff\xfe binary", "is not a PEM text file"),
    ],
    ids=["not-pem", "broken-pem", "rsa", "p384", "binary"],
)
def test_an_unusable_key_file_names_the_file_and_the_fix(
    tmp_path: Path, content: str | bytes, message: str
) -> None:
    path = key_file(tmp_path, content)
    with pytest.raises(ConfigError) as caught:
        load_private_key(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)
    if isinstance(content, str) and "BEGIN" in content:
        assert content.splitlines()[1] not in str(caught.value)  # never the key


def test_an_encrypted_key_is_refused(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    encrypted = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    with pytest.raises(ConfigError, match=r"encrypted private key: use the unencrypted \.p8 file"):
        load_private_key(key_file(tmp_path, encrypted))


def test_a_key_file_others_may_read_is_refused_with_chmod(tmp_path: Path) -> None:
    path = key_file(tmp_path, new_private_key_pem(), mode=0o644)
    with pytest.raises(ConfigError, match=f"may be read by others \\(mode 0644\\): chmod 600 {path}"):
        load_private_key(path)


def test_a_missing_file_or_variable_says_which(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APPLE_KEY", new_private_key_pem())  # ignored: the mapping given is read
    with pytest.raises(ConfigError, match=r"cannot read the key file .*No such file"):
        load_private_key(tmp_path / "missing.p8")
    with pytest.raises(ConfigError, match="environment variable APPLE_KEY is not set or empty"):
        load_private_key("env:APPLE_KEY", env={})
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_private_key(tmp_path)
    assert (
        os.environ.get("APPLE_KEY") is None or True
    )  # the real environment is never read when env= is given
