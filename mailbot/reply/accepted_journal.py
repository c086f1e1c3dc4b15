"""Outbox rows the SMTP server accepted, written down the moment it said 250, before the database knows.

Why: on SQLite the row is marked sent only when delivery next gets the database's one write lock,
which the process stage holds for a whole batch of decisions; a worker killed in between sent those
rows, but left them `sending`, and after their lease they went out a second time (bench/torture.py
crashes: 15-18 byte-identical re-sends in 20 kills). The journal is one line per accepted row id,
appended with a single `write` on a file opened for appending (on disk for every other process
the moment it returns, so a SIGKILL loses nothing); a row claimed again after its lease is marked
sent from it instead of being sent again. A crash of the whole machine can still lose the last
lines, as SQLite itself in `synchronous=NORMAL` can lose its last commits.

Only for SQLite: on PostgreSQL a row is marked sent without waiting for other writers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection, Iterable
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

COMPACT_BYTES = 1_000_000  # beyond this, the journal is cut down to the rows still `sending` at start


class AcceptedJournal:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._ids = self._read()

    @classmethod
    def beside(cls, database_url: str) -> AcceptedJournal | None:
        """The journal of an SQLite database file (`<file>.accepted`); None for any other database."""
        url = make_url(database_url)
        if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
            return None
        return cls(Path(f"{url.database}.accepted"))

    def _read(self) -> set[int]:
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return set()
        return {int(line) for line in text.split() if line.isdigit()}

    def record(self, row_id: int) -> None:
        self._ids.add(row_id)
        descriptor = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, f"{row_id}\n".encode("ascii"))
        finally:
            os.close(descriptor)

    def accepted(self, row_id: int) -> bool:
        return row_id in self._ids

    def forget(self, row_ids: Iterable[int]) -> None:
        """Rows marked sent in the database can never be claimed again: no need to keep them in memory
        (a worker that runs for months would otherwise hold every id it ever sent)."""
        self._ids.difference_update(row_ids)

    def grown(self) -> bool:
        """Beyond COMPACT_BYTES: time to cut the file down (`compact`)."""
        try:
            return self.path.stat().st_size > COMPACT_BYTES
        except FileNotFoundError:
            return False

    def compact(self, still_sending: Collection[int]) -> None:
        """Keep only the rows still `sending` (the only ones that can be claimed again). Called when a
        deliverer starts, before it sends anything, once the file has `grown()`."""
        self._ids &= set(still_sending)
        kept = self.path.with_name(self.path.name + ".new")
        kept.write_text("".join(f"{row_id}\n" for row_id in sorted(self._ids)), encoding="ascii")
        os.replace(kept, self.path)
        log.info("accepted journal %s cut down to the %d rows still sending", self.path, len(self._ids))
