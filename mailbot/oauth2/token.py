"""The one interface the mail code sees: `access_token()`, and `refresh()` after a refusal.

Tokens live in memory only, one cache per credential, and are renewed ahead of expiry (5 minutes, or
half the lifetime of a short-lived token), so a login never presents a token that runs out during it.
Every token is handed to the log filter as a secret the moment it arrives: it never reaches a log line.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass

from mailbot import logredact
from mailbot.errors import TransientError

REFRESH_MARGIN_SECONDS = 300.0


class TokenError(TransientError):
    """No token could be had (endpoint down, credential refused): the pass is retried later."""


@dataclass(frozen=True)
class Token:
    value: str
    expires_at: float  # on the provider's clock
    lifetime: float

    def fresh(self, now: float, margin: float) -> bool:
        return now < self.expires_at - min(margin, self.lifetime / 2)


class TokenProvider(ABC):
    """Access tokens of one credential, cached in memory and renewed ahead of expiry."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, margin: float = REFRESH_MARGIN_SECONDS
    ) -> None:
        self.clock = clock
        self.margin = margin
        self._token: Token | None = None
        self._lock = threading.Lock()  # IMAP and SMTP of one mailbox may share the credential

    @property
    @abstractmethod
    def description(self) -> str:
        """'microsoft, tenant contoso.onmicrosoft.com, app 1234…': names the credential, never a secret."""

    @property
    @abstractmethod
    def fix(self) -> str:
        """What to check when the mail server refuses this provider's tokens."""

    @abstractmethod
    def _fetch(self) -> tuple[str, float]:
        """A new token from the provider and its lifetime in seconds; raises TokenError."""

    def access_token(self) -> str:
        """A token that is good for at least the refresh margin (fetched only when needed)."""
        with self._lock:
            token = self._token
            if token is not None and token.fresh(self.clock(), self.margin):
                return token.value
            return self._renew()

    def refresh(self, refused: str | None = None) -> str:
        """A new token, whatever the cache holds: the server refused `refused`. If another login renewed
        the cached token meanwhile, that newer one is returned instead of fetching yet another."""
        with self._lock:
            token = self._token
            if token is not None and refused is not None and token.value != refused:
                return token.value
            return self._renew()

    def _renew(self) -> str:
        old, self._token = self._token, None
        value, lifetime = self._fetch()
        logredact.register_secret(value, replaces=old.value if old is not None else None)
        self._token = Token(value, self.clock() + lifetime, lifetime)
        return value
