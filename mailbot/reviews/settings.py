"""`[reviews]` of a client: which store apps mailbot answers for, and how freely.

Secrets are never in the file: an Apple `.p8` key and a Google service-account key are named by path or
by an environment variable. Approval is the default; `auto` lists the reply kinds that may be posted
without a person, at most `auto_daily_cap` per app and day.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from mailbot.domain import Language
from mailbot.settings_base import Section

ReplyKind = Literal["thank", "answer", "passed_on", "fixed"]
APPLE_API = "https://api.appstoreconnect.apple.com"
GOOGLE_API = "https://androidpublisher.googleapis.com"
_PACKAGE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")


def _https_or_loopback(url: str) -> str:
    """A store API is reached over HTTPS, and a reply links to HTTPS pages; plain HTTP only on loopback
    (the tests' stand-ins)."""
    if url.startswith("https://") or re.match(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)", url):
        return url.rstrip("/")
    raise ValueError(f"{url!r}: a store API URL must start with https:// (http:// only for 127.0.0.1)")


ApiUrl = Annotated[str, AfterValidator(_https_or_loopback)]


class _KeySource(Section):
    @model_validator(mode="after")
    def _one_key_source(self) -> _KeySource:
        path, env = self._key_fields()
        if (getattr(self, path) is None) == (getattr(self, env) is None):
            raise ValueError(f"set exactly one of {path} (a file) and {env} (an environment variable)")
        return self

    def _key_fields(self) -> tuple[str, str]:
        raise NotImplementedError


class AppleApp(_KeySource):
    """An app in App Store Connect, read and answered with an API key of role Customer Support."""

    store: Literal["apple"]
    app_id: str = Field(pattern=r"^[0-9]{1,20}$")  # the numeric Apple ID, not the bundle id
    name: str = Field(min_length=1, max_length=80)  # as the replies name it
    key_id: str = Field(pattern=r"^[A-Z0-9]{6,20}$")
    issuer_id: str | None = None  # a team key's issuer; None for an individual key (sub = "user")
    private_key_path: Path | None = None  # the .p8 file
    private_key_env: str | None = None  # or an environment variable holding the PEM text
    api_url: ApiUrl = APPLE_API

    def _key_fields(self) -> tuple[str, str]:
        return "private_key_path", "private_key_env"

    @property
    def app(self) -> str:
        return self.app_id


class GoogleApp(_KeySource):
    """An app in Google Play, read and answered with a service account granted "Reply to reviews"."""

    store: Literal["google"]
    package: str = Field(max_length=150)
    name: str = Field(min_length=1, max_length=80)
    service_account_path: Path | None = None  # the key JSON
    service_account_env: str | None = None  # or an environment variable holding the JSON
    api_url: ApiUrl = GOOGLE_API

    def _key_fields(self) -> tuple[str, str]:
        return "service_account_path", "service_account_env"

    @model_validator(mode="after")
    def _package_name(self) -> GoogleApp:
        if not _PACKAGE.match(self.package):
            raise ValueError(f"package {self.package!r} is not an Android package name like de.example.app")
        return self

    @property
    def app(self) -> str:
        return self.package


StoreApp = Annotated[AppleApp | GoogleApp, Field(discriminator="store")]


class ReviewSettings(Section):
    apps: list[StoreApp] = Field(default_factory=list)
    auto: list[ReplyKind] = Field(default_factory=list)  # kinds posted without a person; default: none
    auto_daily_cap: int = Field(default=20, ge=0, le=1000)  # automatic posts per app and day
    support_link: ApiUrl | None = None  # the one link a reply may offer (the client's help page)
    allowed_links: list[ApiUrl] = Field(default_factory=list)  # further links a person's reply may contain
    sign_off: dict[Language, str] = Field(default_factory=dict)  # e.g. {de = "Ihr Aktivo-Team"}
    poll_minutes: int = Field(default=30, ge=5, le=1440)  # Google keeps 7 days: at least daily
    failing_days_warning: float = Field(default=3, gt=0, le=6)  # team warned after polling failed this long
    timeout_seconds: float = Field(default=30.0, gt=0, le=300)

    @property
    def links(self) -> tuple[str, ...]:
        """Every link a reply may contain."""
        return tuple(self.allowed_links) + ((self.support_link,) if self.support_link else ())

    digest_hour: int | None = Field(default=8, ge=0, le=23)  # the daily mail of drafts; None: none

    @model_validator(mode="after")
    def _apps_unique(self) -> ReviewSettings:
        seen: set[tuple[str, str]] = set()
        for app in self.apps:
            if (app.store, app.app) in seen:
                raise ValueError(f"the {app.store} app {app.app} is listed twice under [[reviews.apps]]")
            seen.add((app.store, app.app))
        return self
