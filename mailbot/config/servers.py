"""The mail servers' sections, [imap], [maildir] and [smtp]: where the server is, how to secure and log
in, which folders decided mail goes to; and where a server's password is read from."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator

from mailbot.oauth2 import OAuth2Settings
from mailbot.settings_base import Section

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
