"""Columns filled from mail take whatever a mail contains, on SQLite and PostgreSQL alike."""

from datetime import UTC, datetime

from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.db.schema import EscalationJob, Ticket, TicketEvent, clean_text

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
HOSTILE = "a\x00b \udcff c " + "ü" * 400


def test_nul_surrogates_and_overlong_values_are_stored_cleaned(database_url):
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        with sessions.begin() as session:
            ticket = Ticket(
                mailbox="default", reference="MB-1", customer=HOSTILE, customer_name=HOSTILE, subject=HOSTILE,
                language="de", state="escalated", created_at=NOW, updated_at=NOW, text_excerpt=HOSTILE,
                severity_reasons=[HOSTILE],
            )  # fmt: skip
            session.add(ticket)
            session.flush()
            session.add(
                TicketEvent(mailbox="default", ticket_id=ticket.id, at=NOW, kind="created", note=HOSTILE)
            )
            session.add(
                EscalationJob(
                    mailbox="default", ticket_id=ticket.id, backend="webhook", event="ticket.escalated",
                    dedup_key="k", payload={"ticket": {"subject": HOSTILE}}, state="pending", attempts=0,
                    next_attempt_at=NOW, created_at=NOW,
                )
            )  # fmt: skip
        with sessions() as session:
            stored = session.get_one(Ticket, ticket.id)
            assert stored.subject == clean_text(HOSTILE)
            assert "\x00" not in stored.subject and "\udcff" not in stored.subject
            assert len(stored.customer) == 320 and len(stored.customer_name) == 300
            assert stored.severity_reasons == [clean_text(HOSTILE)]
    finally:
        engine.dispose()
