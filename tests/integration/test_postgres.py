"""The schema and one whole conversation on PostgreSQL as well as SQLite (real servers)."""

from sqlalchemy import inspect

from mailbot.db.engine import make_engine
from mailbot.db.migrate import upgrade
from tests.e2e.conftest import SUPPORT, Bot, make_mail, parse, text_of, write_config


def test_migrations_reach_the_same_tables_on_both_databases(database_url):
    engine = make_engine(database_url)
    try:
        upgrade(engine)
        upgrade(engine)  # idempotent
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert {"inbound_mail", "tickets", "ticket_events", "outbox", "escalation_jobs"} <= tables


def test_a_question_is_answered_and_a_fault_escalated(tmp_path, dovecot, imap_user, smtp_sink, database_url):
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    bot.deliver(make_mail("kunde@example.org", "Passwort vergessen", "Ich habe mein Passwort vergessen."))
    bot.deliver(make_mail("zweite@example.org", "Absturz", "Die App stürzt bei jedem Start sofort ab."))
    bot.run_once()
    outcomes = sorted(row.outcome for row in bot.inbound())
    assert outcomes == ["answered", "escalated"]
    (answer,) = bot.sent_to("kunde@example.org")
    reference = next(t.reference for t in bot.tickets() if t.customer == "kunde@example.org")
    assert f"[{reference}]" in parse(answer)["Subject"]
    assert "Passwort" in text_of(answer)
    assert len(bot.tickets()) == 2
    assert all(row.state == "sent" for row in bot.outbox())
    assert SUPPORT not in {row.recipient for row in bot.outbox()}
