"""Typed settings from a TOML file plus environment variables.

Errors name the file, the key and what is wrong, so that whoever edits the file can fix it without
reading code. Secrets are `SecretStr`: they never show up in a repr, a log line or an error message.

One module per part of the file: `servers` ([imap], [maildir], [smtp] and their passwords), `contract`
(business hours, holidays, SLA, on-call), `sections` (the rest of one installation), `settings` (the
whole) and `loading` (file to `Settings`, with the errors an operator can act on).
"""

from mailbot.config.contract import (
    ONCALL_EVENT,
    WEEKDAYS,
    BusinessHoursSettings,
    HolidaySettings,
    OncallSettings,
    SlaSettings,
    SlaTarget,
    parse_hours_range,
)
from mailbot.config.loading import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    load_settings,
    read_toml,
    settings_from_mapping,
)
from mailbot.config.sections import (
    BrandingSettings,
    ClassifierSettings,
    PrivacySettings,
    SupportSettings,
    TemplateSettings,
)
from mailbot.config.servers import (
    ImapSettings,
    MaildirSettings,
    SmtpSettings,
    imap_folder_key,
    password_variable,
    secret,
)
from mailbot.config.settings import MESSAGE_ID_SECRET_ENV, Settings, all_secrets, where_set

__all__ = [
    "CONFIG_ENV",
    "DATABASE_URL_ENV",
    "MESSAGE_ID_SECRET_ENV",
    "ONCALL_EVENT",
    "WEEKDAYS",
    "BrandingSettings",
    "BusinessHoursSettings",
    "ClassifierSettings",
    "HolidaySettings",
    "ImapSettings",
    "MaildirSettings",
    "OncallSettings",
    "PrivacySettings",
    "Settings",
    "SlaSettings",
    "SlaTarget",
    "SmtpSettings",
    "SupportSettings",
    "TemplateSettings",
    "all_secrets",
    "imap_folder_key",
    "load_settings",
    "parse_hours_range",
    "password_variable",
    "read_toml",
    "secret",
    "settings_from_mapping",
    "where_set",
]
