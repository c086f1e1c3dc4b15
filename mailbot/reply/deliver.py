"""Deliver the outbox over SMTP (aiosmtplib): claim, send, mark sent; back off on 4xx, fail on 5xx.

At-least-once with a tiny window: if the process dies after the server accepted a mail but before
the row is marked sent, the lease runs out and the same bytes are sent again. Everything else is
exactly once, because a row is only ever sent by the worker that claimed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import aiosmtplib
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.addresses import UndeliverableAddress, envelope_address
from mailbot.clock import Clock
from mailbot.config import SmtpSettings, secret
from mailbot.db.claims import claim_due_outbox
from mailbot.db.schema import OutboxMail, OutboxState
from mailbot.errors import TransientError
from mailbot.oauth2 import refused_message, token_provider
from mailbot.tls import client_context

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
BACKOFF_BASE_SECONDS = 30.0
BACKOFF_CAP_SECONDS = 3600.0


@dataclass
class DeliveryReport:
    sent: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


async def _reset(client: aiosmtplib.SMTP) -> None:
    """Abort a half-sent transaction so that the next row starts clean (RFC 5321 RSET)."""
    with contextlib.suppress(aiosmtplib.SMTPException):
        await client.rset()


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Capped exponential backoff with full jitter: 30 s, 60 s, 120 s ... at most one hour."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(0, attempts - 1))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


class Deliverer:
    def __init__(
        self,
        settings: SmtpSettings,
        mailbox: str,
        sessions: sessionmaker[Session],
        clock: Clock,
        password: str | None = None,
        on_failed: Callable[[Session, OutboxMail], None] | None = None,
    ) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.sessions = sessions
        self.clock = clock
        self._password = password if password is not None else secret(settings, "smtp")
        # called in the transaction that marks a row failed for good (the worker tells the team)
        self.on_failed = on_failed

    def deliver_due(self) -> DeliveryReport:
        """Send every due row over one connection; returns what happened.

        Rows are claimed one at a time, right before each is sent: a crash leaves at most the one row
        in flight waiting for its lease, not a whole batch (found by bench/torture.py: 75 rows waited
        five minutes after two kills during delivery).
        """
        report = DeliveryReport()
        first = self._claim_next()
        if first is not None:
            asyncio.run(self._send_all(first, report))
        return report

    def _claim_next(self) -> int | None:
        with self.sessions.begin() as session:
            ids = claim_due_outbox(session, self.mailbox, self.clock(), LEASE, 1)
        return ids[0] if ids else None

    def next_due(self) -> datetime | None:
        """When the next deferred row becomes due (for the worker's sleep)."""
        with self.sessions.begin() as session:
            return session.scalar(
                select(func.min(OutboxMail.next_attempt_at)).where(
                    OutboxMail.mailbox == self.mailbox, OutboxMail.state == OutboxState.PENDING
                )
            )

    async def _send_all(self, first: int, report: DeliveryReport) -> None:
        s = self.settings
        port = s.port or {"tls": 465, "starttls": 587, "none": 25}[s.security]
        client = aiosmtplib.SMTP(
            hostname=s.host,
            port=port,
            use_tls=s.security == "tls",
            start_tls=s.security == "starttls",
            tls_context=client_context(s.cafile, s.tls_verify) if s.security != "none" else None,
            timeout=s.timeout_seconds,
        )
        current: int | None = first
        try:
            await client.connect()
            if s.username:
                await self._login(client, s.username, f"{s.host}:{port}")
            while current is not None:
                await self._send_one(client, current, report)
                current = self._claim_next()
        except TransientError as exc:  # no token, or the server refused a fresh one: all rows wait
            message = str(exc)
            log.warning("delivery interrupted: %s", message)
            report.errors.append(message)
            if current is not None:
                self._defer(current, message, report)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # the connection is gone: the mail in hand waits for the next attempt, the rest stay due
            message = f"SMTP {s.host}:{port}: {exc}"
            log.warning("delivery interrupted: %s", message)
            report.errors.append(message)
            if current is not None:
                self._defer(current, message, report)
        finally:
            if client.is_connected:
                try:
                    await client.quit()
                except (aiosmtplib.SMTPException, OSError, TimeoutError):
                    client.close()

    async def _login(self, client: aiosmtplib.SMTP, user: str, address: str) -> None:
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
            log.info("SMTP %s refused the OAuth2 token for %s (%s); fetching a fresh one", address, user, exc)
        try:
            await client.auth_xoauth2(user, provider.refresh(refused=token))
        except aiosmtplib.SMTPAuthenticationError as exc:
            raise TransientError(f"{refused_message(provider, user, address)} (server: {exc})") from exc

    async def _send_one(self, client: aiosmtplib.SMTP, row_id: int, report: DeliveryReport) -> None:
        """Send one claimed row. Whatever goes wrong with this row ends with this row (failed or
        deferred), never with the pass: only a broken connection (raised) stops the others."""
        with self.sessions.begin() as session:
            row = session.get_one(OutboxMail, row_id)
            mail_from, recipient, raw = row.mail_from, row.recipient, row.raw
        try:
            envelope_from, envelope_to = envelope_address(mail_from), envelope_address(recipient)
        except UndeliverableAddress as exc:
            self._fail(row_id, f"not sent: {exc}", report)
            return
        try:
            # the customer's original rides along unchanged in team notices and may be 8-bit
            eight_bit = not raw.isascii() and client.supports_extension("8bitmime")
            _errors, response = await client.sendmail(
                envelope_from, [envelope_to], raw, mail_options=["BODY=8BITMIME"] if eight_bit else None
            )
        except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError, OSError, TimeoutError):
            raise  # the connection is gone: handled for the whole pass by the caller
        except aiosmtplib.SMTPRecipientsRefused as exc:
            self._reply_code(row_id, exc.recipients[0].code, exc.recipients[0].message, report)
            return
        except aiosmtplib.SMTPResponseException as exc:
            if exc.code in (421,):  # the server closes the connection: the batch cannot go on
                raise
            self._reply_code(row_id, exc.code, exc.message, report)
            if exc.code >= 400:
                await client.rset()
            return
        except Exception as exc:  # a bug or a mail the library cannot send: this row only, for good
            log.exception("outbox #%s could not be sent", row_id)
            self._fail(row_id, f"not sent: {type(exc).__name__}: {exc}", report)
            await _reset(client)
            return
        with self.sessions.begin() as session:
            row = session.get_one(OutboxMail, row_id)
            row.state = OutboxState.SENT
            row.sent_at = self.clock()
            row.smtp_response = response[:500]
            row.lease_until = None
        log.info("sent outbox #%s (%s) to %s", row_id, row.kind, recipient)
        report.sent += 1

    def _reply_code(self, row_id: int, code: int, message: str, report: DeliveryReport) -> None:
        text = f"{code} {message}"
        if 500 <= code < 600:
            self._fail(row_id, text, report)
        else:
            self._defer(row_id, text, report)

    def _fail(self, row_id: int, error: str, report: DeliveryReport) -> None:
        """For good: the row is failed with its reason, and the team is told (`on_failed`)."""
        with self.sessions.begin() as session:
            row = session.get_one(OutboxMail, row_id)
            row.state = OutboxState.FAILED
            row.last_error = error[:2000]
            row.lease_until = None
            if self.on_failed is not None:
                self.on_failed(session, row)
        log.error("outbox #%s failed for good: %s", row_id, error)
        report.failed += 1

    def _defer(self, row_id: int, error: str, report: DeliveryReport) -> None:
        with self.sessions.begin() as session:
            row = session.get_one(OutboxMail, row_id)
            row.state = OutboxState.PENDING
            row.last_error = error[:2000]
            row.lease_until = None
            row.next_attempt_at = self.clock() + backoff(row.attempts)
        report.deferred += 1
