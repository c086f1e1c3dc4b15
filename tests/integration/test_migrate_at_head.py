"""A database already at the newest revision is opened without Alembic (issue 13: ~160 ms of every
start); one that is behind is still migrated by it, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory

from mailbot.db.engine import make_engine, open_engine
from mailbot.db.migrate import HEAD_REVISION, alembic_config, stored_revisions


def test_the_newest_revision_is_named_where_a_start_looks_for_it() -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head == HEAD_REVISION, f"set HEAD_REVISION in mailbot/db/migrate.py to {head!r}, the newest one"


def test_a_database_at_the_newest_revision_is_opened_without_alembic(database_url: str, monkeypatch) -> None:
    open_engine(database_url).dispose()  # a new database: created by Alembic
    engine = make_engine(database_url)
    assert stored_revisions(engine) == [HEAD_REVISION]
    engine.dispose()

    def refuse(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("Alembic ran for a database at the newest revision")

    monkeypatch.setattr(command, "upgrade", refuse)
    open_engine(database_url).dispose()


def test_a_database_behind_the_newest_revision_is_migrated(database_url: str) -> None:
    open_engine(database_url).dispose()
    engine = make_engine(database_url)
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "-1")
    assert stored_revisions(engine) not in ([], [HEAD_REVISION])
    engine.dispose()
    open_engine(database_url).dispose()
    engine = make_engine(database_url)
    assert stored_revisions(engine) == [HEAD_REVISION]
    engine.dispose()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_new_database_has_no_stored_revision(database_url: str) -> None:
    engine = make_engine(database_url)
    assert stored_revisions(engine) == []
    engine.dispose()
