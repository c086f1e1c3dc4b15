"""While a batch of mails is decided in one transaction, its ticket events wait for one INSERT at its
end, and its new tickets' random numbers are checked in one query (issue 13: on PostgreSQL each was a
round trip per mail). The histories and numbers are those of mails decided one by one; a batch that
rolls back leaves none of its events (real Dovecot, SQLite and PostgreSQL)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from mailbot.db.schema import TicketEvent
from mailbot.pipeline.process import BATCH_SIZE
from tests.e2e.conftest import Bot, make_mail, write_config
from tests.e2e.test_compose_pool import fail_after_the_answer_to
from tests.e2e.test_prepare_pool import QUESTION, backlog, decide_all

pytestmark = pytest.mark.servers


@pytest.fixture
def statements() -> Iterator[list[str]]:
    """Every statement run in this process, as sent."""
    seen: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", note)


def events_by_ticket(bot: Bot) -> dict[int, list[str]]:
    with bot.db() as session:
        rows = session.execute(select(TicketEvent.ticket_id, TicketEvent.kind).order_by(TicketEvent.id))
        history: dict[int, list[str]] = {}
        for ticket_id, kind in rows:
            history.setdefault(ticket_id, []).append(kind)
    return history


def test_a_batch_writes_its_events_and_checks_its_ticket_numbers_together(
    tmp_path: Any, dovecot: Any, imap_user: str, smtp_sink: Any, database_url: str, statements: list[str]
) -> None:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    text = config.read_text(encoding="utf-8")
    config.write_text(text.replace('ticket_numbers = "sequential"', 'ticket_numbers = "random"'), "utf-8")
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    count = 2 * BATCH_SIZE + 3
    for number in range(count):  # one sender each; every third mail escalated
        text = f"Etwas Unbekanntes {number}." if number % 3 == 0 else QUESTION
        bot.deliver(make_mail(f"kunde{number}@example.org", f"Frage {number}", text))
    report = decide_all(bot, second_process=False)  # as a fleet worker's watch session decides
    escalated = len(range(0, count, 3))
    assert report.failures == 0
    assert report.by_outcome == {"answered": count - escalated, "escalated": escalated}

    event_inserts = [s for s in statements if s.startswith("INSERT INTO ticket_events")]
    assert len(event_inserts) == 3  # one per batch, not one per mail
    number_checks = [s for s in statements if s.startswith("SELECT tickets.") and "tickets.reference I" in s]
    assert 3 <= len(number_checks) <= 6  # a query per batch (another if a drawn number was taken)
    assert not [s for s in statements if "tickets.reference = " in s]  # none per ticket

    tickets = bot.tickets()
    assert len(tickets) == count and len({ticket.reference for ticket in tickets}) == count
    history = events_by_ticket(bot)
    assert set(history) == {ticket.id for ticket in tickets}
    kinds = Counter(tuple(kinds) for kinds in history.values())
    assert kinds[("created", "answered")] == count - escalated
    escalations = [kinds for kinds in history.values() if "escalated" in kinds]
    assert len(escalations) == escalated
    for kinds in escalations:  # in the order they happened: later reports of its fault come after it
        own = kinds.index("escalated")
        assert kinds[:2] == ["created", "assessed"] and set(kinds[own + 1 :]) <= {"incident_report"}
    assert any("incident_report" in kinds for kinds in escalations)  # grouping ran across the batches


def test_a_batch_that_rolls_back_leaves_no_events_and_its_mails_get_theirs_once(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_after_the_answer_to(monkeypatch, "kunde7@example.org")
    backlog(bot, BATCH_SIZE)
    report = decide_all(bot, second_process=False)
    assert report.failures == 1 and report.decided == BATCH_SIZE - 1  # decided again one by one
    tickets = bot.tickets()
    assert "kunde7@example.org" not in {ticket.customer for ticket in tickets}
    history = events_by_ticket(bot)
    assert set(history) == {ticket.id for ticket in tickets}
    assert all(kinds == ["created", "answered"] for kinds in history.values())
