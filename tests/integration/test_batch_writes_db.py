"""What a batch decided in one transaction writes together (issue 13), on SQLite and PostgreSQL.

Random ticket references drawn ahead: one query checks a batch's numbers, each new ticket takes the
next free one in the order drawn, a number some ticket has is never handed out, and outside a batch
each number is checked alone. Ticket events wait for one INSERT at the batch's end: an event added
through the ORM meanwhile comes after them in the ticket's history, and a batch that raises writes
none of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.app import App, open_database
from mailbot.config import Settings
from mailbot.db.schema import Ticket, TicketEvent
from mailbot.domain import TicketState
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.tickets.drawn_ahead import draw_count, references_drawn_ahead
from mailbot.tickets.events_waiting import events_waiting, keep_or_write
from mailbot.tickets.service import RANDOM_NUMBERS, add_event, new_reference
from tests.integration.test_incident_scale import recording

NOW = datetime(2026, 12, 7, 10, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path, database_url: str) -> Iterator[App]:
    values: dict[str, Any] = {
        "support": {"address": "support@example.com"},  # random numbers, the default
        "team": {"address": "team@example.com"},
        "maildir": {"path": str(tmp_path / "Maildir")},
        "smtp": {"host": "127.0.0.1", "security": "none"},
        "database": {"url": database_url},
        "templates": {"path": str(SHIPPED_TEMPLATES)},
    }
    settings = Settings.model_validate(values)
    made = App(settings, *open_database(settings), lambda: NOW)
    yield made
    made.close()


def numbers(*drawn: int) -> Any:
    """A `draw` for new_reference that hands out these offsets into RANDOM_NUMBERS, then fails."""
    offsets = iter(drawn)
    return lambda _size: next(offsets)


def reference(offset: int) -> str:
    return f"MB-{RANDOM_NUMBERS.start + offset}"


def add_ticket(session: Any, app: App, ref: str) -> None:
    session.add(
        Ticket(mailbox=app.mailbox, reference=ref, customer="k@example.org", language="de",
               state=TicketState.ANSWERED, created_at=NOW, updated_at=NOW)
    )  # fmt: skip
    session.flush()


def lookups(statements: list[tuple[str, Any]]) -> int:
    return sum("FROM tickets" in statement for statement, _ in statements)


def test_a_batch_checks_its_numbers_in_one_query_and_skips_taken_ones(app: App) -> None:
    with app.sessions.begin() as session:
        add_ticket(session, app, reference(2))
        add_ticket(session, app, reference(9))  # taken, drawn in the second round
    seen: list[tuple[str, Any]] = []
    draw = numbers(1, 2, 3, 3, 4, 9, 5, 6, 7)  # 4 per round: a repeat counts once
    with app.sessions.begin() as session, references_drawn_ahead(session, 4), recording(session, seen):
        assert draw_count(session) == 4
        handed = []
        for _ in range(5):
            handed.append(new_reference(session, app, draw=draw))
            add_ticket(session, app, handed[-1])
    assert handed == [reference(n) for n in (1, 3, 4, 5, 6)]  # in the order drawn
    assert lookups(seen) == 2  # one query per round of 4, none per ticket
    with app.sessions() as session:
        assert draw_count(session) == 1  # the batch's leftovers (7) are gone with it
        stored = set(session.scalars(select(Ticket.reference)))
    assert stored == {reference(n) for n in (1, 2, 3, 4, 5, 6, 9)}


def test_a_number_handed_out_in_the_batch_is_not_handed_out_again(app: App) -> None:
    draw = numbers(1, 2, 1, 2, 1, 3)
    with app.sessions.begin() as session, references_drawn_ahead(session, 2):
        first = [new_reference(session, app, draw=draw) for _ in range(2)]
        for ref in first:
            add_ticket(session, app, ref)
        third = new_reference(session, app, draw=draw)  # 1 and 2 are written now: both taken
    assert first == [reference(1), reference(2)] and third == reference(3)


def test_outside_a_batch_each_number_is_checked_alone(app: App) -> None:
    with app.sessions.begin() as session:
        add_ticket(session, app, reference(1))
    seen: list[tuple[str, Any]] = []
    with app.sessions.begin() as session, recording(session, seen):
        assert new_reference(session, app, draw=numbers(1, 5)) == reference(5)
    assert lookups(seen) == 2  # one per draw, as before


def test_a_mailbox_whose_drawn_numbers_are_all_taken_says_so(app: App) -> None:
    with app.sessions.begin() as session:
        add_ticket(session, app, reference(7))
    endless = count()
    with (
        app.sessions.begin() as session,
        references_drawn_ahead(session, 3),
        pytest.raises(RuntimeError, match="no free ticket number"),
    ):
        new_reference(session, app, draw=lambda _size: 7 + 0 * next(endless))


def event_row(ticket: Ticket, kind: str) -> dict[str, Any]:
    return {"mailbox": ticket.mailbox, "ticket_id": ticket.id, "at": NOW, "kind": kind, "inbound_id": None,
            "note": ""}  # fmt: skip


def history(app: App) -> list[str]:
    with app.sessions() as session:
        return list(session.scalars(select(TicketEvent.kind).order_by(TicketEvent.id)))


def test_events_wait_for_one_insert_and_an_orm_event_comes_after_them(app: App) -> None:
    seen: list[tuple[str, Any]] = []
    with app.sessions.begin() as session, recording(session, seen):
        add_ticket(session, app, "MB-1")
        ticket = session.scalars(select(Ticket)).one()
        with events_waiting(session):
            keep_or_write(session, [event_row(ticket, "created"), event_row(ticket, "answered")])
            keep_or_write(session, [event_row(ticket, "follow_up")])
            assert not [s for s, _ in seen if s.startswith("INSERT INTO ticket_events")]
            add_event(session, ticket, "oncall_alerted", "", NOW)  # writes what waits first
            keep_or_write(session, [event_row(ticket, "escalated")])
    assert history(app) == ["created", "answered", "follow_up", "oncall_alerted", "escalated"]
    inserts = [s for s, _ in seen if s.startswith("INSERT INTO ticket_events")]
    assert len(inserts) == 3  # what waited, the ORM's one, the rest at the end


def test_a_batch_that_raises_writes_none_of_its_events(app: App) -> None:
    with app.sessions.begin() as session:
        add_ticket(session, app, "MB-1")
    with app.sessions.begin() as session:
        ticket = session.scalars(select(Ticket)).one()
        with pytest.raises(RuntimeError), events_waiting(session):
            keep_or_write(session, [event_row(ticket, "created")])
            raise RuntimeError("a mail of the batch failed")
        keep_or_write(session, [event_row(ticket, "outside")])  # no batch: written at once
    assert history(app) == ["outside"]
