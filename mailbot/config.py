"""Typed settings from a TOML file plus environment variables.

Errors name the file, the key and what is wrong, so that whoever edits the file can fix it without
reading code. Secrets are `SecretStr`: they never show up in a repr, a log line or an error message.
"""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import time, timedelta
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE
from mailbot.domain import Language, Severity
from mailbot.errors import ConfigError
from mailbot.escalate.settings import JIRA_TOKEN_ENV, WEBHOOK_SECRET_ENV, JiraSettings, WebhookSettings
from mailbot.oauth2 import OAuth2Settings, credential_problems, secret_values
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.reply.branding import DEFAULT_ACCENT, accent_colour, brand_lines
from mailbot.reviews.settings import ReviewSettings
from mailbot.settings_base import Address, Section
from mailbot.toml_lines import line_of

# where a key of the validated mapping was written: the file and its line (None: not written there)
Origin = Callable[[Sequence[str]], tuple[Path, int | None]]

CONFIG_ENV = "MAILBOT_CONFIG"
DATABASE_URL_ENV = "MAILBOT_DATABASE_URL"
MESSAGE_ID_SECRET_ENV = "MAILBOT_MESSAGE_ID_SECRET"
_HOURS_RANGE = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Security = Literal["tls", "starttls", "none"]
Auth = Literal["password", "oauth2"]


def _on_this_machine(host: str) -> bool:
    """Loopback: an IP address of 127.0.0.0/8 or ::1, or localhost (RFC 6761: names under .localhost
    are loopback too)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name == "localhost" or name.endswith(".localhost")


class _ServerSection(Section):
    """What IMAP and SMTP share: where the server is, how to secure and log in.

    `auth = "oauth2"` logs in with SASL XOAUTH2 and a token from `[<section>.oauth2]` (mailbot.oauth2),
    never with a password: a password key there is refused, so nothing can fall back to one.
    """

    host: str
    port: int | None = Field(default=None, ge=1, le=65535)
    security: Security = "tls"
    tls_verify: bool = True  # turning it off is logged loudly at start-up
    cafile: Path | None = None  # extra CA bundle, e.g. a company CA or a test server's certificate
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None  # name of an environment variable that holds the password
    timeout_seconds: float = Field(default=30.0, gt=0)
    auth: Auth = "password"
    oauth2: OAuth2Settings | None = None  # [imap.oauth2] / [smtp.oauth2], with auth = "oauth2"

    def _check_plaintext(self, name: str) -> None:
        """A login over an unencrypted connection sends the password (or the OAuth token) in clear text
        to every network between here and the server: only a server on this machine may get one."""
        if self.security != "none" or not self.username or _on_this_machine(self.host):
            return
        secure = {
            "imap": 'port 993 with "tls" or 143 with "starttls"',
            "smtp": 'port 465 with "tls" or 587 with "starttls"',
        }
        raise ValueError(
            f'security = "none" would send the login of {self.username!r} unencrypted to {self.host!r}: '
            f'use security = "tls" or "starttls" ({secure[name]}); "none" is only for a server on '
            "this machine (127.0.0.1, ::1, localhost)"
        )

    def _check_auth(self, name: str) -> None:
        self._check_plaintext(name)
        if self.auth == "password":
            if self.oauth2 is not None:
                raise ValueError(
                    f'[{name}.oauth2] is set but [{name}] auth = "password": set auth = "oauth2" to log in '
                    f"with its tokens, or remove [{name}.oauth2]"
                )
            return
        if self.oauth2 is None:
            raise ValueError(
                f'auth = "oauth2" needs an [{name}.oauth2] section with provider = "microsoft" or "google" '
                "and the provider's keys (see mailbot.example.toml)"
            )
        if not self.username:
            raise ValueError(f'auth = "oauth2" needs [{name}] username: the mailbox the token is used for')
        given = sorted(key for key in ("password", "password_env") if key in self.model_fields_set)
        if given:
            raise ValueError(
                f'auth = "oauth2" never uses a password: remove [{name}] {" and ".join(given)} '
                "(mail must not go out or in with a password the provider is turning off)"
            )


class ImapSettings(_ServerSection):
    folder: str = "INBOX"
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    idle: bool = True  # use IDLE when the server offers it; otherwise poll
    poll_seconds: float = Field(default=60.0, gt=0)
    batch_size: int = Field(default=200, ge=1)

    @field_validator("folder", "processed_folder", "quarantine_folder")
    @classmethod
    def _distinct_folders(cls, value: str, info: ValidationInfo) -> str:
        """Decided mail moved into the folder it is read from comes back as new mail, again and again."""
        if not value.strip():
            raise ValueError("must name a folder")
        earlier = {"processed_folder": ["folder"], "quarantine_folder": ["folder", "processed_folder"]}
        for key in earlier.get(str(info.field_name), []):
            other = info.data.get(key)  # absent when it was invalid itself
            if other is not None and imap_folder_key(other) == imap_folder_key(value):
                raise ValueError(_same_folder("imap", key, str(info.field_name)))
        return value

    @model_validator(mode="after")
    def _auth(self) -> ImapSettings:
        self._check_auth("imap")
        return self


def imap_folder_key(name: str) -> str:
    """How IMAP compares folder names: exactly, except INBOX, which is case-insensitive (RFC 3501 5.1)."""
    return "INBOX" if name.upper() == "INBOX" else name


_FOLDER_ROLES = {
    "folder": "where new mail is read",
    "processed_folder": "where decided mail goes",
    "quarantine_folder": "where mail that could not be handled goes",
}
_FOLDER_EXAMPLES = {"processed_folder": "Processed", "quarantine_folder": "Quarantine"}


def _same_folder(section: str, other: str, key: str) -> str:
    harm = (
        "mail moved there would come back as new mail, again and again"
        if other == "folder"
        else "decided and quarantined mail would be mixed up"
    )
    return (
        f"is the same folder as [{section}] {other} ({_FOLDER_ROLES[other]}): {harm}; "
        f"name another folder, e.g. {_FOLDER_EXAMPLES[key]!r}"
    )


class MaildirSettings(Section):
    """A local Maildir that an MTA delivers into; processed mail moves to Maildir++ sub-folders."""

    path: Path
    processed_folder: str = "Processed"
    quarantine_folder: str = "Quarantine"
    poll_seconds: float = Field(default=10.0, gt=0)

    @field_validator("processed_folder", "quarantine_folder")
    @classmethod
    def _sub_folder(cls, value: str, info: ValidationInfo) -> str:
        """A Maildir++ sub-folder `.<name>` of `path`, never the Maildir itself: that is the inbox."""
        key = str(info.field_name)
        if not value.strip() or value.upper() == "INBOX":
            raise ValueError(
                "names the Maildir itself, where new mail is read: mail moved there would come back as new "
                f"mail, again and again; name a sub-folder, e.g. {_FOLDER_EXAMPLES[key]!r}"
            )
        if "/" in value or value.startswith("."):
            example = _FOLDER_EXAMPLES[key]
            raise ValueError(
                f"must be a Maildir++ folder name without '/' or a leading '.', e.g. {example!r} "
                f"(mail then moves to the sub-folder .{example} of the Maildir)"
            )
        if key == "quarantine_folder" and value == info.data.get("processed_folder"):
            raise ValueError(_same_folder("maildir", "processed_folder", key))
        return value


class SmtpSettings(_ServerSection):
    # connections used at once to deliver the outbox (mailbot.reply.smtp_pool); 1 sends one mail after
    # the other over one connection. Ask the provider's limit before raising it (many allow ~10)
    connections: int = Field(default=3, ge=1, le=20)

    @model_validator(mode="after")
    def _auth(self) -> SmtpSettings:
        self._check_auth("smtp")
        return self


class SupportSettings(Section):
    address: Address
    name: str = "Support"
    ticket_prefix: str = Field(default="MB", pattern=r"^[A-Z][A-Z0-9]{0,9}$")
    # "random": eight random digits (MB-48213377), so a reference tells a stranger nothing about how
    # many tickets there are; "sequential": the ticket's number (MB-000123), which does
    ticket_numbers: Literal["random", "sequential"] = "random"
    mailbox: str = Field(default="default", pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    default_language: Language = Language.DE
    message_id_domain: str | None = None  # defaults to the domain of `address`
    # contact forms that send as themselves with the person in Reply-To: only their Reply-To (or one of
    # From's own domain) is honoured, and that person becomes the ticket's customer (rules.reply_target)
    form_senders: list[Address] = Field(default_factory=list)
    # the authserv-id of the Authentication-Results header (RFC 8601) our receiving server adds; only
    # headers with it are believed (rules.sender_auth). None: From is taken as written
    authserv_id: str | None = Field(default=None, pattern=r"^[^\s;()\"]{1,255}$")


class TeamSettings(Section):
    address: Address
    language: Language = Language.DE
    # the people who may answer a customer by replying to a team notice (mailbot.tickets.agent_mail);
    # empty: notices are answered by mail to the team, as before, and never reach a customer
    members: list[Address] = Field(default_factory=list)

    @model_validator(mode="after")
    def _members_are_people(self) -> TeamSettings:
        if self.address in self.members:
            raise ValueError(
                f"members: {self.address} is the team's own address, whose mail is never read as a "
                "request or an answer; list the people's own addresses"
            )
        return self


class DatabaseSettings(Section):
    url: str = "sqlite:///mailbot.db"


class PathSettings(Section):
    path: Path


class TemplateSettings(Section):
    """Where the mail templates are; unset: the set shipped with mailbot (see mailbot.paths).

    `overrides` holds only the files that differ (a client's `clients/<slug>/templates`): each file
    there wins over the file of the same name in `path` or the shipped set, the rest come from those.
    """

    path: Path | None = None
    overrides: Path | None = None

    @property
    def directory(self) -> Path:
        """The complete base set: `path`, else the shipped templates."""
        return self.path if self.path is not None else SHIPPED_TEMPLATES

    @property
    def directories(self) -> list[Path]:
        """The search path of the renderer, first match wins: overrides, then the base set."""
        return [self.overrides, self.directory] if self.overrides is not None else [self.directory]


class BrandingSettings(Section):
    """What an agency varies per client app without copying a template; unset keys give today's mails.

    Values are checked by `mailbot.reply.branding` (a colour that could carry CSS or HTML is refused)
    and escaped in HTML like everything else.
    """

    name: str | None = Field(default=None, min_length=1, max_length=80)  # header of HTML mails
    accent_color: str = DEFAULT_ACCENT  # "#rrggbb": header bar, quoted articles
    # the closing block under "Mit freundlichen Grüßen" per language; unset: [support] name
    signature: dict[Language, list[str]] = Field(default_factory=dict)
    # legal lines under the footer of customer mails (Impressum), per language; unset: none
    footer: dict[Language, list[str]] = Field(default_factory=dict)

    @field_validator("accent_color")
    @classmethod
    def _colour(cls, value: str) -> str:
        return accent_colour(value)

    @field_validator("name")
    @classmethod
    def _one_line(cls, value: str | None) -> str | None:
        return None if value is None else brand_lines(value, "name")[0]

    @field_validator("signature", "footer", mode="before")
    @classmethod
    def _lines(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, dict):
            return value
        return {
            lang: brand_lines(lines, f"{info.field_name}.{lang}") if isinstance(lines, str | list) else lines
            for lang, lines in value.items()
        }


class ClassifierSettings(Section):
    # the operating threshold is chosen at training time so that answers reach this precision on
    # held-out examples of the knowledge base (cross-validation); `threshold` overrides it
    target_precision: float = Field(default=0.97, gt=0, le=1)
    # ... measured as if at least this share of the mail were about topics no article answers (the
    # examples in knowledge_base/_out_of_scope.md stand for them): a mailbox gets far more such mail
    # than a KB has examples of it
    out_of_scope_share: float = Field(default=DEFAULT_OUT_OF_SCOPE_SHARE, ge=0, lt=1)
    threshold: float | None = Field(default=None, gt=0, le=1)
    model_dir: Path = Path("model")  # the trained model (skops) and its model card (JSON)


class LimitSettings(Section):
    replies_per_sender_per_day: int = Field(default=3, ge=1)
    max_attempts: int = Field(default=3, ge=1)  # processing attempts before a mail is quarantined
    # larger mail is quarantined at ingest with only its header kept (never loaded whole)
    max_message_bytes: int = Field(default=25_000_000, ge=10_000)
    lease_seconds: int = Field(default=300, ge=10)  # how long a claimed item is reserved for one worker
    status_reply_hours: float = Field(default=4, ge=0)  # at most one automatic status answer per ticket
    # a flood from one sender still opens tickets, but the team's mailbox gets at most this many notices
    team_notices_per_sender_per_hour: int = Field(default=10, ge=1)


FolderPolicy = Literal["delete", "keep", "leave"]
# screenshots, screen recordings, PDFs, logs: what support needs; no archives, executables, HTML or
# office files with macros reach the team's mail client or Jira
FORWARD_TYPES = (
    "image/*", "video/mp4", "video/quicktime", "application/pdf", "text/plain", "text/csv",
    "application/json",
)  # fmt: skip
JiraErasure = Literal["list", "delete"]


class PrivacySettings(Section):
    """How long personal data stays (docs/privacy.md); the client's data processing agreement decides."""

    # log "k***@example.org" instead of customers' addresses (issue 15: no full address in logs by default)
    redact_addresses: bool = True
    # days after a ticket is solved (or an answered mail without ticket was decided) until its mails,
    # texts and addresses are anonymised (mailbot.privacy.retention)
    retention_days: int = Field(default=180, ge=1, le=36500)
    # days after receipt until ignored and quarantined mail (no ticket) is anonymised
    unhandled_retention_days: int = Field(default=30, ge=1, le=36500)
    # days after a ticket is solved until the attachments of its mails are removed from the stored copies
    attachment_days: int = Field(default=14, ge=0, le=36500)
    # the IMAP folders Processed/Quarantine: "delete" their copies on the same schedule and on erasure,
    # "leave" them to the mail server's own expiry (erasure still deletes), "keep" them (the client
    # archives mail under a legal duty; erasure lists them)
    folders: FolderPolicy = "delete"
    # what is forwarded to the team (the original mail in a notice) and to Jira
    forward_attachment_max_mb: float = Field(default=10.0, gt=0, le=1024)
    forward_attachment_types: list[str] = Field(default_factory=lambda: list(FORWARD_TYPES))
    # Jira requests of an erased person: "list" them with the steps, or "delete" them through the API
    # (needs Jira's "Delete issues" permission for the bot account)
    jira_erasure: JiraErasure = "list"


class IncidentSettings(Section):
    """Several customers reporting the same fault: their tickets become children of one parent."""

    window_minutes: int = Field(default=240, ge=0)  # 0 turns grouping off
    min_similarity: float = Field(default=0.5, gt=0, le=1)  # cosine of character n-grams


class HolidaySettings(Section):
    """Public holidays of one country, optionally one subdivision (a German state, a US state, ...).

    Validated against the `holidays` package here, so a typo fails at start-up and not when the first
    SLA is computed; codes are normalised to the spelling the package expects.
    """

    country: str  # ISO 3166-1 code, e.g. "DE"
    subdivision: str | None = None  # e.g. "BY" (Bayern); None: nationwide holidays only

    @field_validator("country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        code = value.strip().upper()
        if code not in holidays.list_supported_countries(include_aliases=True):
            accepted = ", ".join(sorted(holidays.list_supported_countries(include_aliases=False)))
            raise ValueError(f"unknown holiday country {value!r}; use an ISO 3166-1 code, one of: {accepted}")
        return str(holidays.country_holidays(code).country)  # an alias like 'DEU' becomes 'DE'

    @field_validator("subdivision")
    @classmethod
    def _known_subdivision(cls, value: str | None, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:  # a bad country has been reported already
            return value
        entity = holidays.country_holidays(country)
        aliases: dict[str, str] = getattr(entity, "subdivisions_aliases", {})
        known = {code.casefold(): code for code in entity.subdivisions}
        known.update({name.casefold(): code for name, code in aliases.items()})  # 'Bayern' becomes 'BY'
        if value.strip().casefold() in known:
            return known[value.strip().casefold()]
        names = {code: name for name, code in reversed(aliases.items())}  # first alias of each code
        accepted = ", ".join(
            f"{code} ({names[code]})" if code in names else code for code in entity.subdivisions
        )
        if not accepted:
            raise ValueError(f"{country} has no subdivisions in the holidays calendar; leave subdivision out")
        raise ValueError(
            f"unknown subdivision {value!r} of {country}; use one of: {accepted} "
            "(or leave subdivision out for nationwide holidays only)"
        )


class BusinessHoursSettings(Section):
    timezone: str = "Europe/Berlin"
    always_open: bool = False
    monday: list[str] = Field(default_factory=list)
    tuesday: list[str] = Field(default_factory=list)
    wednesday: list[str] = Field(default_factory=list)
    thursday: list[str] = Field(default_factory=list)
    friday: list[str] = Field(default_factory=list)
    saturday: list[str] = Field(default_factory=list)
    sunday: list[str] = Field(default_factory=list)
    closed: list[str] = Field(default_factory=list)  # company closures, ISO dates
    holidays: HolidaySettings | None = None  # public holidays are closed like company closures
    # mail that arrives while closed: "wait" holds it until the next opening, "acknowledge" answers at once
    outside_hours: Literal["wait", "acknowledge"] = "wait"
    # true: confident knowledge-base answers go out while closed too; escalations still wait (see
    # mailbot.pipeline.deferral for what may be decided outside business hours)
    answer_outside_hours: bool = False

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name like 'Europe/Berlin'") from None
        return value

    @field_validator(*WEEKDAYS)
    @classmethod
    def _ranges(cls, ranges: list[str]) -> list[str]:
        for text in ranges:
            parse_hours_range(text)
        return ranges

    @field_validator("closed")
    @classmethod
    def _dates(cls, dates: list[str]) -> list[str]:
        from datetime import date

        for text in dates:
            try:
                date.fromisoformat(text)
            except ValueError:
                raise ValueError(f"{text!r} is not a date like '2026-12-24'") from None
        return dates

    @model_validator(mode="after")
    def _some_hours(self) -> BusinessHoursSettings:
        if not self.always_open and not any(getattr(self, day) for day in WEEKDAYS):
            raise ValueError(
                'no opening hours: give at least one weekday, e.g. monday = ["08:00-17:00"], '
                "or set always_open = true"
            )
        return self


def parse_hours_range(text: str) -> tuple[time, time]:
    """'08:00-12:00' -> (08:00, 12:00); '24:00' is allowed as an end meaning midnight."""
    match = _HOURS_RANGE.match(text.strip())
    if not match:
        raise ValueError(f"{text!r} is not an opening-hours range like '08:00-17:00'")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{text!r} is not a valid time range")
    start = time(h1, m1)
    end = time.max if h2 == 24 else time(h2, m2)
    if end <= start:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


SlaCalendar = Literal["business", "24/7"]


class SlaTarget(Section):
    """Response and resolution targets of one severity class, in hours of its calendar: the business
    calendar ([business_hours]) or around the clock ("24/7", for faults "handled without delay")."""

    response_hours: float = Field(gt=0)
    resolution_hours: float = Field(gt=0)
    calendar: SlaCalendar = "business"

    @model_validator(mode="after")
    def _response_first(self) -> SlaTarget:
        if self.response_hours > self.resolution_hours:
            raise ValueError(
                f"response_hours ({self.response_hours:g}) must not exceed "
                f"resolution_hours ({self.resolution_hours:g}): a fault is answered before it is solved"
            )
        return self


DEFAULT_SLA_HOURS: dict[str, tuple[float, float]] = {  # (response, resolution) per class
    Severity.CRITICAL.value: (2, 8),
    Severity.MAJOR.value: (8, 24),
    Severity.MINOR.value: (24, 80),
    Severity.COSMETIC.value: (40, 200),
}


def _default_target(severity: Severity) -> SlaTarget:
    response, resolution = DEFAULT_SLA_HOURS[severity.value]
    return SlaTarget(response_hours=response, resolution_hours=resolution)


class SlaSettings(Section):
    """The service contract's targets per severity; defaults are the contract's standard classes."""

    warn_at: float = Field(default=0.75, gt=0, lt=1)  # share of the response target that triggers a warning
    # the SLA clock starts at the delivery time, but at most this long before mailbot took the mail
    # (mailbot.tickets.sla.clock_start): re-filed archive mail must not start in the past
    start_skew_minutes: float = Field(default=15.0, ge=0)
    # the contract: does the automatic acknowledgement count as the first response? (default: only a
    # person's answer does; mailbot.reports.times)
    acknowledgement_is_response: bool = False
    near_miss: float = Field(default=0.8, gt=0, lt=1)  # an achieved target that used this share is shown
    critical: SlaTarget = _default_target(Severity.CRITICAL)
    major: SlaTarget = _default_target(Severity.MAJOR)
    minor: SlaTarget = _default_target(Severity.MINOR)
    cosmetic: SlaTarget = _default_target(Severity.COSMETIC)

    @model_validator(mode="before")
    @classmethod
    def _default_hours(cls, data: Any) -> Any:
        """`[sla.critical] calendar = "24/7"` alone keeps the class's standard hours."""
        if not isinstance(data, dict):
            return data
        filled = dict(data)
        for name, (response, resolution) in DEFAULT_SLA_HOURS.items():
            section = filled.get(name)
            if isinstance(section, dict) and not {"response_hours", "resolution_hours"} & section.keys():
                filled[name] = {"response_hours": response, "resolution_hours": resolution, **section}
        return filled

    @property
    def start_skew(self) -> timedelta:
        return timedelta(minutes=self.start_skew_minutes)

    def target(self, severity: Severity) -> SlaTarget:
        targets = {
            Severity.CRITICAL: self.critical,
            Severity.MAJOR: self.major,
            Severity.MINOR: self.minor,
            Severity.COSMETIC: self.cosmetic,
        }
        return targets[severity]

    def around_the_clock(self) -> frozenset[Severity]:
        """The classes whose targets run on the 24/7 calendar."""
        return frozenset(severity for severity in Severity if self.target(severity).calendar == "24/7")


ONCALL_EVENT = "ticket.oncall_alert"  # the webhook event of an on-call alert (list it in [webhook] events)


class ReportSettings(Section):
    """How the analyses judge (mailbot.reports, docs/metrics.md)."""

    # an automatic answer with no failure signal within this many business days resolved the request
    window_business_days: int = Field(default=3, ge=1, le=20)
    # the monthly report by mail to the client's contacts (none: not sent), on this day of the month
    # at this local hour, for the month before; in `language` (default: [support] default_language)
    recipients: list[Address] = Field(default_factory=list)
    day: int = Field(default=1, ge=1, le=28)
    hour: int = Field(default=7, ge=0, le=23)
    language: Language | None = None
    # a weekly digest of the week before to the [team] address, Mondays at `hour`, in the team's language
    team_digest: bool = False


class OncallSettings(Section):
    """[oncall]: who is alerted at once when a fault of an urgent class arrives while the business
    calendar is closed (mail to `address`, and the webhook event ONCALL_EVENT when subscribed).

    Faults of these classes are also decided at once outside business hours (ticket, acknowledgement,
    team notice) instead of waiting for the opening.
    """

    address: Address | None = None
    language: Language | None = None  # of the alert mail; default: [team] language
    severities: list[Severity] = Field(default_factory=lambda: [Severity.CRITICAL], min_length=1)


class Settings(Section):
    """The whole configuration of one mailbot installation (one mailbox for now)."""

    support: SupportSettings
    team: TeamSettings
    imap: ImapSettings | None = None
    maildir: MaildirSettings | None = None
    smtp: SmtpSettings
    database: DatabaseSettings = DatabaseSettings()
    knowledge_base: PathSettings = PathSettings(path=Path("knowledge_base"))
    templates: TemplateSettings = TemplateSettings()
    branding: BrandingSettings = BrandingSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    limits: LimitSettings = LimitSettings()
    business_hours: BusinessHoursSettings = BusinessHoursSettings(always_open=True)
    sla: SlaSettings = SlaSettings()
    incidents: IncidentSettings = IncidentSettings()
    privacy: PrivacySettings = PrivacySettings()
    report: ReportSettings = ReportSettings()
    jira: JiraSettings | None = None  # mirror escalations to Jira Service Management
    webhook: WebhookSettings | None = None  # post signed JSON events
    oncall: OncallSettings | None = None  # alert someone outside business hours
    reviews: ReviewSettings | None = None  # answer the client's app-store reviews (mailbot.reviews)
    source_file: Path | None = Field(default=None, exclude=True)

    @model_validator(mode="after")
    def _one_source(self) -> Settings:
        if (self.imap is None) == (self.maildir is None):
            raise ValueError("configure exactly one mail source: an [imap] section or a [maildir] section")
        return self

    @model_validator(mode="after")
    def _oncall_reaches_someone(self) -> Settings:
        if self.oncall is None or self.oncall.address is not None:
            return self
        if self.webhook is not None and ONCALL_EVENT in self.webhook.events:
            return self
        raise ValueError(
            f'[oncall] alerts nobody: set [oncall] address = "oncall@example.com", or add "{ONCALL_EVENT}"'
            " to [webhook] events"
        )

    @property
    def poll_seconds(self) -> float:
        """Longest wait between two looks at the mail source."""
        source = self.imap if self.imap is not None else self.maildir
        assert source is not None  # _one_source guarantees one of them
        return source.poll_seconds

    @property
    def message_id_domain(self) -> str:
        return self.support.message_id_domain or self.support.address.rpartition("@")[2]


def where_set(settings: Settings, key: str) -> str:
    """'[knowledge_base] path in /etc/mailbot/mailbot.toml': where an operator changes a setting."""
    return f"{key} in {settings.source_file}" if settings.source_file is not None else key


def secret(section: _ServerSection, section_name: str, env: Mapping[str, str] | None = None) -> str | None:
    """The password of a server section: its environment variable wins over the file.

    The variable is `password_env` if set, else MAILBOT_<SECTION>_PASSWORD, so a secret never has to
    be written into the file.
    """
    env = os.environ if env is None else env
    if section.auth == "oauth2":
        return None
    variable = password_variable(section, section_name)
    if env.get(variable):
        return env[variable]
    if section.password is not None:
        return section.password.get_secret_value()
    return None


def password_variable(section: _ServerSection, section_name: str) -> str:
    """The environment variable that holds the password of a server section."""
    return section.password_env or f"MAILBOT_{section_name.upper()}_PASSWORD"


def all_secrets(settings: Settings, env: Mapping[str, str] | None = None) -> list[str]:
    """Every secret value this installation knows, for the log filter's second line of defence."""
    env = os.environ if env is None else env
    found = [secret(s, name, env) for s, name in ((settings.imap, "imap"), (settings.smtp, "smtp")) if s]
    for name in ("imap", "smtp"):
        section = getattr(settings, name)
        if section is not None and section.oauth2 is not None:
            found.extend(secret_values(section.oauth2, name, env))
    if settings.jira is not None:
        found.append(settings.jira.token.get_secret_value() if settings.jira.token else None)
        found.append(env.get(settings.jira.token_env or JIRA_TOKEN_ENV))
    if settings.webhook is not None:
        found.append(settings.webhook.secret.get_secret_value() if settings.webhook.secret else None)
        found.append(env.get(settings.webhook.secret_env or WEBHOOK_SECRET_ENV))
    found.append(env.get(MESSAGE_ID_SECRET_ENV))
    return [value for value in found if value]


def load_settings(
    path: Path | None = None, env: Mapping[str, str] | None = None, *, require_secrets: bool = True
) -> Settings:
    """Read, validate and resolve the configuration; raise ConfigError with a fix-it message.

    `require_secrets=False` is for commands that only read the database (status, tickets list/show,
    quarantine): they must work for someone who is not given the mailbox and SMTP passwords.
    """
    env = os.environ if env is None else env
    if path is None:
        if not env.get(CONFIG_ENV):
            raise ConfigError(f"no configuration: pass --config FILE or set {CONFIG_ENV}")
        path = Path(env[CONFIG_ENV])
    text, data = read_toml(path)
    if "clients" in data:
        raise ConfigError(
            f"{path} serves several clients ([clients] dir): give it to a command that takes --config "
            "(mailbot run, status, tickets ...), which read every client's client.toml"
        )
    return settings_from_mapping(
        data, path, env, require_secrets=require_secrets, origin=lambda where: (path, line_of(text, where))
    )


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its tables; ConfigError naming the file (and the line) when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None


def settings_from_mapping(
    data: dict[str, Any],
    path: Path,
    env: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
    origin: Origin | None = None,
) -> Settings:
    """`origin` tells, for an invalid key, in which file and on which line it was written (a client's
    setting may come from its client.toml or from the installation's defaults)."""
    env = os.environ if env is None else env
    if env.get(DATABASE_URL_ENV):
        data = {**data, "database": {**data.get("database", {}), "url": env[DATABASE_URL_ENV]}}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, origin)) from None
    settings = _resolve_paths(settings, path.parent.resolve())
    if require_secrets:
        _check_secrets(settings, path, env)
    return settings.model_copy(update={"source_file": path})


def _describe(exc: ValidationError, path: Path, origin: Origin | None = None) -> str:
    lines = [f"{path}: invalid configuration"]
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        if (
            location
            and location[0] in ("imap", "maildir")
            and len(location) > 1
            and location[1]
            in (
                "ImapSettings",
                "MaildirSettings",
            )
        ):
            del location[1]
        key = f"[{location[0]}] {'.'.join(location[1:])}".strip() if location else "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = _unknown_key(location)
        elif error["type"] == "missing":
            message = "required key is missing"
        elif "input" in error and not isinstance(error["input"], dict) and not _is_secret_key(key):
            message += f" (got {error['input']!r})"
        lines.append(f"  {_where(location, path, origin)}{key}: {message}")
    return "\n".join(lines)


def _where(location: Sequence[str], path: Path, origin: Origin | None) -> str:
    """'line 12: ', or '/etc/mailbot/mailbot.toml, line 4: ' for a key written in another file than
    `path` (a client's default from the installation's file)."""
    if origin is None or not location:
        return ""
    file, line = origin(location)
    parts = [] if file == path else [str(file)]
    if line is not None:
        parts.append(f"line {line}")
    return f"{', '.join(parts)}: " if parts else ""


def _unknown_key(location: Sequence[str]) -> str:
    """'unknown key; did you mean processed_folder?', or the keys that the section does have."""
    keys = _keys_at(location[:-1])
    if keys is None:
        return "unknown key (misspelt? see mailbot.example.toml for the keys of this section)"
    close = difflib.get_close_matches(location[-1], keys, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(location[-1].lower(), keys, n=1, cutoff=0.6)
    if len(location) == 1:  # a whole section
        if close:
            return f"unknown section; did you mean [{close[0]}]?"
        return f"unknown section; the sections are: {', '.join(f'[{key}]' for key in keys)}"
    if close:
        return f"unknown key; did you mean {close[0]}?"
    return f"unknown key; the keys here are: {', '.join(keys)}"


def _keys_at(location: Sequence[str]) -> list[str] | None:
    """The keys a TOML table at `location` may have (top level: the sections), None if unknown."""
    model: type[BaseModel] = Settings
    for part in location:
        field = model.model_fields.get(part)
        inner = _section_model(field.annotation) if field is not None else None
        if inner is None:
            return None
        model = inner
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The settings class in an annotation like `ImapSettings | None`."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_secret_key(key: str) -> bool:
    """Values of these keys are never echoed in an error message (they may be half-right secrets)."""
    return any(word in key for word in ("password", "token", "secret"))


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths in the file mean relative to the file, not to the current directory."""

    def resolve(value: Path) -> Path:
        return value if value.is_absolute() else base / value

    updates: dict[str, Any] = {
        "knowledge_base": PathSettings(path=resolve(settings.knowledge_base.path)),
        "templates": TemplateSettings(
            path=resolve(settings.templates.path) if settings.templates.path else None,
            overrides=resolve(settings.templates.overrides) if settings.templates.overrides else None,
        ),
        "classifier": settings.classifier.model_copy(
            update={"model_dir": resolve(settings.classifier.model_dir)}
        ),
    }
    if settings.maildir is not None:
        updates["maildir"] = settings.maildir.model_copy(update={"path": resolve(settings.maildir.path)})
    for name in ("imap", "smtp"):
        section = getattr(settings, name)
        if section is not None and (section.cafile is not None or section.oauth2 is not None):
            updates[name] = section.model_copy(
                update={
                    "cafile": resolve(section.cafile) if section.cafile is not None else None,
                    "oauth2": section.oauth2.resolved(base) if section.oauth2 is not None else None,
                }
            )
    url = settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        updates["database"] = DatabaseSettings(url="sqlite:///" + str(base / url.removeprefix("sqlite:///")))
    return settings.model_copy(update=updates)


def _check_secrets(settings: Settings, path: Path, env: Mapping[str, str]) -> None:
    for name in ("imap", "smtp"):
        section = getattr(settings, name)
        if section is not None and section.oauth2 is not None:
            problems = credential_problems(section.oauth2, name, env)
            if problems:
                raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))
            continue
        if section is None or section.username is None:
            continue
        if secret(section, name, env) is None:
            variable = section.password_env or f"MAILBOT_{name.upper()}_PASSWORD"
            raise ConfigError(
                f"{path}: [{name}] username is set but no password: set the environment variable "
                f"{variable} (preferred) or [{name}] password"
            )
