"""One client's report never holds another client's requests (one database, two mailboxes; real
SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mailbot.clock import BusinessCalendar
from mailbot.db.schema import InboundMail, Ticket, TicketEvent
from mailbot.reports.load import load_facts
from mailbot.reports.period import month
from mailbot.reports.report import Contract, build_report, facts_csv
from tests.integration.db_rows import inbound, migrated, outbox

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar(BERLIN, ((), (), (), (), (), (), ()), frozenset(), always_open=True)
ARRIVED = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


def answered(session: Session, mailbox: str, reference: str, article: str) -> None:
    row: InboundMail = inbound(session, mailbox=mailbox, received_at=ARRIVED, state="done")
    ticket = Ticket(
        mailbox=mailbox, reference=reference, customer=f"kunde@{mailbox}.example", subject="Frage",
        language="de", state="answered", article_id=article, created_at=ARRIVED, updated_at=ARRIVED,
    )  # fmt: skip
    session.add(ticket)
    session.flush()
    row.outcome, row.ticket_id = "answered", ticket.id
    row.decision = {"article_id": article, "prediction": {"article_id": article, "confidence": 0.97}}
    session.add(TicketEvent(mailbox=mailbox, ticket_id=ticket.id, at=ARRIVED, kind="created", note=""))
    outbox(session, f"kunde@{mailbox}.example", mailbox=mailbox, ticket_id=ticket.id, created_at=ARRIVED)


def test_client_b_never_sees_client_a(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        answered(session, "alpha", "AL-1", "alpha-canary")
        answered(session, "alpha", "AL-2", "alpha-canary")
        answered(session, "beta", "BE-1", "beta-only")
    november, now = month("2026-11", BERLIN), datetime(2026, 12, 20, tzinfo=UTC)
    with sessions() as session:
        facts = load_facts(session, "beta", november.start - timedelta(days=200), now)
    report = build_report(facts, november, CALENDAR, now, Contract())
    text = str(report) + facts_csv(facts.requests, november, CALENDAR, now, 3)
    assert report["automation"]["requests"] == 1  # type: ignore[index]
    assert "alpha" not in text and "AL-" not in text
    assert "beta-only" in text and "BE-1" in text
