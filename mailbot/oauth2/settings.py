"""`[imap.oauth2]` / `[smtp.oauth2]`: which identity provider issues the mailbox's access tokens.

Secrets never stand in the configuration file: a client secret, a refresh token or a passphrase comes
from an environment variable (named here, with a default per section), a key from a file that only
mailbot's user may read. Its own module, built on `settings_base`, so that `mailbot.config` can use it
without the token code importing the configuration.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from mailbot.settings_base import Section

Provider = Literal["microsoft", "google"]

MICROSOFT_AUTHORITY = "https://login.microsoftonline.com/{tenant}"
MICROSOFT_SCOPE = "https://outlook.office365.com/.default"  # IMAP.AccessAsApp and SMTP.SendAsApp
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPE = "https://mail.google.com/"  # the only scope Gmail accepts for IMAP and SMTP

_MICROSOFT_KEYS = {
    *("tenant", "client_id", "client_secret_env", "certificate_file", "certificate_passphrase_env"),
    "authority",
}
_GOOGLE_KEYS = {
    *("service_account_file", "subject", "authorized_user_file", "client_id", "client_secret_env"),
    *("refresh_token_env", "token_uri"),
}
_COMMON_KEYS = {"provider", "scope", "cafile", "timeout_seconds"}


class OAuth2Settings(Section):
    """One credential that gets access tokens for one mailbox (SASL XOAUTH2 for IMAP and SMTP)."""

    provider: Provider
    scope: str | None = None  # default: the provider's mail scope (MICROSOFT_SCOPE, GOOGLE_SCOPE)
    cafile: Path | None = None  # extra CA bundle for the token endpoint (a TLS-inspecting proxy, tests)
    timeout_seconds: float = Field(default=30.0, gt=0)
    # Microsoft 365 (Entra app registration, client credentials; msal)
    tenant: str | None = None  # the client's tenant: "contoso.onmicrosoft.com" or its id (a GUID)
    client_id: str | None = None  # Microsoft: the app's (client) id; Google: the OAuth client's id
    client_secret_env: str | None = None  # default MAILBOT_<SECTION>_CLIENT_SECRET
    certificate_file: Path | None = None  # PEM with private key and certificate (or .pfx): beats a secret
    certificate_passphrase_env: str | None = None  # only for an encrypted private key
    authority: str | None = None  # default https://login.microsoftonline.com/<tenant>
    # Google Workspace (google-auth): a service account with domain-wide delegation ...
    service_account_file: Path | None = None  # its JSON key
    subject: str | None = None  # the mailbox the service account acts as; default: the section's username
    # ... or a user's consent: a refresh token (file in the authorized-user format, or client id + env)
    authorized_user_file: Path | None = None
    refresh_token_env: str | None = None  # default MAILBOT_<SECTION>_REFRESH_TOKEN
    token_uri: str | None = None  # default https://oauth2.googleapis.com/token

    @model_validator(mode="after")
    def _keys_of_provider(self) -> OAuth2Settings:
        """Each provider has its own keys: a Google key under Microsoft is a mistake worth naming."""
        given = {name for name in type(self).model_fields if name in self.model_fields_set}
        own = _MICROSOFT_KEYS if self.provider == "microsoft" else _GOOGLE_KEYS
        foreign = sorted(given - own - _COMMON_KEYS)
        if foreign:
            raise ValueError(
                f"{', '.join(foreign)} {'is' if len(foreign) == 1 else 'are'} not a key of provider "
                f'"{self.provider}"; its keys are: {", ".join(sorted(own | _COMMON_KEYS))}'
            )
        if self.provider == "microsoft":
            self._check_microsoft()
        else:
            self._check_google()
        return self

    def _check_microsoft(self) -> None:
        missing = [key for key in ("tenant", "client_id") if getattr(self, key) is None]
        if missing:
            raise ValueError(
                f'provider "microsoft" needs {" and ".join(missing)}: the client\'s tenant '
                '(tenant = "contoso.onmicrosoft.com") and the Entra app\'s (client) id'
            )
        if self.certificate_file is not None and self.client_secret_env is not None:
            raise ValueError("give either certificate_file or client_secret_env, not both")
        if self.authority is not None and not self.authority.startswith("https://"):
            raise ValueError(f"authority must be an https:// URL (got {self.authority!r})")

    def _check_google(self) -> None:
        kinds = [
            key
            for key in ("service_account_file", "authorized_user_file", "client_id")
            if getattr(self, key) is not None
        ]
        if len(kinds) != 1:
            raise ValueError(
                'provider "google" needs exactly one credential: service_account_file (a service account '
                "with domain-wide delegation), authorized_user_file (a user's refresh token as JSON) or "
                f"client_id with client_secret_env and refresh_token_env{f'; got {kinds}' if kinds else ''}"
            )
        if self.subject is not None and self.service_account_file is None:
            raise ValueError("subject is only for service_account_file (the mailbox it acts as)")
        if self.client_id is None and (self.client_secret_env or self.refresh_token_env):
            raise ValueError("client_secret_env and refresh_token_env go with client_id")

    # -- where the secrets are ---------------------------------------------------------------------
    @property
    def kind(self) -> str:
        """What sort of credential this is, for messages."""
        if self.provider == "microsoft":
            return "certificate" if self.certificate_file is not None else "client secret"
        if self.service_account_file is not None:
            return "service account"
        return "refresh token"

    def client_secret_variable(self, section: str) -> str:
        return self.client_secret_env or f"MAILBOT_{section.upper()}_CLIENT_SECRET"

    def refresh_token_variable(self, section: str) -> str:
        return self.refresh_token_env or f"MAILBOT_{section.upper()}_REFRESH_TOKEN"

    def secret_variables(self, section: str) -> list[str]:
        """The environment variables this credential reads (each must be set)."""
        if self.provider == "microsoft":
            if self.certificate_file is None:
                return [self.client_secret_variable(section)]
            return [self.certificate_passphrase_env] if self.certificate_passphrase_env else []
        if self.client_id is not None:
            return [self.client_secret_variable(section), self.refresh_token_variable(section)]
        return []

    def key_files(self) -> dict[str, Path]:
        """key -> file that holds private key material (only mailbot's user may read it)."""
        named = {
            "certificate_file": self.certificate_file,
            "service_account_file": self.service_account_file,
            "authorized_user_file": self.authorized_user_file,
        }
        return {key: path for key, path in named.items() if path is not None}

    def resolved(self, base: Path) -> OAuth2Settings:
        """Relative file names mean relative to the configuration file."""
        updates = {
            key: path if path.is_absolute() else base / path
            for key, path in {**self.key_files(), "cafile": self.cafile}.items()
            if path is not None
        }
        return self.model_copy(update=updates)


def credential_problems(
    oauth: OAuth2Settings, section: str, env: Mapping[str, str] | None = None
) -> list[str]:
    """What keeps this credential from working, each with its fix (empty: nothing found).

    Checked at start: a key file anybody on the machine may read is a leaked key, so it is refused
    rather than used.
    """
    env = os.environ if env is None else env
    where = f"[{section}.oauth2]"
    problems = [
        f"{where}: the environment variable {variable} is not set: set it to the "
        f"{_what(variable, oauth, section)}"
        for variable in oauth.secret_variables(section)
        if not env.get(variable)
    ]
    for key, path in oauth.key_files().items():
        try:
            info = path.stat()
        except OSError as exc:
            problems.append(f"{where} {key}: cannot read {path} ({exc.strerror}); check the path")
            continue
        if not stat.S_ISREG(info.st_mode):
            problems.append(f"{where} {key}: {path} is not a regular file")
        elif info.st_mode & 0o077:
            problems.append(
                f"{where} {key}: {path} holds a private key and may be read by group or others "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); fix: chmod 600 {path}"
            )
    return problems


def _what(variable: str, oauth: OAuth2Settings, section: str) -> str:
    if variable == oauth.certificate_passphrase_env:
        return "passphrase of the certificate's private key"
    if oauth.provider == "google" and variable == oauth.refresh_token_variable(section):
        return "user's refresh token"
    return "OAuth client secret" if oauth.provider == "google" else "Entra app's client secret"


def secret_values(oauth: OAuth2Settings, section: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The secret values this credential reads, for the log filter."""
    env = os.environ if env is None else env
    return [env[variable] for variable in oauth.secret_variables(section) if env.get(variable)]
