"""Settings of the escalation backends: [jira] (Jira Service Management Cloud) and [webhook].

Same rules as mailbot.config: unknown keys are errors, sections are frozen, secrets are SecretStr
and may (better: should) come from an environment variable instead of the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from mailbot.domain import Severity
from mailbot.errors import ConfigError
from mailbot.settings_base import Address, Section

JIRA_TOKEN_ENV = "MAILBOT_JIRA_TOKEN"
WEBHOOK_SECRET_ENV = "MAILBOT_WEBHOOK_SECRET"
MIN_WEBHOOK_SECRET = 16
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_JSM_ID = re.compile(r"^[A-Za-z0-9]{1,40}$")
_DESK_ID = re.compile(r"^[0-9]{1,18}$")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{0,254}$")  # Jira's default key pattern: a letter, then A-Z 0-9 _
_EVENT = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")

DEFAULT_PRIORITIES: dict[str, str] = {
    Severity.CRITICAL.value: "Highest",
    Severity.MAJOR.value: "High",
    Severity.MINOR.value: "Medium",
    Severity.COSMETIC.value: "Low",
}


def _check_url(value: str, allow_query: bool = False) -> str:
    """https only, except plain http to this machine (test stand-ins); no credentials in the URL."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{value!r} is not a URL like https://example.atlassian.net")
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise ValueError("use https:// (plain http is only allowed for 127.0.0.1/localhost)")
    if parts.username or parts.password:
        raise ValueError("do not put credentials into the URL; use user and token / secret_env")
    if parts.fragment or (parts.query and not allow_query):
        raise ValueError("the URL must not have a ?query or #fragment")
    return value.strip()


def _env_secret(
    value: SecretStr | None, variable: str | None, default_variable: str, env: Mapping[str, str] | None
) -> str | None:
    env = os.environ if env is None else env
    name = variable or default_variable
    if env.get(name):
        return env[name]
    return value.get_secret_value() if value is not None else None


class JiraSettings(Section):
    """[jira]: where and as whom requests are raised; the token is an Atlassian API token."""

    base_url: str  # https://<site>.atlassian.net
    user: Address  # the Atlassian account (e-mail) the API token belongs to
    token: SecretStr | None = None
    token_env: str | None = None  # environment variable with the token; default MAILBOT_JIRA_TOKEN
    service_desk_id: str  # the desk's number, or its project key (resolved through the API at first use)
    request_type_id: str
    # severity -> Jira priority name; a severity missing here (and "no severity") sends no priority
    priorities: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_PRIORITIES))
    add_customers_to_desk: bool = True  # needed for desks whose customers are restricted (not "open")
    # a customer without a usable Jira account: raise the request as the [jira] user, or fail the job
    unknown_customers: Literal["raise_as_bot", "fail"] = "raise_as_bot"
    # the customer's follow-up mails on the request: as public or internal comments, or not at all
    customer_replies: Literal["public", "internal", "off"] = "public"
    attachment_max_mb: float = Field(default=10.0, gt=0, le=1024)  # larger attachments stay in mailbot
    poll_minutes: int = Field(default=5, ge=1, le=1440)
    timeout_seconds: float = Field(default=20.0, gt=0, le=300)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value).rstrip("/")

    @field_validator("service_desk_id", mode="before")
    @classmethod
    def _desk(cls, value: Any) -> Any:
        """A number, or a project key (upper-cased): GET /servicedesk resolves a key to the number."""
        value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(value, str):
            value = value.strip()
            if not (_DESK_ID.match(value) or _PROJECT_KEY.match(value.upper())):
                raise ValueError(
                    f"{value!r} is neither a service desk id like '7' nor a project key like 'HELP'"
                    " (GET /rest/servicedeskapi/servicedesk lists both)"
                )
            return value if value.isdigit() else value.upper()
        return value

    @field_validator("request_type_id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        value = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
        if isinstance(value, str) and not _JSM_ID.match(value):
            raise ValueError(f"{value!r} is not a Jira id like '25' (see the URL of the request type's form)")
        return value

    @property
    def desk_is_key(self) -> bool:
        """True when service_desk_id is a project key that must be resolved to the desk's number."""
        return not self.service_desk_id.isdigit()

    @property
    def attachment_max_bytes(self) -> int:
        return int(self.attachment_max_mb * 1024 * 1024)

    @field_validator("priorities")
    @classmethod
    def _severities(cls, value: dict[str, str]) -> dict[str, str]:
        known = {s.value for s in Severity}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(f"unknown severities {unknown}; use {sorted(known)}")
        if any(not name.strip() for name in value.values()):
            raise ValueError("a priority name must not be empty")
        return value

    def priority_for(self, severity: Severity | None) -> str | None:
        """The Jira priority name for a severity, or None: then the request carries no priority."""
        return None if severity is None else self.priorities.get(severity.value)

    def resolve_token(self, env: Mapping[str, str] | None = None) -> SecretStr:
        """The API token: the environment variable wins over the file; ConfigError names the fix."""
        token = _env_secret(self.token, self.token_env, JIRA_TOKEN_ENV, env)
        if not token:
            raise ConfigError(
                f"[jira] has no API token: set the environment variable {self.token_env or JIRA_TOKEN_ENV}"
                " (preferred) or [jira] token"
            )
        return SecretStr(token)


class WebhookSettings(Section):
    """[webhook]: a receiver that gets signed JSON events (see mailbot.escalate.webhook)."""

    url: str
    secret: SecretStr | None = None
    secret_env: str | None = None  # environment variable with the secret; default MAILBOT_WEBHOOK_SECRET
    events: list[str] = Field(default_factory=lambda: ["ticket.escalated", "ticket.solved"])
    timeout_seconds: float = Field(default=10.0, gt=0, le=120)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _check_url(value, allow_query=True)  # some receivers route by a query parameter

    @field_validator("events")
    @classmethod
    def _events(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _EVENT.match(name):
                raise ValueError(f"{name!r} is not an event name like 'ticket.escalated'")
        return value

    def resolve_secret(self, env: Mapping[str, str] | None = None) -> SecretStr:
        """The signing secret (environment first); too short a secret is refused, not just warned about."""
        variable = self.secret_env or WEBHOOK_SECRET_ENV
        secret = _env_secret(self.secret, self.secret_env, WEBHOOK_SECRET_ENV, env)
        if not secret:
            raise ConfigError(
                f"[webhook] has no signing secret: set the environment variable {variable} (preferred)"
                " or [webhook] secret"
            )
        if len(secret) < MIN_WEBHOOK_SECRET:
            raise ConfigError(
                f"[webhook] secret is shorter than {MIN_WEBHOOK_SECRET} characters; use a random one,"
                ' e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return SecretStr(secret)
