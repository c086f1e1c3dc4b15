"""What every mail source (IMAP, Maildir) offers the worker, and where finished mail goes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState


class MailSource(Protocol):
    @property
    def name(self) -> str: ...

    def fetch_new(self) -> int:
        """Store new mail (committed) and return how many rows were added."""
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


def final_place(row: InboundMail) -> FinalPlace:
    return FinalPlace.QUARANTINE if row.state == InboundState.QUARANTINED else FinalPlace.PROCESSED


def pending_finalisation(session: Session, mailbox: str, folder: str) -> Sequence[InboundMail]:
    """Rows that are decided but whose mail still sits in the source folder."""
    return session.scalars(
        select(InboundMail)
        .where(
            InboundMail.mailbox == mailbox,
            InboundMail.folder == folder,
            InboundMail.state.in_(TERMINAL_STATES),
            InboundMail.source_done.is_(False),
        )
        .order_by(InboundMail.id)
    ).all()
