"""A batch's outgoing mail composed in the deciding thread and written in one INSERT before the commit.

Why: a pass without a compose process (a fleet worker's watch sessions, `run` on IDLE) wrote each
outgoing row with an INSERT of its own as it was queued. On PostgreSQL every statement is a round
trip to the server, and those INSERTs were the largest part of a fleet worker's deciding (issue 13,
bench/README.md, session 26). The rows now wait unwritten, as a compose process's do
(mailbot.reply.compose_pool), and reads of the outbox in between see them through
mailbot.reply.pending_outbox. The bytes are built at once, so a template's failure fails its mail
where it happens, as before.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from mailbot.db.schema import OutboxMail
from mailbot.db.write_now import insert_all_now
from mailbot.reply.outbox import Composer, Outgoing, Sender, compose_outgoing
from mailbot.reply.pending_outbox import PendingRows, Seen
from mailbot.reply.render import TemplateRenderer


class BatchComposer(Composer, PendingRows, Protocol):
    """What deciding a batch needs of whoever composes its outgoing mail (this module, or the compose
    process of mailbot.reply.compose_pool)."""

    @property
    def running(self) -> bool: ...

    def mark(self) -> int: ...

    def forget_from(self, mark: int) -> None: ...

    def collect(self, session: Session) -> None: ...


class WaitingRows(ABC):
    """The rows a batch queued and has not written yet, numbered as queued; what both composers share.
    Each writes them in its own `collect`."""

    def __init__(self, renderer: TemplateRenderer) -> None:
        self.renderer = renderer
        self._pending: dict[int, OutboxMail] = {}  # number -> the row, in the order queued
        self._numbered = 0

    def _wait(self, row: OutboxMail) -> None:
        self._numbered += 1
        self._pending[self._numbered] = row

    def mark(self) -> int:
        """Where the rows of the next mail begin (see `forget_from`)."""
        return self._numbered

    def forget_from(self, mark: int) -> None:
        """The rows queued after `mark` were rolled back with their mail: they are not written."""
        for number in [number for number in self._pending if number > mark]:
            del self._pending[number]

    def write_if(self, session: Session, seen: Seen) -> None:
        """Write the waiting rows now if a read is about to look for one of them."""
        if any(seen(row) for row in self._pending.values()):
            self.collect(session)

    @abstractmethod
    def collect(self, session: Session) -> None:
        """Write the waiting rows in `session`'s transaction."""


class ComposeHere(WaitingRows):
    """Composes each mail when it is queued; `collect` writes the waiting rows before the commit."""

    running = True

    def compose(self, row: OutboxMail, sender: Sender, item: Outgoing, now: datetime) -> bool:
        row.subject, row.raw = compose_outgoing(self.renderer, sender, item, row.message_id, now, to=True)
        self._wait(row)
        return True

    def collect(self, session: Session) -> None:
        """Every waiting row, in one INSERT in `session`'s transaction."""
        if self._pending:
            rows, self._pending = list(self._pending.values()), {}
            insert_all_now(session, rows)
