"""Token providers against the loopback identity provider: msal and google-auth speak their real
protocols to it (authority discovery, client credentials, JWT bearer, refresh token)."""

from __future__ import annotations

import logging
import subprocess
import uuid
from pathlib import Path

import pytest

from mailbot import logredact
from mailbot.oauth2 import OAuth2Settings, TokenError
from mailbot.oauth2.google import GoogleProvider
from mailbot.oauth2.microsoft import MicrosoftProvider
from tests.servers import IdentityStandIn

pytestmark = pytest.mark.servers


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def microsoft_app(identity: IdentityStandIn, mailbox: str, **app: float) -> tuple[OAuth2Settings, dict]:
    tenant, client_id, secret = f"t-{uuid.uuid4().hex[:8]}", str(uuid.uuid4()), "s3cret~" + uuid.uuid4().hex
    identity.add_microsoft_app(tenant, client_id, secret, mailbox, **app)
    oauth = OAuth2Settings(
        provider="microsoft",
        tenant=tenant,
        client_id=client_id,
        authority=identity.authority(tenant),
        cafile=identity.cafile,
    )
    return oauth, {"MAILBOT_IMAP_CLIENT_SECRET": secret}


def test_microsoft_token_is_cached_and_renewed_five_minutes_before_expiry(identity):
    oauth, env = microsoft_app(identity, "box@example.test")
    clock = Clock()
    provider = MicrosoftProvider(oauth, "imap", env, clock=clock)

    first = provider.access_token()
    answer = identity.introspect(first)
    assert (answer["active"], answer["username"]) == (True, "box@example.test")
    clock.now += 3600 - 301  # still more than 5 minutes left: the cached token
    assert provider.access_token() == first
    assert identity.fetches(oauth.client_id) == 1

    clock.now += 2  # less than 5 minutes left: renewed before it is used
    second = provider.access_token()
    assert second != first
    assert identity.fetches(oauth.client_id) == 2
    assert identity.introspect(second)["active"] is True


def test_a_short_lived_token_is_renewed_at_half_its_lifetime(identity):
    oauth, env = microsoft_app(identity, "box@example.test", lifetime=60)
    clock = Clock()
    provider = MicrosoftProvider(oauth, "imap", env, clock=clock)
    first = provider.access_token()
    clock.now += 29
    assert provider.access_token() == first
    clock.now += 2
    assert provider.access_token() != first


def test_refresh_after_a_refusal_fetches_a_new_token_even_from_msal(identity):
    oauth, env = microsoft_app(identity, "box@example.test")
    provider = MicrosoftProvider(oauth, "imap", env)
    first = provider.access_token()
    fresh = provider.refresh(refused=first)
    assert fresh != first
    assert identity.fetches(oauth.client_id) == 2


def test_a_wrong_client_secret_is_a_token_error_naming_the_app_not_the_secret(identity):
    oauth, env = microsoft_app(identity, "box@example.test")
    provider = MicrosoftProvider(oauth, "imap", {"MAILBOT_IMAP_CLIENT_SECRET": "wrong-secret"})
    with pytest.raises(TokenError) as caught:
        provider.access_token()
    message = str(caught.value)
    assert "invalid_client" in message and "AADSTS7000215" in message
    assert oauth.client_id in message and oauth.tenant in message
    assert "wrong-secret" not in message and env["MAILBOT_IMAP_CLIENT_SECRET"] not in message


def test_an_unknown_authority_is_a_token_error(identity):
    oauth, env = microsoft_app(identity, "box@example.test")
    oauth = oauth.model_copy(update={"authority": identity.authority("no-such-tenant")})
    with pytest.raises(TokenError, match="no-such-tenant"):
        MicrosoftProvider(oauth, "imap", env).access_token()


def google_service_account(identity, tmp_path: Path, subjects: set[str]) -> OAuth2Settings:
    email = f"mailbot-{uuid.uuid4().hex[:8]}@project.iam.gserviceaccount.com"
    key = identity.add_service_account(tmp_path, email, subjects)
    return OAuth2Settings(
        provider="google",
        service_account_file=key,
        token_uri=identity.google_token_uri,
        cafile=identity.cafile,
    )


def test_google_service_account_acts_as_the_mailbox(identity, tmp_path):
    oauth = google_service_account(identity, tmp_path, {"box@example.test"})
    provider = GoogleProvider(oauth, "imap", "box@example.test")
    token = provider.access_token()
    assert identity.introspect(token)["username"] == "box@example.test"
    assert provider.access_token() == token  # cached


def test_google_service_account_without_delegation_for_the_mailbox_is_refused(identity, tmp_path):
    oauth = google_service_account(identity, tmp_path, {"other@example.test"})
    with pytest.raises(TokenError) as caught:
        GoogleProvider(oauth, "imap", "box@example.test").access_token()
    assert "unauthorized_client" in str(caught.value)
    assert "Domain-wide delegation" in str(caught.value)


def test_google_refresh_token_from_the_environment(identity):
    client_id = f"{uuid.uuid4().hex}.apps.googleusercontent.com"
    refresh = identity.add_refresh_token(client_id, "client-secret-1", "box@example.test")
    oauth = OAuth2Settings(
        provider="google", client_id=client_id, token_uri=identity.google_token_uri, cafile=identity.cafile
    )
    env = {"MAILBOT_SMTP_CLIENT_SECRET": "client-secret-1", "MAILBOT_SMTP_REFRESH_TOKEN": refresh}
    token = GoogleProvider(oauth, "smtp", "box@example.test", env).access_token()
    assert identity.introspect(token)["username"] == "box@example.test"

    env["MAILBOT_SMTP_REFRESH_TOKEN"] = "1//revoked"
    with pytest.raises(TokenError, match="invalid_grant"):
        GoogleProvider(oauth, "smtp", "box@example.test", env).access_token()


def test_tokens_never_reach_a_log_line(identity, caplog):
    oauth, env = microsoft_app(identity, "box@example.test")
    handler = logging.StreamHandler()
    logging.getLogger().addHandler(handler)
    try:
        redacting = logredact.install([], addresses=False)
        token = MicrosoftProvider(oauth, "imap", env).access_token()
        assert redacting.scrub(f"Authorization: Bearer {token}") == "Authorization: Bearer [secret]"
        later = logredact.install([], addresses=False)  # installed after the token arrived
        assert token not in later.scrub(f"token {token}")
    finally:
        logging.getLogger().removeHandler(handler)


def rsa_certificate(directory: Path, name: str) -> tuple[Path, str]:
    """An app certificate as Entra takes it: RSA key and certificate in one PEM file (mode 600)."""
    key, cert = directory / f"{name}.key", directory / f"{name}.crt"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30", "-subj", f"/CN={name}",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    pem = directory / f"{name}.pem"
    pem.write_text(key.read_text() + cert.read_text(), encoding="ascii")
    pem.chmod(0o600)
    return pem, cert.read_text()


def test_microsoft_certificate_credential_signs_a_client_assertion(identity, tmp_path):
    pem, registered = rsa_certificate(tmp_path, "mailbot-app")
    tenant, client_id = f"t-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    identity.add_microsoft_app(tenant, client_id, "", "box@example.test", certificate=registered)
    oauth = OAuth2Settings(
        provider="microsoft",
        tenant=tenant,
        client_id=client_id,
        certificate_file=pem,
        authority=identity.authority(tenant),
        cafile=identity.cafile,
    )
    token = MicrosoftProvider(oauth, "imap", {}).access_token()
    assert identity.introspect(token)["username"] == "box@example.test"

    other, _ = rsa_certificate(tmp_path, "not-registered")
    with pytest.raises(TokenError, match="AADSTS700027"):
        MicrosoftProvider(oauth.model_copy(update={"certificate_file": other}), "imap", {}).access_token()
