"""One provider per credential for the whole process, so IMAP and SMTP of a mailbox, and every pass,
share its cached token instead of asking the identity provider at each login."""

from __future__ import annotations

import threading
from collections.abc import Mapping

from mailbot.oauth2.google import GoogleProvider
from mailbot.oauth2.microsoft import MicrosoftProvider
from mailbot.oauth2.settings import OAuth2Settings
from mailbot.oauth2.token import TokenProvider

_providers: dict[tuple[OAuth2Settings, tuple[str, ...], str], TokenProvider] = {}
_lock = threading.Lock()


def token_provider(
    oauth: OAuth2Settings, section: str, mailbox: str, env: Mapping[str, str] | None = None
) -> TokenProvider:
    """The provider of this credential for `mailbox` (the section's username), made on first use."""
    key = (oauth, tuple(oauth.secret_variables(section)), mailbox.lower())  # same settings, same secrets
    with _lock:
        provider = _providers.get(key)
        if provider is None:
            if oauth.provider == "microsoft":
                provider = MicrosoftProvider(oauth, section, env)
            else:
                provider = GoogleProvider(oauth, section, mailbox, env)
            _providers[key] = provider
        return provider
