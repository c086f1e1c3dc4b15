"""Random ticket references drawn ahead for a batch of decisions, checked in one query.

A random reference is checked against the mailbox's tickets before its ticket is written
(`tickets.service.new_reference`): one indexed look-up per new ticket. On PostgreSQL that is one
round trip per decided mail, as many as the ticket's INSERT (issue 13: a fleet worker's profile,
bench/README.md, session 26). While a batch is decided in one transaction
(`pipeline.process._decide_together`), as many numbers as the batch has mails are drawn at once
and the taken ones found in one query; each new ticket of the batch takes the next free one.
Outside a batch (a mail decided alone, the CLI, the reviews' tickets) the same function draws and
checks one number at a time.

What guards a reference is unchanged: a number drawn ahead and found free can still be taken by
another worker's commit before this batch commits, as between a single look-up and its INSERT; the
unique key on (mailbox, reference) then fails the batch, and its mails are decided again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from mailbot.db.reads import read_rows
from mailbot.db.schema import Ticket

_AHEAD = "mailbot.references_ahead"  # session.info: how many to draw at once, while a batch is decided
_FREE = "mailbot.references_free"  # session.info, in a batch: {mailbox: free references, the next last}


@contextmanager
def references_drawn_ahead(session: Session, count: int) -> Iterator[None]:
    """While the block runs, random references for `session`'s new tickets are drawn `count` at a
    time (the batch's mails); the ones left over are forgotten at its end."""
    session.info[_AHEAD], session.info[_FREE] = count, {}
    try:
        yield
    finally:
        session.info.pop(_AHEAD, None)
        session.info.pop(_FREE, None)


def draw_count(session: Session) -> int:
    """How many references `new_reference` should draw at once: 1 outside a batch."""
    count: int = session.info.get(_AHEAD, 1)
    return count


def next_free(session: Session, mailbox: str, draws: int, make: Callable[[], str]) -> str | None:
    """A reference no ticket of the mailbox has; `make` draws one. Draws `draw_count` at a time,
    checked in one query, at most `draws` times; None if all were taken. In a batch, the free ones
    left over wait for its next tickets; outside one, one number is drawn and checked at a time."""
    pools: dict[str, list[str]] | None = session.info.get(_FREE)
    free = pools.setdefault(mailbox, []) if pools is not None else []
    count = draw_count(session)
    for _ in range(draws):
        if free:
            return free.pop()
        drawn = list(dict.fromkeys(make() for _ in range(count)))  # a number drawn twice is one
        taken = {row[0] for row in read_rows(session, _TAKEN, {"mailbox": mailbox, "references": drawn})}
        free.extend(reference for reference in reversed(drawn) if reference not in taken)
    return free.pop() if free else None


# Built once: building a statement costs more than running it (issue 13)
_TAKEN = select(Ticket.reference).where(
    Ticket.mailbox == bindparam("mailbox"), Ticket.reference.in_(bindparam("references", expanding=True))
)
