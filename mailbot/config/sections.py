"""The sections of one installation besides its servers and its service contract: who answers and who
is told, where the knowledge base, templates, model and database are, the limits, privacy, incident
grouping and the reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE
from mailbot.domain import Language
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.reply.branding import DEFAULT_ACCENT, accent_colour, brand_lines
from mailbot.settings_base import Address, Section


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
