"""Is the configured database mailbot's own and whole? Checked at every start, before any work.

A database that is not a SQLite file, is cut short, belongs to another program, was written by a newer
mailbot or lost tables or columns would otherwise fail deep inside a command with a traceback, or, worse,
be "upgraded" into something else. Each problem is one line (`DatabaseProblem`, a ConfigError, which
the CLI prints as such) naming the database and what to do. The checks are cheap: the SQLite header,
the table list, one indexed lookup per table; a full integrity check would read every stored mail.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.engine import make_url

from mailbot.db.migrate import MigrationFailed
from mailbot.db.schema import Base
from mailbot.errors import ConfigError

SQLITE_MAGIC = b"SQLite format 3\x00"
VERSION_TABLE = "alembic_version"
RESTORE = "restore it from a backup, or point [database] url (or MAILBOT_DATABASE_URL) at mailbot's database"


class DatabaseProblem(ConfigError):
    """The database cannot be used as it is; the message names it and says what to do."""


def database_name(url: str) -> str:
    """The database as people name it: the file of a SQLite URL, else the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.database or ":memory:"
    return parsed.render_as_string(hide_password=True)


def sqlite_file(url: str) -> Path | None:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


def check_file(url: str) -> None:
    """Before SQLite opens it: an existing, non-empty file must be a whole SQLite database.

    A missing or zero-byte file is a new database to SQLite and passes here; whether the mailbox says
    otherwise is for the start-up check of `mailbot run` (mailbot.app.refuse_new_database).
    """
    path = sqlite_file(url)
    if path is None or not path.exists():
        return
    if not path.is_file():
        raise DatabaseProblem(f"the database {path} is not a file; {RESTORE}")
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb") as handle:
        header = handle.read(100)
    problem = header_problem(header, size)
    if problem:
        raise DatabaseProblem(f"the database {path} {problem}; {RESTORE}")


def header_problem(header: bytes, size: int) -> str | None:
    """What is wrong with a SQLite file of `size` bytes that begins with `header`, or None.

    The header records the page size (offset 16) and, valid when its "version-valid-for" number
    (offset 92) equals the change counter (offset 24), the database's size in pages (offset 28):
    a file shorter than that was cut short (a full disk, a copy interrupted).
    """
    if not header.startswith(SQLITE_MAGIC):
        return "is not a SQLite database file"
    if len(header) < 100:
        return f"is cut short ({size} bytes, not even a whole header)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    if header[92:96] == header[24:28] and pages and size < pages * page_size:
        return f"is cut short ({size} bytes, its header says {pages * page_size})"
    return None


def check_before_upgrade(engine: Engine, url: str) -> None:
    """A database with tables but no schema version belongs to another program: never migrate it.

    A SQLite file is looked at read-only, before mailbot's connection settings (WAL) could change it.
    """
    name = database_name(url)
    tables = _sqlite_tables(url) if sqlite_file(url) is not None else set(inspect(engine).get_table_names())
    if tables and VERSION_TABLE not in tables:
        shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
        raise DatabaseProblem(
            f"the database {name} holds tables of another program ({shown}) and no mailbot schema version; "
            f"point [database] url (or MAILBOT_DATABASE_URL) at mailbot's own database"
        )


def _sqlite_tables(url: str) -> set[str]:
    path = sqlite_file(url)
    if path is None or not path.exists() or path.stat().st_size == 0:
        return set()
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as connection:
            rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error as exc:
        raise DatabaseProblem(problem_line(str(path), exc)) from None
    return {str(row[0]) for row in rows}


def check_after_upgrade(engine: Engine, name: str) -> None:
    """Every table and column of schema.py is there, and each table's index can be read."""
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            raise DatabaseProblem(f"the database {name} lacks the table {table.name}; {RESTORE}")
        present = {column["name"] for column in inspector.get_columns(table.name)}
        missing = sorted(column.name for column in table.columns if column.name not in present)
        if missing:
            raise DatabaseProblem(
                f"the database {name} lacks the column(s) {', '.join(missing)} of {table.name}; {RESTORE}"
            )
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:  # the rightmost path of each primary-key b-tree
            connection.execute(select(func.max(next(iter(table.primary_key.columns)))))


def problem_line(name: str, exc: BaseException) -> str:
    """One line for an error met while opening or migrating the database."""
    if isinstance(exc, MigrationFailed) and "Can't locate revision" in str(exc):
        return (
            f"the database {name} has a schema version this mailbot does not know ({first_line(exc)}): "
            "it was written by a newer mailbot (install that one) or by another program; "
            f"{RESTORE}"
        )
    text = first_line(exc)
    if "malformed" in text or "not a database" in text:
        return f"the database {name} is damaged ({text}); {RESTORE}"
    return (
        f"the database {name} cannot be used: {text}; check [database] url and that the database is reachable"
    )


def first_line(exc: BaseException) -> str:
    """The driver's own message without SQLAlchemy's SQL echo and background link."""
    cause = getattr(exc, "orig", None) or exc
    lines = str(cause).strip().splitlines()
    return lines[0][:300] if lines else type(cause).__name__
