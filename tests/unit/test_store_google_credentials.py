"""Reading a Google service-account key: from a file or a variable, errors that name the source and the fix,
never the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from mailbot.errors import ConfigError
from mailbot.stores.google_credentials import GOOGLE_TOKEN_URI, load_service_account


def pem(key) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@pytest.fixture(scope="module")
def rsa_pem() -> str:
    return pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


def key_info(private_key: str, **changes) -> dict:
    info = {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "abcdef0123456789",
        "private_key": private_key,
        "client_email": "reviews@p.iam.gserviceaccount.com",
        "token_uri": GOOGLE_TOKEN_URI,
    }
    info.update(changes)
    return {k: v for k, v in info.items() if v is not None}


def write(tmp_path: Path, info: dict | str) -> Path:
    path = tmp_path / "key.json"
    path.write_text(info if isinstance(info, str) else json.dumps(info))
    return path


def secret_lines(private_key: str) -> list[str]:
    return [line for line in private_key.splitlines() if "PRIVATE KEY" not in line]


def test_a_key_file_is_read_and_its_repr_holds_no_key(tmp_path, rsa_pem):
    credentials = load_service_account(write(tmp_path, key_info(rsa_pem)))
    assert credentials.client_email == "reviews@p.iam.gserviceaccount.com"
    assert (credentials.private_key_id, credentials.token_uri) == ("abcdef0123456789", GOOGLE_TOKEN_URI)
    assert credentials.private_key_pem == rsa_pem
    assert not any(line in repr(credentials) for line in secret_lines(rsa_pem))


def test_a_variable_holds_the_json_or_the_path(tmp_path, rsa_pem):
    path = write(tmp_path, key_info(rsa_pem))
    from_json = load_service_account("env:PLAY_KEY", env={"PLAY_KEY": path.read_text()})
    from_path = load_service_account("env:PLAY_KEY", env={"PLAY_KEY": str(path)})
    assert from_json.client_email == from_path.client_email == "reviews@p.iam.gserviceaccount.com"


def test_the_token_uri_can_be_replaced_but_must_be_https_or_loopback(tmp_path, rsa_pem):
    path = write(tmp_path, key_info(rsa_pem))
    assert load_service_account(path, token_uri="http://127.0.0.1:8080/token").token_uri.startswith(
        "http://127"
    )
    with pytest.raises(ConfigError, match="not an https URL"):
        load_service_account(path, token_uri="http://tokens.example.com/token")


@pytest.mark.parametrize(
    ("info", "says"),
    [
        ("not json at all", "is not JSON"),
        ("[1, 2]", "not a JSON object"),
        ({"type": "authorized_user", "client_id": "x", "refresh_token": "1//x"}, "not 'service_account'"),
        ("no_email", "lacks client_email"),
        ("not_pem", "not a PEM private key"),
        ("ec_key", "not an RSA key"),
    ],
)
def test_unusable_keys_name_the_file_and_the_fix_never_the_key(tmp_path, rsa_pem, info, says):
    if info == "no_email":
        info = key_info(rsa_pem, client_email=None)
    elif info == "not_pem":
        info = key_info(rsa_pem.replace("PRIVATE KEY", "SOMETHING"))
    elif info == "ec_key":
        info = key_info(pem(ec.generate_private_key(ec.SECP256R1())))
    path = write(tmp_path, info)
    with pytest.raises(ConfigError, match=says) as caught:
        load_service_account(path)
    message = str(caught.value)
    assert str(path) in message
    assert not any(line in message for line in secret_lines(rsa_pem))
    error = caught.value  # no chained exception (a parser's message) in a traceback either
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


def test_a_missing_file_or_variable_says_which(tmp_path):
    with pytest.raises(ConfigError, match="does not exist: check the path"):
        load_service_account(tmp_path / "missing.json")
    with pytest.raises(ConfigError, match="variable PLAY_KEY is not set"):
        load_service_account("env:PLAY_KEY", env={})
