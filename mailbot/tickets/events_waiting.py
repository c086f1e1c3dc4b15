"""A batch's ticket events, written in one INSERT before its commit.

Each decision wrote its events in one INSERT at its end (`pipeline.effects._Effects.write_events`):
on PostgreSQL a round trip per decided mail (issue 13: 948 of a fleet worker's 6,484 statements on
a 1,000-mail burst). Nothing a decision reads is an event, so while a batch is decided in one
transaction (`pipeline.process._decide_together`) they wait here and are written together at its end.

A ticket's history is read in the order its events were written (their ids): an event added another
way (`tickets.service.add_event`, through the ORM) first writes what waits, so it comes after them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from mailbot.db.reads import flush_new
from mailbot.db.schema import TicketEvent

_KEY = "mailbot.events_waiting"  # session.info: the batch's events not written yet, in order
_INSERT = insert(TicketEvent.__table__)


@contextmanager
def events_waiting(session: Session) -> Iterator[None]:
    """While the block runs, decisions' events wait (`keep_or_write`); at its end they are written,
    unless it raised (the batch's transaction then rolls back)."""
    session.info[_KEY] = []
    try:
        yield
        write_waiting(session)
    finally:
        session.info.pop(_KEY, None)


def keep_or_write(session: Session, rows: list[dict[str, Any]]) -> None:
    """A decision's events at its end: kept while a batch is decided, else written now."""
    waiting: list[dict[str, Any]] | None = session.info.get(_KEY)
    if waiting is None:
        write_waiting(session, rows)
    else:
        waiting.extend(rows)


def write_waiting(session: Session, more: Iterable[dict[str, Any]] = ()) -> None:
    """What waits, then `more`, written now in one INSERT (in the session's transaction). New objects
    are flushed first (`flush_new`): a ticket not yet written exists when an event names it."""
    waiting: list[dict[str, Any]] | None = session.info.get(_KEY)
    rows = [*(waiting or ()), *more]
    if waiting:
        waiting.clear()
    if rows:
        flush_new(session)
        session.connection().execute(_INSERT, rows)
