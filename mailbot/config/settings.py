"""`Settings`, the whole configuration of one installation, built from the sections of this package."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, model_validator

from mailbot.config.contract import ONCALL_EVENT, BusinessHoursSettings, OncallSettings, SlaSettings
from mailbot.config.sections import (
    BrandingSettings,
    ClassifierSettings,
    DatabaseSettings,
    IncidentSettings,
    LimitSettings,
    PathSettings,
    PrivacySettings,
    ReportSettings,
    SupportSettings,
    TeamSettings,
    TemplateSettings,
)
from mailbot.config.servers import ImapSettings, MaildirSettings, SmtpSettings, secret
from mailbot.escalate.settings import JIRA_TOKEN_ENV, WEBHOOK_SECRET_ENV, JiraSettings, WebhookSettings
from mailbot.oauth2 import secret_values
from mailbot.reviews.settings import ReviewSettings
from mailbot.settings_base import Section

MESSAGE_ID_SECRET_ENV = "MAILBOT_MESSAGE_ID_SECRET"


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
