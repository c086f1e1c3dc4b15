"""Small reads on the session's connection, past the ORM layer, for the queries a decision runs per mail.

`Session.scalar` / `Session.execute` of a statement that reads columns (not whole objects) cost about
twice the query itself on SQLite (34 against 18 µs for an indexed look-up, 240 against 175 µs for
incident grouping's 50 candidate rows; issue 13): the autoflush, the ORM's compile state and its
result wrapping. A decision runs five or more such reads. These run the same statement on the
session's connection, in its transaction.

What they leave out of the autoflush: rows of objects merely changed in the session are not written
first. New objects are (`session.new`): a query must see the rows a caller added and has not flushed
(a ticket, an outbox row). Callers read only what does not change after it is written (references,
addresses and times of mail sent), which every decision writes at once (`db.write_now`) or flushes
when it ends (pipeline.process: after each mail of a batch, or as a mail decided alone leaves its
savepoint).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable, Row
from sqlalchemy.orm import Session


def read_scalar(session: Session, statement: Executable, params: Mapping[str, Any]) -> Any:
    """The first column of the first row, or None."""
    return _run(session, statement, params).scalar()


def read_rows(session: Session, statement: Executable, params: Mapping[str, Any]) -> Sequence[Row[Any]]:
    return _run(session, statement, params).all()


def flush_new(session: Session) -> None:
    """Before a statement on the session's connection: the new objects the session holds are written
    (rows it may read or name), the changed ones are not (see the module's docstring)."""
    if session.new:
        session.flush()


def _run(session: Session, statement: Executable, params: Mapping[str, Any]) -> Any:
    flush_new(session)
    return session.connection().execute(statement, params)
