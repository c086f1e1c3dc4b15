"""The Maildir mail source: a local MTA (Postfix, Dovecot LDA, fetchmail...) delivers into a Maildir.

Mail in `new/` and `cur/` is stored, then moved into the Maildir++ sub-folders `.Processed` or
`.Quarantine` once decided, as the IMAP source moves it on the server. The SLA clock starts at the
delivery time (the file's modification time, set when the MTA wrote it).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock
from mailbot.config import MaildirSettings
from mailbot.db.schema import InboundMail
from mailbot.ingest.source import FinalPlace, final_place, pending_finalisation
from mailbot.ingest.store import FetchedMail, store_mail, too_large_reason

log = logging.getLogger(__name__)
FOLDER = "INBOX"


def maildir_key(filename: str) -> str:
    """The unique part of a Maildir file name, without the ':2,flags' info that changes with flags."""
    return filename.split(":", 1)[0]


def ensure_maildir(path: Path) -> None:
    for sub in ("new", "cur", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)


class MaildirSource:
    def __init__(
        self,
        settings: MaildirSettings,
        mailbox: str,
        sessions: sessionmaker[Session],
        clock: Clock,
        max_bytes: int = 25_000_000,
    ) -> None:
        self.max_bytes = max_bytes
        self.settings = settings
        self.mailbox = mailbox
        self.sessions = sessions
        self.clock = clock
        self.root = settings.path
        ensure_maildir(self.root)

    @property
    def name(self) -> str:
        return f"maildir:{self.root}"

    def _files(self) -> dict[str, Path]:
        files: dict[str, Path] = {}
        for sub in ("new", "cur"):
            with os.scandir(self.root / sub) as entries:
                for entry in entries:
                    if entry.is_file() and not entry.name.startswith("."):
                        files[maildir_key(entry.name)] = Path(entry.path)
        return files

    def fetch_new(self) -> int:
        files = self._files()
        if not files:
            return 0
        now = self.clock()
        stored = 0
        duplicates: list[Path] = []
        with self.sessions.begin() as session:
            keys = {f"maildir:{key}": path for key, path in files.items()}
            known = set(
                session.scalars(
                    select(InboundMail.source_key).where(
                        InboundMail.mailbox == self.mailbox, InboundMail.source_key.in_(list(keys))
                    )
                )
            )
            for source_key, path in sorted(keys.items(), key=lambda item: _mtime(item[1])):
                if source_key in known:
                    continue
                try:
                    mail = self._read(source_key, path)
                except FileNotFoundError:  # moved away by someone else meanwhile
                    continue
                if store_mail(session, self.mailbox, mail, now) is None:
                    duplicates.append(path)
                else:
                    stored += 1
        for path in duplicates:  # only after the commit: never move what is not safely stored
            self._move(path, self.settings.processed_folder)
        return stored

    def _read(self, source_key: str, path: Path) -> FetchedMail:
        size = path.stat().st_size
        if size <= self.max_bytes:
            return FetchedMail(source_key, FOLDER, None, None, path.read_bytes(), _mtime(path))
        with path.open("rb") as file:  # only the header: a huge mail is never loaded whole
            header = b"".join(_header_lines(file))
        reason = too_large_reason(size, self.max_bytes)
        return FetchedMail(source_key, FOLDER, None, None, header, _mtime(path), size=size, too_large=reason)

    def finalize(self) -> int:
        files = self._files()
        with self.sessions.begin() as session:
            rows = pending_finalisation(session, self.mailbox, FOLDER)
            for row in rows:
                path = files.get(row.source_key.removeprefix("maildir:"))
                if path is not None:
                    place = final_place(row)
                    folder = (
                        self.settings.quarantine_folder
                        if place is FinalPlace.QUARANTINE
                        else self.settings.processed_folder
                    )
                    self._move(path, folder)
                row.source_done = True
            return len(rows)

    def _move(self, path: Path, folder: str) -> None:
        target = self.root / f".{folder}"
        ensure_maildir(target)
        name = path.name if ":2," in path.name else f"{path.name}:2,S"
        try:
            os.replace(path, target / "cur" / name)
        except FileNotFoundError:
            log.info("%s was already moved away", path)

    def wait(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def close(self) -> None:
        pass


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except FileNotFoundError:
        return datetime.now(UTC)


def _header_lines(file: BinaryIO, limit: int = 256_000) -> Iterator[bytes]:
    """Lines up to and including the blank line that ends the header (at most `limit` bytes)."""
    read = 0
    for line in file:
        yield line
        read += len(line)
        if line in (b"\n", b"\r\n") or read >= limit:
            return
