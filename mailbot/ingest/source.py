"""What every mail source (IMAP, Maildir) offers the worker, and where finished mail goes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, Protocol

from sqlalchemy import Row, select, update
from sqlalchemy.orm import Session

from mailbot.db.chunks import in_chunks
from mailbot.db.schema import InboundMail, InboundState


class MailSource(Protocol):
    @property
    def name(self) -> str: ...

    def fetch_new(self, on_found: Callable[[int], None] | None = None) -> int:
        """Store new mail (committed) and return how many rows were added. `on_found(n)`: n mails
        are about to be read (before their bytes are; no database transaction is open then)."""
        ...

    def finalize(self) -> int:
        """Move mail whose row is terminal to its final folder; return how many rows were finished."""
        ...

    def processed_count(self) -> int:
        """How many mails the processed folder holds (mailbot.app.refuse_new_database)."""
        ...

    def wait(self, seconds: float, stop: threading.Event) -> None:
        """Block until new mail may be there, `seconds` pass or `stop` is set."""
        ...

    def close(self) -> None: ...


class FinalPlace(Enum):
    PROCESSED = "processed"
    QUARANTINE = "quarantine"


TERMINAL_STATES = (InboundState.DONE, InboundState.QUARANTINED)


class _Stated(Protocol):
    @property
    def state(self) -> str: ...


def final_place(row: _Stated) -> FinalPlace:
    return FinalPlace.QUARANTINE if row.state == InboundState.QUARANTINED else FinalPlace.PROCESSED


def pending_finalisation(session: Session, mailbox: str, folder: str) -> Sequence[Row[Any]]:
    """Rows that are decided but whose mail still sits in the source folder: only the columns that
    say where the mail is and where it goes. Whole rows (raw bytes, decision) of a 10,000-mail
    backlog at once raised the worker's peak RSS by 57 MB (bench/memory.py)."""
    return session.execute(
        select(
            InboundMail.id,
            InboundMail.source_key,
            InboundMail.uidvalidity,
            InboundMail.uid,
            InboundMail.message_id,
            InboundMail.state,
        )
        .where(
            InboundMail.mailbox == mailbox,
            InboundMail.folder == folder,
            InboundMail.state.in_(TERMINAL_STATES),
            InboundMail.source_done.is_(False),
        )
        .order_by(InboundMail.id)
    ).all()


def mark_source_done(session: Session, row_ids: Sequence[int]) -> None:
    """The rows' mail has left the source folder: in the caller's transaction, a few statements
    for any number of rows (one SELECT and one UPDATE per row before)."""
    for chunk in in_chunks(row_ids):
        session.execute(update(InboundMail).where(InboundMail.id.in_(chunk)).values(source_done=True))
