"""An in-process aiosmtpd SMTP sink on loopback that records what the bot sends.

Why in-process: a threaded ``aiosmtpd.controller.Controller`` starts in a few ms, so every test
gets a fresh sink, and the test can program failures (4xx/5xx replies, outages) that a real
MTA would only produce by accident. Delivery tests use:

- ``fail_next(451, count=2)``: the next 2 transactions get ``451`` at DATA (or at MAIL/RCPT);
  aiosmtplib raises ``SMTPResponseException`` (``SMTPDataError``) with ``.code == 451``.
- ``fail_recipient("x@example.test", 550)``: RCPT TO for that address is refused until ``clear()``.
- ``stop()`` / ``start()``: an outage on the same port (connections are refused meanwhile).
- ``drop_next(count=1)``: the next `count` transactions lose their connection at the end of DATA
  (nothing is accepted or recorded; the client sees the server disconnect).
- ``tls="implicit"`` (SMTPS) or ``tls="starttls"``, with a self-signed cert (``cafile``) whose
  SAN covers 127.0.0.1 and localhost, so the client's TLS verification can be tested for real.

- ``xoauth2=verify``: the sink requires AUTH (plain connection allowed, loopback) and offers XOAUTH2
  besides PLAIN/LOGIN; ``verify(user, token)`` decides (e.g. the identity stand-in's introspection).
  A refused token gets Gmail's answer: a 334 challenge with a JSON error, then ``535 5.7.8``. PLAIN and
  LOGIN are always refused; every attempt is recorded in ``auth_attempts`` (mechanism, user, accepted).

Messages are recorded as ``SinkMessage(mail_from, rcpt_tos, data)`` with ``data`` the raw bytes as
received (CRLF line endings, dot-stuffing removed); rejected attempts go to ``rejections``. For each
message, ``connections`` holds the number of the SMTP session (connection) that carried it, counted
from 0 in the order of their first DATA (a client port may be reused, a session is not;
``session_count`` counts every session that reached DATA, dropped ones too), and ``acceptance_times`` the
wall-clock time (UTC) of the 250 reply.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
import threading
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, NamedTuple

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailbot.demo.sink import started

from .common import LOOPBACK, make_self_signed_cert, start_on_free_port

TlsMode = Literal["none", "starttls", "implicit"]
Stage = Literal["MAIL", "RCPT", "DATA"]


class SinkMessage(NamedTuple):
    """One accepted message; unpacks like ``(mail_from, rcpt_tos, data)``."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes


class Rejection(NamedTuple):
    """One refused command: at which stage, for whom, with which reply."""

    stage: Stage
    mail_from: str
    rcpt_tos: list[str]
    reply: str


@dataclass
class _PlannedFailure:
    stage: Stage
    reply: str
    remaining: int


def _reply(code: int, message: str | None) -> str:
    if not 400 <= code <= 599:
        raise ValueError(f"failure code must be 4xx or 5xx, not {code}")
    if message is None:
        message = "4.0.0 simulated temporary failure" if code < 500 else "5.0.0 simulated permanent failure"
    return f"{code} {message}"


class _Handler:
    """aiosmtpd hooks; all state lives in the SmtpSink and is guarded by its lock."""

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if reply := self.sink._take_failure("MAIL", address, []):
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if reply := self.sink._take_failure("RCPT", envelope.mail_from or "", [address]):
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        rcpts = list(envelope.rcpt_tos)
        if reply := self.sink._take_failure("DATA", envelope.mail_from or "", rcpts):
            return reply
        self.sink._number(session)
        if self.sink._take_drop() and server.transport is not None:
            server.transport.abort()  # the connection is gone before the reply: nothing was accepted
            return "421 4.4.2 connection dropped"  # written nowhere: the transport is closed
        data = envelope.original_content or envelope.content or b""
        if isinstance(data, str):  # only with decode_data=True, which we don't use
            data = data.encode("utf-8", "surrogateescape")
        self.sink._accept(SinkMessage(envelope.mail_from or "", rcpts, data), session)
        return "250 Message accepted for delivery"


class AuthAttempt(NamedTuple):
    mechanism: str
    user: str
    accepted: bool


_XOAUTH2_ERROR = '{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}'


class _OAuthHandler(_Handler):
    """The sink's hooks plus SASL XOAUTH2 (aiosmtpd calls `auth_<MECHANISM>` methods of the handler)."""

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        blob = args[1] if len(args) > 1 else ""
        try:
            fields = dict(
                part.split("=", 1) for part in b64decode(blob).decode().split("\x01") if "=" in part
            )
        except ValueError:
            await server.push("501 5.5.2 Cannot decode XOAUTH2 response")
            return AuthResult(success=False, handled=True)
        user, token = fields.get("user", ""), fields.get("auth", "").removeprefix("Bearer ")
        accepted = self.sink._check_token(user, token)
        if not accepted:
            await server.challenge_auth(_XOAUTH2_ERROR)  # the client answers with an empty line
            return AuthResult(
                success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
            )
        return AuthResult(success=True, auth_data=user)


class SmtpSink:
    """aiosmtpd Controller on 127.0.0.1 (free port) collecting messages, with failure injection."""

    host: str = LOOPBACK

    def __init__(
        self,
        *,
        port: int | None = None,
        tls: TlsMode = "none",
        require_starttls: bool = False,
        cert_dir: Path | None = None,
        xoauth2: Callable[[str, str], bool] | None = None,
    ) -> None:
        self.port = port or 0  # 0: the first start picks a free one
        self.xoauth2 = xoauth2
        self._auth_attempts: list[AuthAttempt] = []
        self.tls: TlsMode = tls
        self.require_starttls = require_starttls
        self.cafile: Path | None = None
        self._server_ctx: ssl.SSLContext | None = None
        self._own_cert_dir: Path | None = None
        if tls != "none":
            if cert_dir is None:
                cert_dir = self._own_cert_dir = Path(tempfile.mkdtemp(prefix="mailbot-smtp-sink-"))
            self.cafile, key = make_self_signed_cert(cert_dir, "smtp-sink")
            self._server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            self._server_ctx.load_cert_chain(self.cafile, key)
        self._lock = threading.Condition()
        self._messages: list[SinkMessage] = []
        self._connections: list[int] = []
        self._sessions: dict[int, int] = {}  # id() of a live aiosmtpd Session -> its number
        self._live_sessions: list[Session] = []  # kept, so that no id() is reused while we count
        self._acceptance_times: list[datetime] = []
        self._drops = 0
        self._rejections: list[Rejection] = []
        self._planned: list[_PlannedFailure] = []
        self._bad_rcpts: dict[str, str] = {}
        self._controller: Controller | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Listen (again) on the same port. A stopped Controller's loop is closed, so make a new one."""
        if self._controller is not None:
            return
        if self.port:
            self._controller = self._listen(self.port)
        else:
            self._controller = start_on_free_port(self._listen)
            self.port = self._controller.port

    def _listen(self, port: int) -> Controller:
        kwargs: dict[str, Any] = {}
        if self.tls == "implicit":
            kwargs["ssl_context"] = self._server_ctx
        elif self.tls == "starttls":
            kwargs["tls_context"] = self._server_ctx
            kwargs["require_starttls"] = self.require_starttls
        handler = _Handler(self)
        if self.xoauth2 is not None:
            handler = _OAuthHandler(self)
            kwargs.update(auth_required=True, auth_require_tls=False, authenticator=self._refuse_password)
        controller = Controller(
            handler,
            hostname=self.host,
            port=port,
            # A fixed name avoids socket.getfqdn(), which can hang on a machine without DNS.
            server_hostname="sink.example.test",
            ready_timeout=10.0,
            **kwargs,
        )
        return started(controller)

    def stop(self) -> None:
        """Stop listening (simulated outage); recorded messages and failure plans are kept."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def close(self) -> None:
        self.stop()
        if self._own_cert_dir is not None:
            shutil.rmtree(self._own_cert_dir, ignore_errors=True)

    def __enter__(self) -> SmtpSink:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def client_ssl_context(self) -> ssl.SSLContext:
        """A fully verifying client context that trusts this sink's self-signed cert."""
        if self.cafile is None:
            raise RuntimeError("this sink runs without TLS")
        return ssl.create_default_context(cafile=str(self.cafile))

    # --- recorded traffic --------------------------------------------------------------------

    @property
    def messages(self) -> list[SinkMessage]:
        """A snapshot of the accepted messages, in arrival order."""
        with self._lock:
            return list(self._messages)

    @property
    def rejections(self) -> list[Rejection]:
        """A snapshot of the commands refused by a programmed failure."""
        with self._lock:
            return list(self._rejections)

    @property
    def connections(self) -> list[int]:
        """The session (connection) number of each accepted message, in the order of `messages`."""
        with self._lock:
            return list(self._connections)

    @property
    def session_count(self) -> int:
        """How many SMTP sessions reached DATA (the connections a client used)."""
        with self._lock:
            return len(self._sessions)

    @property
    def acceptance_times(self) -> list[datetime]:
        """When each message was accepted (UTC), in the order of `messages`."""
        with self._lock:
            return list(self._acceptance_times)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[SinkMessage]:
        """Block until at least `count` messages arrived (no fixed sleep); raise TimeoutError after."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self._messages) >= count, timeout):
                raise TimeoutError(
                    f"SMTP sink got {len(self._messages)} of {count} messages within {timeout} s"
                    f" (rejected: {self._rejections})"
                )
            return list(self._messages)

    def clear(self) -> None:
        """Forget messages, rejections and all programmed failures."""
        with self._lock:
            self._messages.clear()
            self._connections.clear()
            self._sessions.clear()
            self._live_sessions.clear()
            self._acceptance_times.clear()
            self._drops = 0
            self._rejections.clear()
            self._planned.clear()
            self._bad_rcpts.clear()

    # --- failure injection -------------------------------------------------------------------

    def fail_next(
        self, code: int = 451, message: str | None = None, count: int = 1, stage: Stage = "DATA"
    ) -> None:
        """Answer `code` to the next `count` commands at `stage` (default: end of DATA).

        Plans queue up: ``fail_next(451); fail_next(550)`` fails one message with 451, the next with 550.
        """
        if count < 1:
            raise ValueError("count must be >= 1")
        with self._lock:
            self._planned.append(_PlannedFailure(stage, _reply(code, message), count))

    def drop_next(self, count: int = 1) -> None:
        """Close the connection at the end of DATA of the next `count` transactions, without a reply."""
        with self._lock:
            self._drops += count

    def fail_recipient(self, address: str, code: int = 550, message: str | None = None) -> None:
        """Refuse RCPT TO:`address` (case-insensitive) with `code` until ``clear()``."""
        with self._lock:
            self._bad_rcpts[address.lower()] = _reply(code, message)

    @property
    def auth_attempts(self) -> list[AuthAttempt]:
        with self._lock:
            return list(self._auth_attempts)

    # --- called from the server thread -------------------------------------------------------

    def _check_token(self, user: str, token: str) -> bool:
        assert self.xoauth2 is not None
        accepted = self.xoauth2(user, token)
        with self._lock:
            self._auth_attempts.append(AuthAttempt("XOAUTH2", user, accepted))
        return accepted

    def _refuse_password(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        user = data.login.decode(errors="replace") if isinstance(data, LoginPassword) else ""
        with self._lock:
            self._auth_attempts.append(AuthAttempt(mechanism, user, False))
        return AuthResult(success=False)

    def _take_failure(self, stage: Stage, mail_from: str, rcpts: list[str]) -> str | None:
        with self._lock:
            reply = None
            if stage == "RCPT" and rcpts[0].lower() in self._bad_rcpts:
                reply = self._bad_rcpts[rcpts[0].lower()]
            else:
                planned = next((p for p in self._planned if p.stage == stage), None)
                if planned is not None:
                    reply = planned.reply
                    planned.remaining -= 1
                    if planned.remaining == 0:
                        self._planned.remove(planned)
            if reply is not None:
                self._rejections.append(Rejection(stage, mail_from, rcpts, reply))
            return reply

    def _take_drop(self) -> bool:
        with self._lock:
            if self._drops <= 0:
                return False
            self._drops -= 1
            return True

    def _number(self, session: Session) -> int:
        with self._lock:
            if id(session) not in self._sessions:
                self._sessions[id(session)] = len(self._sessions)
                self._live_sessions.append(session)
            return self._sessions[id(session)]

    def _accept(self, message: SinkMessage, session: Session) -> None:
        with self._lock:  # re-entrant: _record (which subclasses extend) takes it again
            self._connections.append(self._number(session))
            self._acceptance_times.append(datetime.now(UTC))
            self._record(message)

    def _record(self, message: SinkMessage) -> None:
        with self._lock:
            self._messages.append(message)
            self._lock.notify_all()
