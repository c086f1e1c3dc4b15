"""The Maildir mail source: a local MTA (Postfix, Dovecot LDA, fetchmail...) delivers into a Maildir.

Mail in `new/` and `cur/` is stored, then moved into the Maildir++ sub-folders `.Processed` or
`.Quarantine` once decided, as the IMAP source moves it on the server. The SLA clock starts at the
delivery time (the file's modification time, set when the MTA wrote it).
"""

from __future__ import annotations

import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.clock import Clock
from mailbot.config import MaildirSettings
from mailbot.db.engine import begin_write
from mailbot.db.schema import InboundMail
from mailbot.ingest.source import FinalPlace, final_place, mark_source_done, pending_finalisation
from mailbot.ingest.store import FetchedMail, store_mail, too_large_reason

log = logging.getLogger(__name__)
FOLDER = "INBOX"


def maildir_key(filename: str) -> str:
    """The unique part of a Maildir file name, without the ':2,flags' info that changes with flags."""
    return filename.split(":", 1)[0]


def safe_key(unique: str) -> str:
    """The unique part as a key the database can store: bytes that are not UTF-8 escaped as %XX."""
    raw = os.fsencode(unique)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if 0x21 <= b < 0x7F and b != 0x25 else f"%{b:02X}" for b in raw)


def _printable(path: str) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")


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
        self._reported: set[str] = set()
        ensure_maildir(self.root)

    @property
    def name(self) -> str:
        return f"maildir:{self.root}"

    def _files(self) -> list[_File]:
        """The regular files in new/ and cur/, sorted by name.

        Symbolic links and anything else that is not a regular file are never followed or read (a
        link could point at /proc/self/environ or another user's file). A name that is not UTF-8 gets
        a key with its bytes escaped. A file that cannot be examined is reported and left alone.
        """
        files: list[_File] = []
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self.root / sub))
            except OSError as exc:
                log.error("cannot list %s: %s", self.root / sub, exc)
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    regular = entry.is_file(follow_symlinks=False)
                    inode = entry.inode()
                except OSError as exc:
                    self._report(entry.path, f"cannot be examined: {exc}")
                    continue
                if not regular:
                    self._report(entry.path, "is not a regular file (a link or a device): not read")
                    continue
                files.append(_File(safe_key(maildir_key(entry.name)), inode, Path(entry.path)))
        return sorted(files, key=lambda file: file.path.name)

    def _source_keys(self, session: Session, files: list[_File]) -> dict[str, _File]:
        """Source key -> file. The unique part is the key, unless another file (another inode) owns
        it, in the database or earlier in this listing: then `<key>.i<inode>`, so that two files with
        the same unique part are both taken, each under a key that stays the same from pass to pass
        (the inode is stored as the row's uid; renames keep it)."""
        plain = [f"maildir:{file.key}" for file in files]
        owners: dict[str, int | None] = {}
        for chunk in range(0, len(plain), 500):
            rows = session.execute(
                select(InboundMail.source_key, InboundMail.uid).where(
                    InboundMail.mailbox == self.mailbox,
                    InboundMail.source_key.in_(plain[chunk : chunk + 500]),
                )
            )
            owners.update((key, uid) for key, uid in rows)
        keyed: dict[str, _File] = {}
        for file in files:
            key = f"maildir:{file.key}"
            owner = owners.get(key, file.inode)
            if (owner is not None and owner != file.inode) or (
                key in keyed and keyed[key].inode != file.inode
            ):
                key = f"{key}.i{file.inode}"
            keyed[key] = file
        return keyed

    def _report(self, path: str, problem: str) -> None:
        """Log a file that cannot be taken, once per file and process (it is looked at every pass)."""
        if path not in self._reported:
            self._reported.add(path)
            log.warning("Maildir file %s %s; the other mail is taken as usual", _printable(path), problem)

    def fetch_new(self, on_found: Callable[[int], None] | None = None) -> int:
        files = self._files()
        if not files:
            return 0
        if on_found is not None:
            on_found(len(files))  # stored ones too: a file leaves the folder when its mail is finalised
        now = self.clock()
        stored = 0
        duplicates: list[Path] = []
        with self.sessions.begin() as session:
            begin_write(session)  # store_mail's savepoints commit with the batch, not one by one
            keyed = self._source_keys(session, files)
            known = set(
                session.scalars(
                    select(InboundMail.source_key).where(
                        InboundMail.mailbox == self.mailbox, InboundMail.source_key.in_(list(keyed))
                    )
                )
            )
            for source_key, file in sorted(keyed.items(), key=lambda item: _mtime(item[1].path)):
                if source_key in known:
                    continue
                path = file.path
                try:
                    mail = self._read(source_key, file)
                except FileNotFoundError:  # moved away by someone else meanwhile
                    continue
                except OSError as exc:  # unreadable, or replaced by a link meanwhile: this file only
                    self._report(str(path), f"cannot be read: {exc.strerror or exc}")
                    continue
                if store_mail(session, self.mailbox, mail, now) is None:
                    duplicates.append(path)
                else:
                    stored += 1
        for path in duplicates:  # only after the commit: never move what is not safely stored
            self._move(path, self.settings.processed_folder)
        return stored

    def _read(self, source_key: str, file_entry: _File) -> FetchedMail:
        """The file's bytes (or only its header when too large), opened without following links."""
        path, inode = file_entry.path, file_entry.inode
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise OSError(f"{path} is not a regular file")
            delivered = min(datetime.fromtimestamp(info.st_mtime, UTC), self.clock())  # never in the future
            if info.st_size <= self.max_bytes:
                return FetchedMail(source_key, FOLDER, None, inode, file.read(), delivered)
            header = b"".join(_header_lines(file))  # only the header: a huge mail is never loaded whole
        reason = too_large_reason(info.st_size, self.max_bytes)
        return FetchedMail(
            source_key, FOLDER, None, inode, header, delivered, size=info.st_size, too_large=reason
        )

    def finalize(self) -> int:
        with self.sessions.begin() as session:
            rows = pending_finalisation(session, self.mailbox, FOLDER)
            keyed = self._source_keys(session, self._files()) if rows else {}
            for row in rows:
                found = keyed.get(row.source_key)
                if found is not None:
                    path = found.path
                    place = final_place(row)
                    folder = (
                        self.settings.quarantine_folder
                        if place is FinalPlace.QUARANTINE
                        else self.settings.processed_folder
                    )
                    self._move(path, folder)
            mark_source_done(session, [row.id for row in rows])
            return len(rows)

    def _move(self, path: Path, folder: str) -> None:
        target = self.root / f".{folder}"
        ensure_maildir(target)
        name = path.name if ":2," in path.name else f"{path.name}:2,S"
        try:
            os.replace(path, target / "cur" / name)
        except FileNotFoundError:
            log.info("%s was already moved away", path)

    def processed_count(self) -> int:
        """How many mails the processed folder (`.Processed/cur` and `new`) holds."""
        folder = self.root / f".{self.settings.processed_folder}"
        count = 0
        for sub in ("cur", "new"):
            if (folder / sub).is_dir():
                with os.scandir(folder / sub) as entries:
                    count += sum(1 for entry in entries if not entry.name.startswith("."))
        return count

    def wait(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class _File:
    key: str  # the unique part of the name, escaped where it is not UTF-8
    inode: int
    path: Path


def _mtime(path: Path) -> datetime:
    try:
        return datetime.fromtimestamp(path.lstat().st_mtime, UTC)
    except OSError:
        return datetime.now(UTC)


def _header_lines(file: BinaryIO, limit: int = 256_000) -> Iterator[bytes]:
    """Lines up to and including the blank line that ends the header (at most `limit` bytes)."""
    read = 0
    for line in file:
        yield line
        read += len(line)
        if line in (b"\n", b"\r\n") or read >= limit:
            return
