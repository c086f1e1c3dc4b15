"""The job engine of a fleet: Procrastinate on the fleet's own PostgreSQL database.

Chosen over Celery, Dramatiq, RQ, arq and Huey because it needs nothing beyond PostgreSQL (no Redis or
RabbitMQ for an agency to run), fetches jobs with FOR UPDATE SKIP LOCKED, has per-key locks (one
watcher per mailbox), queueing locks (at most one waiting job per key), worker heartbeats with
stalled-job lookup, and periodic jobs deferred once per period across all workers
(../shared/notes/clients-and-scale-out.md §2.2; branch fleet-spike measured the locks and the
periodic job on the suite's PostgreSQL).
"""

from __future__ import annotations

import psycopg
from procrastinate import App as EngineApp
from procrastinate import PsycopgConnector
from procrastinate.schema import SchemaManager
from sqlalchemy.engine import URL

from mailbot.errors import ConfigError

SCHEMA_LOCK = 0x6D61696C  # pg_advisory_lock key: two workers starting at once create the schema once


def engine_conninfo(url: URL) -> str:
    """The libpq address of the database SQLAlchemy uses; ConfigError for anything but PostgreSQL."""
    if url.get_backend_name() != "postgresql":
        raise ConfigError(
            f"run --fleet: the workers share their work through PostgreSQL, and this installation's "
            f"database is {url.get_backend_name()}; set [database] url = "
            '"postgresql+psycopg://user@host/mailbot" in mailbot.toml (SQLite serves one worker)'
        )
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine_app(conninfo: str) -> EngineApp:
    return EngineApp(connector=PsycopgConnector(conninfo=conninfo))


async def ensure_engine_schema(conninfo: str) -> bool:
    """Create Procrastinate's tables once (under an advisory lock); True if this call created them."""
    async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as connection:
        await connection.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            cursor = await connection.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
            row = await cursor.fetchone()
            if row is not None and row[0]:
                return False
            await connection.execute(SchemaManager.get_schema())  # type: ignore[arg-type]
            return True
        finally:
            await connection.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
