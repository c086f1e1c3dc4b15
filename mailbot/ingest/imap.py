"""The IMAP mail source: UID + UIDVALIDITY watermark, BODY.PEEK[] fetch, move after the decision.

Order of effects, so that no mail is lost or taken twice:
1. fetch new UIDs above the watermark, store the raw bytes and advance the watermark in one commit;
2. nothing changes on the server until a mail's row reached a terminal state; then it is MOVEd
   (COPY + \\Deleted + UID EXPUNGE where MOVE is missing) to the processed or quarantine folder.
A crash between 1 and 2 leaves the mail in the inbox below the watermark, where `finalize` finds it.
"""

from __future__ import annotations

import ast
import contextlib
import logging
import os
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock
from mailbot.config import ImapSettings, password_variable, secret
from mailbot.db.chunks import in_chunks
from mailbot.db.engine import begin_write
from mailbot.db.schema import InboundMail, InboundState, Watermark
from mailbot.errors import TransientError
from mailbot.ingest.source import FinalPlace, final_place, mark_source_done, pending_finalisation
from mailbot.ingest.store import FetchedMail, store_batch, too_large_reason
from mailbot.oauth2 import refused_message, token_provider
from mailbot.tls import client_context

log = logging.getLogger(__name__)

NETWORK_ERRORS = (IMAPClientError, OSError, socket.timeout, ssl.SSLError, EOFError)
_BYTES_REPR = re.compile(r"b(['\"]).*\1", re.DOTALL)


class ImapSource:
    """One IMAP folder of one mailbox; reconnects on demand."""

    def __init__(
        self,
        settings: ImapSettings,
        mailbox: str,
        sessions: sessionmaker[Session],
        clock: Clock,
        password: str | None = None,
        max_bytes: int = 25_000_000,
    ) -> None:
        self.settings = settings
        self.mailbox = mailbox
        self.sessions = sessions
        self.clock = clock
        self.max_bytes = max_bytes
        self._password = password if password is not None else secret(settings, "imap")
        self._client: IMAPClient | None = None
        self._uidvalidity: int | None = None

    @property
    def name(self) -> str:
        return f"imap://{self.settings.host}/{self.settings.folder}"

    @property
    def port(self) -> int:
        s = self.settings
        return s.port or (993 if s.security == "tls" else 143)

    @property
    def address(self) -> str:
        """host:port as connected to, for every message about the connection."""
        return f"{self.settings.host}:{self.port}"

    # -- connection -------------------------------------------------------------------------------
    def _connect(self) -> IMAPClient:
        """Connect, log in and select; each failure says what to check (host:port, account, folder)."""
        s = self.settings
        # a plain connection needs no context: building one reads the system's CA bundle (~30 ms)
        context = client_context(s.cafile, s.tls_verify) if s.security != "none" else None
        try:
            client = IMAPClient(
                s.host,
                port=self.port,
                ssl=s.security == "tls",
                ssl_context=context,
                timeout=s.timeout_seconds,
            )
            if s.security == "starttls":
                client.starttls(context)
        except NETWORK_ERRORS as exc:
            raise TransientError(f"IMAP connection to {self.address} failed: {error_text(exc)}") from exc
        try:
            self._login(client)
            self._select_inbox(client)
        except BaseException:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.shutdown()
            raise
        log.info(
            "connected to %s (%s), folder %s, UIDVALIDITY %s, IDLE %s, MOVE %s",
            self.address,
            s.security,
            s.folder,
            self._uidvalidity,
            client.has_capability("IDLE"),
            client.has_capability("MOVE"),
        )
        return client

    def _login(self, client: IMAPClient) -> None:
        s = self.settings
        if not s.username:
            return
        if s.auth == "oauth2":
            self._oauth2_login(client, s.username)
            return
        try:
            client.login(s.username, self._password or "")
        except LoginError as exc:
            raise TransientError(
                f"IMAP login as {s.username} on {self.address} failed: {error_text(exc)}; "
                f"check the password in {password_source(s)} and [imap] username"
            ) from exc

    def _oauth2_login(self, client: IMAPClient, user: str) -> None:
        """AUTHENTICATE XOAUTH2; a refused token is replaced by a fresh one once, then the pass gives up
        (TransientError: the source pauses, the mail stays in the inbox). Never a password."""
        assert self.settings.oauth2 is not None  # ImapSettings checks it for auth = "oauth2"
        provider = token_provider(self.settings.oauth2, "imap", user)
        token = provider.access_token()
        try:
            client.oauth2_login(user, token, mech="XOAUTH2")
            return
        except LoginError as exc:
            why = error_text(exc)
            log.info("IMAP %s refused the OAuth2 token of %s (%s): one fresh try", self.address, user, why)
        try:
            client.oauth2_login(user, provider.refresh(refused=token), mech="XOAUTH2")
        except LoginError as exc:
            raise TransientError(
                f"{refused_message(provider, user, self.address)} (server: {error_text(exc)})"
            ) from exc

    def _select_inbox(self, client: IMAPClient) -> None:
        s = self.settings
        client.normalise_times = False  # keep INTERNALDATE's zone: the SLA clock starts there
        if not client.folder_exists(s.folder):
            names = sorted(str(name) for _flags, _delimiter, name in client.list_folders())
            raise TransientError(
                f"IMAP folder {s.folder!r} does not exist for {s.username or 'the account'} on "
                f"{self.address}; the folders there are: {', '.join(names)}; set [imap] folder to one "
                "of them (or create the folder)"
            )
        for folder in (s.processed_folder, s.quarantine_folder):
            if not client.folder_exists(folder):
                client.create_folder(folder)
        info = client.select_folder(s.folder)
        self._uidvalidity = int(info[b"UIDVALIDITY"])

    def _ensure(self) -> IMAPClient:
        if self._client is None:
            try:
                self._client = self._connect()
            except NETWORK_ERRORS as exc:
                raise TransientError(f"IMAP on {self.address} failed: {error_text(exc)}") from exc
        return self._client

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(*NETWORK_ERRORS):
                client.logout()

    def _guard(self, action: Callable[[IMAPClient], Any], what: str) -> Any:
        """Run one IMAP step; a broken connection becomes a TransientError and is dropped."""
        client = self._ensure()
        try:
            return action(client)
        except NETWORK_ERRORS as exc:
            self.close()
            raise TransientError(f"IMAP {what} on {self.address} failed: {error_text(exc)}") from exc

    def on_server(self, action: Callable[[IMAPClient], Any], what: str) -> Any:
        """Run `action` on this source's connection (connected and logged in first, as for mail), for
        the modules that work on the mailbox's folders (mailbot.privacy.folders)."""
        return self._guard(action, what)

    def processed_count(self) -> int:
        """How many mails the processed folder holds (IMAP STATUS; created empty at connect if missing)."""
        folder = self.settings.processed_folder

        def count(client: IMAPClient) -> int:
            return int(client.folder_status(folder, [b"MESSAGES"])[b"MESSAGES"])

        return int(self._guard(count, f"STATUS {folder}"))

    # -- ingest ---------------------------------------------------------------------------------------
    def fetch_new(self, on_found: Callable[[int], None] | None = None) -> int:
        """Store every mail above the watermark; return how many new rows were stored."""
        return int(self._guard(partial(self._fetch_new, on_found=on_found), "fetch"))

    def _fetch_new(self, client: IMAPClient, on_found: Callable[[int], None] | None = None) -> int:
        # a fresh SELECT reports a changed UIDVALIDITY and UIDNEXT, both as of now
        info = client.select_folder(self.settings.folder)
        uidvalidity = self._uidvalidity = int(info[b"UIDVALIDITY"])
        uidnext = int(info.get(b"UIDNEXT", 0))
        last_uid = self._watermark(uidvalidity)
        uids = sorted(uid for uid in client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)
        if uids and on_found is not None:
            on_found(len(uids))
        stored = 0
        for start in range(0, len(uids), self.settings.batch_size):
            batch = uids[start : start + self.settings.batch_size]
            sizes = client.fetch(batch, ["RFC822.SIZE"])
            large = {uid for uid in batch if int(sizes.get(uid, {}).get(b"RFC822.SIZE", 0)) > self.max_bytes}
            response = client.fetch([u for u in batch if u not in large], ["BODY.PEEK[]", "INTERNALDATE"])
            if large:  # only the header: a huge mail is never loaded whole
                headers = client.fetch(sorted(large), ["BODY.PEEK[HEADER]", "INTERNALDATE", "RFC822.SIZE"])
                response |= {uid: _as_too_large(data, self.max_bytes) for uid, data in headers.items()}
            stored += self._store_batch(uidvalidity, batch, response)
        if uidnext - 1 > max([last_uid, *uids]):
            # UIDs below UIDNEXT that the search did not return were expunged by someone else
            # before we saw them: step over them, or the watermark would never pass them
            self._advance_watermark(uidnext - 1)
        return stored

    def _advance_watermark(self, uid: int) -> None:
        with self.sessions.begin() as session:
            mark = session.get_one(Watermark, (self.mailbox, self.settings.folder))
            mark.last_uid = max(mark.last_uid, uid)

    def _watermark(self, uidvalidity: int) -> int:
        with self.sessions.begin() as session:
            mark = session.get(Watermark, (self.mailbox, self.settings.folder))
            if mark is None:
                session.add(
                    Watermark(
                        mailbox=self.mailbox, folder=self.settings.folder, uidvalidity=uidvalidity, last_uid=0
                    )
                )
                return 0
            if mark.uidvalidity != uidvalidity:
                log.warning(
                    "UIDVALIDITY of %s changed from %s to %s: re-reading the folder; "
                    "Message-ID and SHA-256 keys keep out what we already have",
                    self.settings.folder,
                    mark.uidvalidity,
                    uidvalidity,
                )
                mark.uidvalidity, mark.last_uid = uidvalidity, 0
            return mark.last_uid

    def _store_batch(
        self, uidvalidity: int, uids: Sequence[int], response: dict[int, dict[bytes, Any]]
    ) -> int:
        now = self.clock()
        folder = self.settings.folder
        mails: list[FetchedMail] = []
        for uid in uids:
            data = response.get(uid)
            if data is None or b"BODY[]" not in data:
                log.warning("UID %s vanished from %s before it could be fetched", uid, folder)
                continue
            received = _aware(data.get(b"INTERNALDATE")) or now
            mails.append(
                FetchedMail(
                    f"imap:{folder}:{uidvalidity}:{uid}",
                    folder,
                    uidvalidity,
                    uid,
                    bytes(data[b"BODY[]"]),
                    received,
                    size=data.get(b"X-SIZE"),
                    too_large=data.get(b"X-TOO-LARGE"),
                )
            )
        with self.sessions.begin() as session:
            begin_write(session)  # the batch's savepoints commit with the watermark, not one by one
            stored = store_batch(session, self.mailbox, mails, now)
            mark = session.get(Watermark, (self.mailbox, folder))
            assert mark is not None  # created by _watermark() before any fetch
            mark.last_uid = max(mark.last_uid, *uids)
        return stored

    # -- after the decision ---------------------------------------------------------------------------
    def finalize(self) -> int:
        """Move mail whose row is terminal (and duplicates we skipped) out of the inbox."""
        return int(self._guard(self._finalize, "move"))

    def _finalize(self, client: IMAPClient) -> int:
        s = self.settings
        uidvalidity = self._uidvalidity
        in_folder = set(client.search(["ALL"]))
        with self.sessions.begin() as session:
            mark = session.get(Watermark, (self.mailbox, s.folder))
            taken = {uid for uid in in_folder if mark is not None and uid <= mark.last_uid}
            known = _known_uids(session, self.mailbox, s.folder, uidvalidity, taken)
            targets: dict[FinalPlace, list[int]] = {FinalPlace.PROCESSED: [], FinalPlace.QUARANTINE: []}
            done_ids: list[int] = []
            for row in pending_finalisation(session, self.mailbox, s.folder):
                if row.uidvalidity == uidvalidity and row.uid in in_folder:
                    targets[final_place(row)].append(int(row.uid or 0))
                elif row.uidvalidity != uidvalidity:
                    targets[final_place(row)].extend(
                        uid for uid in client.search(["HEADER", "Message-ID", row.message_id]) if uid in taken
                    )
                done_ids.append(row.id)
            # taken from the inbox but not stored: duplicates of mail we already have
            targets[FinalPlace.PROCESSED].extend(sorted(taken - set(known)))
            waiting = {uid for uid, terminal in known.items() if not terminal}
            for place, uids in targets.items():
                folder = s.processed_folder if place is FinalPlace.PROCESSED else s.quarantine_folder
                self._move(client, sorted(set(uids) - waiting), folder)
            mark_source_done(session, done_ids)
        return len(done_ids)

    def _move(self, client: IMAPClient, uids: list[int], folder: str) -> None:
        if not uids:
            return
        if client.has_capability("MOVE"):
            client.move(uids, folder)
            return
        client.copy(uids, folder)
        client.add_flags(uids, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(uids)
        else:
            client.expunge()

    # -- waiting ----------------------------------------------------------------------------------------
    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Block until new mail arrives (IDLE), `seconds` pass, or `stop` is set."""
        client = self._ensure()
        if not (self.settings.idle and client.has_capability("IDLE")):
            stop.wait(seconds)
            return
        self._guard(lambda c: self._has_new(c) or _idle(c, seconds, stop), "IDLE")

    def _has_new(self, client: IMAPClient) -> bool:
        """Whether mail arrived since the last fetch, asked right before IDLE.

        A delivery during an earlier command is announced in that command's response and not
        again by IDLE, so without this check it would wait for the next poll. The SELECT comes
        last: whatever arrives after it is announced by IDLE itself.
        """
        with self.sessions.begin() as session:
            mark = session.get(Watermark, (self.mailbox, self.settings.folder))
            last_uid = mark.last_uid if mark is not None else 0
        if any(uid > last_uid for uid in client.search(["UID", f"{last_uid + 1}:*"])):
            return True
        info = client.select_folder(self.settings.folder)
        return int(info[b"UIDVALIDITY"]) != self._uidvalidity or int(info.get(b"UIDNEXT", 0)) - 1 > last_uid


def password_source(settings: ImapSettings, env: Mapping[str, str] | None = None) -> str:
    """Where the password came from, for the fix of a failed login (never the password itself)."""
    env = os.environ if env is None else env
    variable = password_variable(settings, "imap")
    if env.get(variable):
        return f"the environment variable {variable}"
    if settings.password is not None:
        return f"[imap] password (or set the environment variable {variable})"
    return f"the environment variable {variable} (it is not set)"


def error_text(exc: BaseException) -> str:
    """The server's words: imaplib reports them as a bytes repr ("b'[AUTHENTICATIONFAILED] ...'")."""
    text = str(exc)
    if _BYTES_REPR.fullmatch(text):
        with contextlib.suppress(ValueError, SyntaxError):
            value = ast.literal_eval(text)
            if isinstance(value, bytes):
                return value.decode("utf-8", "replace")
    return text or type(exc).__name__


def _idle(client: IMAPClient, seconds: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + seconds
    client.idle()
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            responses = client.idle_check(timeout=min(1.0, max(0.05, deadline - time.monotonic())))
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                break
    finally:
        client.idle_done()
    return True


def _known_uids(
    session: Session, mailbox: str, folder: str, uidvalidity: int | None, uids: Iterable[int]
) -> dict[int, bool]:
    """uid -> whether its row is terminal, for the given uids that are stored under this UIDVALIDITY
    (asked in pieces: an inbox of any size, in statements of a fixed size)."""
    known: dict[int, bool] = {}
    for chunk in in_chunks(sorted(uids)):
        rows = session.execute(
            select(InboundMail.uid, InboundMail.state).where(
                InboundMail.mailbox == mailbox,
                InboundMail.folder == folder,
                InboundMail.uidvalidity == uidvalidity,
                InboundMail.uid.in_(chunk),
            )
        )
        known.update(
            {int(uid): state in (InboundState.DONE, InboundState.QUARANTINED) for uid, state in rows}
        )
    return known


def _aware(value: Any) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _as_too_large(data: dict[bytes, Any], limit: int) -> dict[bytes, Any]:
    """A header-only fetch in the shape of a full one, marked for quarantine at ingest."""
    size = int(data.get(b"RFC822.SIZE", 0))
    return {
        b"BODY[]": bytes(data.get(b"BODY[HEADER]", b"")),
        b"INTERNALDATE": data.get(b"INTERNALDATE"),
        b"X-SIZE": size,
        b"X-TOO-LARGE": too_large_reason(size, limit),
    }
