"""Bring the database schema up to date with Alembic before any work starts.

A database already at the newest revision is the usual case at every start of every command: one
SELECT tells, and Alembic is neither imported (~90 ms) nor run (~70 ms) then (issue 13).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions. A new migration changes it too:
# tests/integration/test_migrate_at_head.py fails, naming the revision to write here, until it does.
HEAD_REVISION = "0019"


class MigrationFailed(Exception):
    """Alembic could not bring the database to the newest revision; the message is Alembic's."""


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine) -> None:
    """Idempotent: a database that is already at the newest revision is left alone.

    Raises MigrationFailed for what Alembic refuses (e.g. a revision this mailbot does not know)."""
    if stored_revisions(engine) == [HEAD_REVISION]:
        return
    from alembic import command
    from alembic.util.exc import CommandError

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, "head")
        except CommandError as exc:
            raise MigrationFailed(str(exc)) from exc


def stored_revisions(engine: Engine) -> list[str]:
    """The revisions the database says it is at; none for a new database (no version table yet).
    Read on a connection of its own, so that a failed read leaves no transaction behind."""
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return []
    return [str(row) for row in rows]


def autogenerate(engine: Engine, message: str) -> None:
    """For developers: write a new revision from the difference between schema.py and the database."""
    from alembic import command

    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.revision(config, message=message, autogenerate=True)
