"""Engine and session factory: SQLite (WAL) embedded by default, PostgreSQL when workers share the load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db import health
from mailbot.db.migrate import MigrationFailed, upgrade


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, hide_parameters=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # hide_parameters: a database error's message would otherwise carry the statement's values (a mail's
    # subject, text, addresses) into the log and the stored last error (issue 15)
    engine = create_engine(url, connect_args={"timeout": 30}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets `mailbot status` read while the worker writes; foreign keys are off by default in SQLite.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # what an erasure or retention overwrites is zeroed in the file, not left in free space (issue 15)
        cursor.execute("PRAGMA secure_delete=ON")
        # statement journals and sorts in memory, not in files under /var/tmp: a batch's multi-row
        # statements made and deleted one such file each, with page images of customer mail in it
        # (issue 13: ~200 page writes per file and a file every ~45 mails; issue 15)
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()

    return engine


def release_erased_pages(engine: Engine) -> bool:
    """After personal data was erased: on SQLite, copy the WAL into the database and empty it, so the
    old page images holding the data leave the disk too (with secure_delete the database's own free
    space is zeroed). Best effort: a reader that holds the WAL makes it wait for the next call; True
    when done. PostgreSQL keeps old row versions until VACUUM reuses their space (docs/privacy.md)."""
    if engine.dialect.name != "sqlite":
        return False
    with engine.connect() as connection:
        busy, _log, _done = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    return not busy


def open_engine(url: str) -> Engine:
    """The engine of mailbot's database, checked and migrated to the newest schema (mailbot.db.health):
    a database that is not mailbot's, not whole or not reachable is one DatabaseProblem line naming it
    and what to do, never a traceback, and is never migrated."""
    name = health.database_name(url)
    health.check_file(url)
    try:
        engine = make_engine(url)
    except (SQLAlchemyError, OSError) as exc:
        raise health.DatabaseProblem(health.problem_line(name, exc)) from None
    try:
        health.check_before_upgrade(engine, url)
        upgrade(engine)
        health.check_after_upgrade(engine, name)
    except health.DatabaseProblem:
        engine.dispose()
        raise
    except (SQLAlchemyError, MigrationFailed, OSError) as exc:
        engine.dispose()
        raise health.DatabaseProblem(health.problem_line(name, exc)) from None
    return engine


def begin_write(session: Session) -> None:
    """Start the session's transaction as a write transaction, before its first statement.

    Why: pysqlite (Python < 3.12) sends BEGIN only before an INSERT, UPDATE or DELETE; a SAVEPOINT
    sent before that opens SQLite's transaction itself, and its RELEASE commits at once, so the
    savepoints of a batch would commit mail by mail instead of with the batch. BEGIN IMMEDIATE also
    takes SQLite's write lock up front (waiting up to the busy timeout), so the transaction never
    fails later for having read a snapshot another writer has since changed. PostgreSQL begins
    properly by itself: nothing to do.
    """
    connection = session.connection()
    if connection.dialect.name == "sqlite" and not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
