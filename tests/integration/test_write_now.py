"""db.write_now: one new row (`insert_now`) or one loaded row's changes (`update_now`) written at
once, without a flush, and kept as a loaded object (issue 13), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mailbot.db.engine import begin_write, make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.db.schema import Ticket
from mailbot.db.write_now import insert_now, update_now

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


def ticket(reference: str) -> Ticket:
    return Ticket(
        mailbox="support", reference=reference, customer="kim@example.org", language="de",
        state="escalated", created_at=NOW, updated_at=NOW, severity_reasons=["outage"],
    )  # fmt: skip


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    """mailbot's schema on SQLite or PostgreSQL."""
    engine = make_engine(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def test_the_row_is_written_without_a_flush_and_read_without_a_query(engine: Engine) -> None:
    statements: list[str] = []
    flushes: list[int] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        event.listen(session, "before_flush", lambda *_: flushes.append(1))
        statements.clear()
        first = insert_now(session, ticket("MB-1"))
        second = insert_now(session, ticket("MB-2"))
        assert [s.split()[0] for s in statements] == ["INSERT", "INSERT"]
        assert flushes == []
        assert second.id == first.id + 1
        statements.clear()
        # what the INSERT wrote: the set values, the Python defaults, NULL; no refresh to read them
        assert (first.subject, first.severity_shown, first.parent_id, first.responded_at) == (
            "",
            False,
            None,
            None,
        )
        assert first.severity_reasons == ["outage"] and first.created_at == NOW
        assert statements == []
        assert session.get(Ticket, first.id) is first  # in the identity map
        second.parent_id = first.id  # a change after it is an UPDATE, as for a loaded row
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [(t.reference, t.parent_id, t.severity_shown) for t in stored] == [
            ("MB-1", None, False),
            ("MB-2", stored[0].id, False),
        ]


def test_a_rolled_back_savepoint_takes_the_row_with_it(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        kept = insert_now(session, ticket("MB-1"))
        with pytest.raises(IntegrityError), session.begin_nested():
            insert_now(session, ticket("MB-1"))  # the unique key (mailbox, reference)
        assert _count(session) == 1
        assert kept.reference == "MB-1"
    with make_session_factory(engine)() as session:
        assert _count(session) == 1


def _count(session: Session) -> Any:
    return session.scalar(select(func.count(Ticket.id)))


def test_a_row_rolled_back_with_its_savepoint_leaves_the_session_and_its_id_can_come_again(
    engine: Engine,
) -> None:
    """As for rows the ORM inserts itself: else the next new row would get an id (SQLite hands the
    same one out again) that the session still holds for a row that is gone."""
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        kept = insert_now(session, ticket("MB-1"))
        with pytest.raises(RuntimeError), session.begin_nested():
            gone = insert_now(session, ticket("MB-2"))
            raise RuntimeError("the mail's decision fails after its ticket was written")
        assert gone not in session and kept in session
        again = insert_now(session, ticket("MB-3"))  # SQLite: gone's id again
        assert session.get(Ticket, again.id) is again
        with session.begin_nested():  # a released savepoint's rows stay
            released = insert_now(session, ticket("MB-4"))
        assert released in session
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Ticket.reference).order_by(Ticket.id)).all() == [
            "MB-1",
            "MB-3",
            "MB-4",
        ]


def test_rows_of_a_released_savepoint_leave_the_session_when_its_transaction_rolls_back(
    engine: Engine,
) -> None:
    session = make_session_factory(engine)()
    with pytest.raises(RuntimeError), session.begin():
        begin_write(session)
        with session.begin_nested():
            written = insert_now(session, ticket("MB-1"))
        raise RuntimeError("the batch's commit fails")
    assert written not in session
    with session.begin():
        assert _count(session) == 0
        assert insert_now(session, ticket("MB-1")).reference == "MB-1"
    session.close()


def test_a_loaded_rows_changes_are_one_update_of_those_columns_and_leave_it_clean(engine: Engine) -> None:
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        insert_now(session, ticket("MB-1"))
    statements: list[tuple[str, Any]] = []
    flushes: list[int] = []
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append((args[2], args[3])))
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        event.listen(session, "before_flush", lambda *_: flushes.append(1))
        loaded = session.scalars(select(Ticket)).one()
        statements.clear()
        update_now(session, loaded)  # nothing changed: nothing written
        assert statements == []
        with session.begin_nested():  # (beginning a savepoint flushes what was changed before it)
            loaded.subject, loaded.severity_reasons = "Absturz", ["outage", "data_loss"]
            update_now(session, loaded)
        ((sql, _parameters),) = [s for s in statements if "SAVEPOINT" not in s[0]]
        assert sql.split()[:3] == ["UPDATE", "tickets", "SET"]
        assignments = sql.split(" SET ")[1].split(" WHERE ")[0].split(",")
        assert {part.split("=")[0].strip() for part in assignments} == {"subject", "severity_reasons"}
        assert loaded not in session.dirty and not session.is_modified(loaded)
        statements.clear()
        session.flush()
        assert statements == [] and flushes == []  # nothing left for the unit of work
        loaded.customer_name = "Kim"  # a change after it: the next flush writes it, as for any row
    with make_session_factory(engine)() as session:
        stored = session.scalars(select(Ticket)).one()
        assert (stored.subject, stored.severity_reasons, stored.customer_name) == (
            "Absturz",
            ["outage", "data_loss"],
            "Kim",
        )


def test_an_update_rolled_back_with_its_savepoint_is_read_again(engine: Engine) -> None:
    """The object would otherwise keep values its row no longer has."""
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        insert_now(session, ticket("MB-1"))
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        loaded = session.scalars(select(Ticket)).one()
        with pytest.raises(RuntimeError), session.begin_nested():
            loaded.subject = "written, then rolled back"
            update_now(session, loaded)
            raise RuntimeError("the mail's decision fails after its row was written")
        assert loaded.subject == ""
        loaded.subject = "kept"
        with session.begin_nested():
            update_now(session, loaded)
    with make_session_factory(engine)() as session:
        assert session.scalars(select(Ticket.subject)).one() == "kept"


def test_an_update_of_a_released_savepoint_is_read_again_when_its_transaction_rolls_back(
    engine: Engine,
) -> None:
    with make_session_factory(engine).begin() as session:
        begin_write(session)
        insert_now(session, ticket("MB-1"))
    session = make_session_factory(engine)(expire_on_commit=False)
    with pytest.raises(RuntimeError), session.begin():
        begin_write(session)
        loaded = session.scalars(select(Ticket)).one()
        with session.begin_nested():
            loaded.subject = "never committed"
            update_now(session, loaded)
        raise RuntimeError("the batch's commit fails")
    with session.begin():
        assert loaded.subject == ""
    session.close()
