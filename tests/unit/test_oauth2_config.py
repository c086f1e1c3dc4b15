"""`auth = "oauth2"`: each mistake names its key and fix, secrets only from the environment or a file
only mailbot may read, and never a password next to a token."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot.config import all_secrets, load_settings, secret
from mailbot.errors import ConfigError
from mailbot.oauth2 import OAuth2Settings

ROOT = Path(__file__).resolve().parents[2]

BASE = """
[support]
address = "support@example.com"
[team]
address = "team@example.com"
[imap]
host = "outlook.office365.com"
username = "support@example.com"
{imap}
[smtp]
host = "smtp.office365.com"
security = "starttls"
{smtp}
"""
MICROSOFT = """auth = "oauth2"
[imap.oauth2]
provider = "microsoft"
tenant = "contoso.onmicrosoft.com"
client_id = "6731de76-14a6-49ae-97bc-6eba6914391e"
"""
ENV = {"MAILBOT_IMAP_CLIENT_SECRET": "abc~secret-value"}


def load(tmp_path: Path, imap: str, smtp: str = "", env: dict[str, str] | None = None, **options):
    path = tmp_path / "mailbot.toml"
    path.write_text(BASE.format(imap=imap, smtp=smtp), encoding="utf-8")
    return load_settings(path, env=ENV if env is None else env, **options)


def error(tmp_path: Path, imap: str, smtp: str = "", env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, imap, smtp, env)
    return str(caught.value)


def test_microsoft_client_secret_from_the_environment(tmp_path):
    settings = load(tmp_path, MICROSOFT)
    assert settings.imap is not None and settings.imap.auth == "oauth2"
    assert settings.imap.oauth2 is not None and settings.imap.oauth2.tenant == "contoso.onmicrosoft.com"
    assert secret(settings.imap, "imap", {"MAILBOT_IMAP_PASSWORD": "never"}) is None  # no password, ever
    assert "abc~secret-value" in all_secrets(settings, ENV)  # scrubbed from the logs
    assert settings.smtp.auth == "password"  # each section chooses for itself


def test_oauth2_without_its_section_names_the_section(tmp_path):
    message = error(tmp_path, 'auth = "oauth2"')
    assert '[imap]: auth = "oauth2" needs an [imap.oauth2] section' in message


def test_a_password_next_to_oauth2_is_refused(tmp_path):
    message = error(tmp_path, 'password_env = "MAILBOT_IMAP_PASSWORD"\n' + MICROSOFT)
    assert "never uses a password: remove [imap] password_env" in message


def test_an_oauth2_section_without_auth_oauth2_is_refused(tmp_path):
    message = error(tmp_path, MICROSOFT.replace('auth = "oauth2"\n', ""))
    assert '[imap.oauth2] is set but [imap] auth = "password"' in message


def test_smtp_oauth2_needs_a_username(tmp_path):
    smtp = 'auth = "oauth2"\n' + MICROSOFT.split("\n", 1)[1].replace("[imap.oauth2]", "[smtp.oauth2]")
    env = {**ENV, "MAILBOT_SMTP_CLIENT_SECRET": "x" * 8}
    assert 'auth = "oauth2" needs [smtp] username' in error(tmp_path, MICROSOFT, smtp, env)
    settings = load(tmp_path, MICROSOFT, 'username = "support@example.com"\n' + smtp, env)
    assert settings.smtp.auth == "oauth2" and settings.smtp.oauth2 == settings.imap.oauth2  # type: ignore[union-attr]


def test_a_key_of_the_other_provider_is_named(tmp_path):
    message = error(tmp_path, MICROSOFT + 'subject = "support@example.com"\n')
    assert '[imap] oauth2: subject is not a key of provider "microsoft"' in message


def test_a_misspelt_key_gets_a_suggestion(tmp_path):
    assert "[imap] oauth2.tenat: unknown key; did you mean tenant?" in error(
        tmp_path, MICROSOFT + 'tenat = "x"\n'
    )


def test_the_client_secret_is_never_a_key_of_the_file(tmp_path):
    message = error(tmp_path, MICROSOFT + 'client_secret = "abc"\n')
    assert "[imap] oauth2.client_secret: unknown key; did you mean client_secret_env?" in message
    assert '"abc"' not in message  # a value under a secret's name is never echoed


def test_a_missing_secret_variable_is_named_at_start_but_not_for_read_only_commands(tmp_path):
    message = error(tmp_path, MICROSOFT, env={})
    assert "[imap.oauth2]: the environment variable MAILBOT_IMAP_CLIENT_SECRET is not set" in message
    assert str(tmp_path / "mailbot.toml") in message
    assert load(tmp_path, MICROSOFT, env={}, require_secrets=False).imap is not None


def test_google_needs_exactly_one_credential(tmp_path):
    imap = 'auth = "oauth2"\n[imap.oauth2]\nprovider = "google"\n'
    assert 'provider "google" needs exactly one credential' in error(tmp_path, imap)
    both = imap + 'service_account_file = "sa.json"\nauthorized_user_file = "user.json"\n'
    assert "got ['service_account_file', 'authorized_user_file']" in error(tmp_path, both)


def test_a_key_file_others_may_read_is_refused_with_the_fix(tmp_path):
    key = tmp_path / "service-account.json"
    key.write_text("{}", encoding="utf-8")
    key.chmod(0o644)
    imap = (
        'auth = "oauth2"\n[imap.oauth2]\nprovider = "google"\nservice_account_file = "service-account.json"\n'
    )
    message = error(tmp_path, imap)
    assert f"[imap.oauth2] service_account_file: {key} holds a private key" in message
    assert f"(mode 0644); fix: chmod 600 {key}" in message

    key.chmod(0o600)
    settings = load(tmp_path, imap)
    assert settings.imap is not None and settings.imap.oauth2 is not None
    assert settings.imap.oauth2.service_account_file == key  # relative to the configuration file


def test_a_missing_key_file_is_named(tmp_path):
    imap = MICROSOFT + 'certificate_file = "nowhere.pem"\n'
    assert f"[imap.oauth2] certificate_file: cannot read {tmp_path / 'nowhere.pem'}" in error(tmp_path, imap)


def test_refresh_token_credential_reads_two_variables(tmp_path):
    imap = (
        'auth = "oauth2"\n[imap.oauth2]\nprovider = "google"\nclient_id = "1234.apps.googleusercontent.com"\n'
    )
    message = error(tmp_path, imap, env={"MAILBOT_IMAP_CLIENT_SECRET": "x" * 8})
    assert "MAILBOT_IMAP_REFRESH_TOKEN is not set: set it to the user's refresh token" in message
    env = {"MAILBOT_IMAP_CLIENT_SECRET": "client-secret", "MAILBOT_IMAP_REFRESH_TOKEN": "1//refresh-token"}
    assert {"client-secret", "1//refresh-token"} <= set(all_secrets(load(tmp_path, imap, env=env), env))


def test_the_example_configuration_explains_every_oauth2_key():
    example = (ROOT / "mailbot.example.toml").read_text(encoding="utf-8")
    for name in OAuth2Settings.model_fields:
        assert re.search(rf"\b{name} = ", example), f"{name} is not explained in mailbot.example.toml"
    assert "# [imap.oauth2]" in example and "# auth = " in example
