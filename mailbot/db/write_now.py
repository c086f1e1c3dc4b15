"""Write one ORM object's row at once, without a flush, and keep the object as loaded.

`insert_now` writes a new object's row, `update_now` a loaded object's changes. A decision's new
rows (its ticket, its outbox mail) are needed by id right away, or written with the next flush at
~0.15-0.5 ms of unit-of-work bookkeeping each (issue 13); a Core INSERT ... RETURNING of the one row
costs a fraction of that. The object is then attached as if read from the database:
later changes to it are UPDATEs at the next flush, as for any loaded row. The one change every
decision makes to a loaded row (the inbound mail's outcome) cost ~0.4 ms as a flush when the mail's
savepoint ended, a Core UPDATE of the changed columns a fraction of that.

What the ORM does for the rows it wrote itself is done here too: when the savepoint or transaction
the row was written in rolls back, an inserted object leaves the session and an updated one is
expired (`_forget_rolled_back`). Else an inserted object would stay in the identity map without its
row (SQLite, which hands out the same id again, would give the next new row an id the session
already holds), and an updated one would keep values its row no longer has.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import Column, Insert, Update, bindparam, event, insert, inspect, update
from sqlalchemy.orm import Mapper, Session, SessionTransaction, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from mailbot.db.reads import flush_new

Row = TypeVar("Row")
_UNSET = object()
_WRITTEN = "mailbot.write_now"  # session.info: [(object, inserted?, the transactions it was written in)]


@dataclass(frozen=True)
class _Plan:
    """How to write one mapped class's row: its INSERT, its key, and per column what a flush writes
    when the object does not set it (the Python default, or NULL; `_UNSET`: the server decides)."""

    statement: Insert  # one row, its key returned
    many: Insert  # many rows, no key returned
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
    new_id = session.connection().execute(plan.statement, _values(plan, obj)).scalar_one()
    setattr(obj, plan.key_attribute, new_id)
    make_transient_to_detached(obj)
    session.add(obj)
    _remember(session, obj, inserted=True)
    return obj


def insert_all_now(session: Session, objects: Sequence[object]) -> None:
    """INSERT the rows of `objects` (transient, one mapped class, primary keys left to the database)
    in one executemany in the session's transaction, as `insert_now` would write each. Their ids are
    not read and the objects stay outside the session: for rows nothing in the transaction reads back
    as objects (a batch's outbox mail, mailbot.reply.compose_pool). Raises what the INSERT raises."""
    if not objects:
        return
    flush_new(session)
    plan = _plan(inspect(objects[0]).mapper)
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}  # one executemany per set of columns
    for obj in objects:
        values = _values(plan, obj)
        groups.setdefault(tuple(values), []).append(values)
    connection = session.connection()
    for rows in groups.values():
        connection.execute(plan.many, rows)


def _values(plan: _Plan, obj: object) -> dict[str, Any]:
    """The row of `obj` as a flush would write it; a column it does not set gets its default, on the
    object too (a column the server fills is left out)."""
    loaded = obj.__dict__
    values: dict[str, Any] = {}
    for attribute, column, default in plan.columns:
        value = loaded.get(attribute, default)
        if value is _UNSET:
            continue
        if attribute not in loaded:
            setattr(obj, attribute, value)
        values[column] = value
    return values


def update_now(session: Session, obj: object) -> None:
    """UPDATE the columns of `obj` (loaded in `session`) changed since it was loaded, by its primary
    key, in the session's transaction; they then count as loaded, so no flush writes them again.
    New objects waiting in the session are flushed first (a row this one names), as an autoflush
    would. Nothing to write: no statement. Raises what the UPDATE raises."""
    state = inspect(obj)
    mapper = state.mapper
    changed = tuple(sorted(key for key in state.committed_state if key in _column_keys(mapper)))
    if not changed:
        return
    flush_new(session)
    loaded = obj.__dict__
    key_attribute, statement = _update_plan(mapper, changed)
    values = {f"new_{key}": loaded[key] for key in changed}
    values["key_"] = loaded[key_attribute]
    session.connection().execute(statement, values)
    for key in changed:
        set_committed_value(obj, key, loaded[key])
    if not state.committed_state:
        # nothing else waits to be written: clean, as after a flush (still marked modified, the
        # next flush would look at it for nothing: a third of what the flush cost)
        state._commit_all(loaded, session.identity_map)
    _remember(session, obj, inserted=False)


@functools.cache
def _column_keys(mapper: Mapper[Any]) -> frozenset[str]:
    return frozenset(prop.key for prop in mapper.column_attrs if not prop.columns[0].primary_key)


@functools.cache
def _update_plan(mapper: Mapper[Any], changed: tuple[str, ...]) -> tuple[str, Update]:
    """Built once per set of changed columns: building a statement costs more than running it."""
    (key_column,) = mapper.primary_key
    new_values = {}
    for attribute in changed:
        column: Column[Any] = mapper.get_property(attribute).columns[0]  # type: ignore[attr-defined]
        new_values[column.key] = bindparam(f"new_{attribute}", type_=column.type)
    statement = (
        update(mapper.local_table)
        .where(key_column == bindparam("key_", type_=key_column.type))
        .values(new_values)
    )
    return mapper.get_property_by_column(key_column).key, statement


def _remember(session: Session, obj: object, *, inserted: bool) -> None:
    written = session.info.get(_WRITTEN)
    if written is None:
        written = session.info[_WRITTEN] = []
        event.listen(session, "after_soft_rollback", _forget_rolled_back)
    transaction: SessionTransaction | None = session.get_nested_transaction() or session.get_transaction()
    within = set()
    while transaction is not None:
        within.add(transaction)
        transaction = transaction.parent
    written.append((obj, inserted, within))


def _forget_rolled_back(session: Session, previous_transaction: SessionTransaction) -> None:
    """Objects inserted within the transaction that just rolled back leave the session; objects
    updated within it are expired (read again when next used)."""
    written = session.info.get(_WRITTEN, [])
    kept = []
    for obj, inserted, within in written:
        if previous_transaction not in within:
            kept.append((obj, inserted, within))
        elif obj in session:
            if inserted:
                session.expunge(obj)
            else:
                session.expire(obj)
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
    many = insert(mapper.local_table)
    return _Plan(many.returning(key), many, mapper.get_property_by_column(key).key, tuple(columns))
