"""SMTP connections for delivery: open and log in (password or XOAUTH2), and a small pool of them.

The pool holds up to `[smtp] connections` slots. A slot is connected only when a row is handed to it
(an empty outbox opens nothing), a slot whose connection broke is connected again at its next use,
and a slot that cannot be connected is left alone for the rest of the drain (so a server that is down
costs one attempt per slot, not one per row). Connections idle for longer than IDLE_CLOSE_SECONDS are
closed: servers drop quiet clients after a few minutes (RFC 5321 4.5.3.2.7), and a send on a dropped
connection would defer its row for nothing.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiosmtplib

from mailbot.config import SmtpSettings
from mailbot.errors import TransientError
from mailbot.oauth2 import refused_message, token_provider
from mailbot.tls import client_context

log = logging.getLogger(__name__)

IDLE_CLOSE_SECONDS = 20.0


class SmtpConnector:
    """Opens one logged-in connection to the configured server."""

    def __init__(self, settings: SmtpSettings, password: str | None) -> None:
        self.settings = settings
        self._password = password
        self.port = settings.port or {"tls": 465, "starttls": 587, "none": 25}[settings.security]

    @property
    def address(self) -> str:
        return f"{self.settings.host}:{self.port}"

    async def open(self) -> aiosmtplib.SMTP:
        s = self.settings
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=self.port,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=client_context(s.cafile, s.tls_verify) if s.security != "none" else None,
            timeout=s.timeout_seconds,
        )
        await client.connect()
        try:
            if s.username:
                await self._login(client, s.username)
        except BaseException:
            client.close()
            raise
        return client

    async def _login(self, client: aiosmtplib.SMTP, user: str) -> None:
        """AUTH with the password, or XOAUTH2 with a token: a refused token is replaced by a fresh one
        once, then TransientError (the rows stay queued and are retried). Never a password then."""
        s = self.settings
        if s.auth != "oauth2":
            await client.login(user, self._password or "")
            return
        assert s.oauth2 is not None  # SmtpSettings checks it for auth = "oauth2"
        provider = token_provider(s.oauth2, "smtp", user)
        token = provider.access_token()
        try:
            await client.auth_xoauth2(user, token)
            return
        except aiosmtplib.SMTPAuthenticationError as exc:
            log.info(
                "SMTP %s refused the OAuth2 token for %s (%s); fetching a fresh one", self.address, user, exc
            )
        try:
            await client.auth_xoauth2(user, provider.refresh(refused=token))
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TransientError(f"{refused_message(provider, user, self.address)} (server: {exc})") from exc


async def close_quietly(client: aiosmtplib.SMTP) -> None:
    """QUIT politely; a connection that cannot even do that is just closed."""
    if not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


async def reset(client: aiosmtplib.SMTP) -> None:
    """Abort a half-sent transaction so that the next row starts clean (RFC 5321 RSET)."""
    with contextlib.suppress(aiosmtplib.SMTPException, OSError, TimeoutError):
        await client.rset()


@dataclass
class Slot:
    """One place in the pool: its connection (None until used, or after it broke) and its state."""

    number: int
    client: aiosmtplib.SMTP | None = None
    last_used: float = 0.0
    busy: bool = False
    dead: bool = False  # could not be connected in this drain: not tried again until the next one
    sessions: int = 0  # connections opened over the slot's life (for the log and the tests)


class SmtpPool:
    """Up to `size` connections, handed out one row at a time by the deliverer."""

    def __init__(
        self, connector: SmtpConnector, size: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.connector = connector
        self.slots = [Slot(number) for number in range(max(1, size))]
        self.monotonic = monotonic
        self.halted = False  # a login was refused for good: no more rows in this drain

    def begin_drain(self) -> None:
        """A new drain tries every slot (and the server) again."""
        self.halted = False
        for slot in self.slots:
            slot.dead = False

    def free(self) -> list[Slot]:
        if self.halted:
            return []
        return [slot for slot in self.slots if not slot.busy and not slot.dead]

    @property
    def any_dead(self) -> bool:
        return any(slot.dead for slot in self.slots)

    @property
    def connected(self) -> bool:
        return any(slot.client is not None and slot.client.is_connected for slot in self.slots)

    async def client_of(self, slot: Slot) -> aiosmtplib.SMTP:
        """The slot's connection, opened (again) when it has none; raises what opening raised."""
        if slot.client is not None and not slot.client.is_connected:
            slot.client = None
        if slot.client is None:
            slot.client = await self.connector.open()
            slot.sessions += 1
        slot.last_used = self.monotonic()
        return slot.client

    async def drop(self, slot: Slot) -> None:
        """The slot's connection broke or is in an unknown state: close it; the next use reconnects."""
        client, slot.client = slot.client, None
        if client is not None:
            client.close()

    async def close_idle(self) -> None:
        cutoff = self.monotonic() - IDLE_CLOSE_SECONDS
        for slot in self.slots:
            if slot.client is not None and not slot.busy and slot.last_used < cutoff:
                client, slot.client = slot.client, None
                await close_quietly(client)

    async def close(self) -> None:
        for slot in self.slots:
            client, slot.client = slot.client, None
            if client is not None:
                await close_quietly(client)
