"""Write one new ORM object's row at once, without a flush, and keep the object as loaded.

A decision's new rows (its ticket, its outbox mail) are needed by id right away, or written with the
next flush at ~0.15-0.5 ms of unit-of-work bookkeeping each (issue 13); a Core INSERT ... RETURNING
of the one row costs a fraction of that. The object is then attached as if read from the database:
later changes to it are UPDATEs at the next flush, as for any loaded row.

What the ORM does for the rows it inserted itself is done here too: when the savepoint or transaction
the row was written in rolls back, the object leaves the session (`_forget_rolled_back`). Else it
would stay in the identity map without its row, and SQLite, which hands out the same id again,
would give the next new row an id the session already holds.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, Insert, event, insert, inspect
from sqlalchemy.orm import Mapper, Session, SessionTransaction, make_transient_to_detached

from mailbot.db.reads import flush_new

Row = TypeVar("Row")
_UNSET = object()
_WRITTEN = "mailbot.insert_now"  # session.info: [(object, the transactions it was written in)]


@dataclass(frozen=True)
class _Plan:
    """How to write one mapped class's row: its INSERT, its key, and per column what a flush writes
    when the object does not set it (the Python default, or NULL; `_UNSET`: the server decides)."""

    statement: Insert
    key_attribute: str
    columns: tuple[tuple[str, str, object], ...]  # (attribute, column, value when not set)


def insert_now(session: Session, obj: Row) -> Row:
    """INSERT `obj` (transient, its primary key left to the database) in the session's transaction
    and return it persistent in `session`. Columns it does not set get their Python default, else
    NULL, as a flush would write them; a column with only a server default is read when first used.
    New objects waiting in the session are flushed first (a ticket this row names), as an autoflush
    would; nothing else is. Raises what the INSERT raises (a unique key, a foreign key)."""
    flush_new(session)
    plan = _plan(inspect(obj).mapper)
    loaded = obj.__dict__
    values: dict[str, Any] = {}
    for attribute, column, default in plan.columns:
        value = loaded.get(attribute, default)
        if value is _UNSET:
            continue
        if attribute not in loaded:
            setattr(obj, attribute, value)
        values[column] = value
    new_id = session.connection().execute(plan.statement, values).scalar_one()
    setattr(obj, plan.key_attribute, new_id)
    make_transient_to_detached(obj)
    session.add(obj)
    _remember(session, obj)
    return obj


def _remember(session: Session, obj: object) -> None:
    written = session.info.get(_WRITTEN)
    if written is None:
        written = session.info[_WRITTEN] = []
        event.listen(session, "after_soft_rollback", _forget_rolled_back)
    transaction: SessionTransaction | None = session.get_nested_transaction() or session.get_transaction()
    within = set()
    while transaction is not None:
        within.add(transaction)
        transaction = transaction.parent
    written.append((obj, within))


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Objects written within the transaction that just rolled back leave the session."""
    written = session.info.get(_WRITTEN, [])
    kept = []
    for obj, within in written:
        if previous_transaction not in within:
            kept.append((obj, within))
        elif obj in session:
            session.expunge(obj)
    written[:] = kept


@functools.cache
def _plan(mapper: Mapper[Any]) -> _Plan:
    (key,) = mapper.primary_key
    columns = []
    for prop in mapper.column_attrs:
        column: Column[Any] = prop.columns[0]  # type: ignore[assignment]
        if column.primary_key:
            continue
        if column.default is not None and column.default.is_scalar:
            default: object = column.default.arg
        elif column.default is None and column.server_default is None:
            default = None
        else:
            default = _UNSET  # computed by a callable or by the server: left to be read
        columns.append((prop.key, column.key, default))
    statement = insert(mapper.local_table).returning(key)
    return _Plan(statement, mapper.get_property_by_column(key).key, tuple(columns))
