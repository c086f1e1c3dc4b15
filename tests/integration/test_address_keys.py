"""The per-address limits count by the stored address key (issue 13), on SQLite and PostgreSQL: one
address however it is spelled, and older rows keyed by the migration count exactly like new ones."""

from __future__ import annotations

from datetime import timedelta

from alembic import command
from sqlalchemy import event, text

from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.migrate import alembic_config, upgrade
from mailbot.db.schema import InboundMail, OutboxMail
from mailbot.pipeline.rule_context import mails_because_of, mails_counted, mails_to
from mailbot.rules.base import address_key
from tests.integration.db_rows import NOW, inbound, migrated, outbox

SINCE = NOW - timedelta(days=1)
# rows as revision 0007 and the code before it wrote them: no keys
OLD_INBOUND = (
    "INSERT INTO inbound_mail (id, mailbox, source_key, folder, message_id, sha256, fingerprint, raw, size,"
    " received_at, ingested_at, state, attempts, from_addr, source_done)"
    " VALUES (:id, 'mb', :key, 'INBOX', :key, :key, :key, 'x', 1, :at, :at, 'done', 1, :sender, false)"
)
OLD_OUTBOX = (
    "INSERT INTO outbox (mailbox, kind, to_customer, inbound_id, message_id, mail_from, recipient, subject,"
    " raw, state, attempts, next_attempt_at, created_at) VALUES ('mb', 'answer', true, :id, :mid,"
    " 'support@example.com', :to, 's', 'x', 'sent', 1, :at, :at)"
)
SPELLINGS = ["Kunde@München.example", "kunde@xn--mnchen-3ya.example", "KUNDE@MÜNCHEN.EXAMPLE."]


def test_an_address_counts_as_one_however_it_is_spelled(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        for spelling in SPELLINGS:
            outbox(session, spelling, inbound_id=inbound(session, from_addr=spelling).id)
        # not counted: to the team, older than a day, another mailbox, another person, not an address
        outbox(session, "kunde@münchen.example", to_customer=False)
        outbox(session, "kunde@münchen.example", created_at=SINCE - timedelta(seconds=1))
        outbox(session, "kunde@münchen.example", mailbox="other")
        other = inbound(session, from_addr="kunde2@münchen.example")
        outbox(session, "kunde2@münchen.example", inbound_id=other.id)
        outbox(session, "kunde@muenchen.example")
    with sessions() as session:
        assert mails_to(session, "mb", "kunde@münchen.example", SINCE) == 3
        assert mails_to(session, "mb", "KUNDE@xn--MNCHEN-3YA.example", SINCE) == 3
        assert mails_to(session, "mb", "kunde2@MÜNCHEN.example", SINCE) == 1
        assert mails_because_of(session, "mb", "Kunde@münchen.example", SINCE) == 3
        assert mails_because_of(session, "other", "Kunde@münchen.example", SINCE) == 0
        assert mails_because_of(session, "mb", "kunde@münchen.example", NOW + timedelta(seconds=1)) == 0
        assert mails_to(session, "mb", "münchen.example", SINCE) == 0  # no local part, no count
        assert mails_to(session, "mb", "@münchen.example", SINCE) == 0
        # both counts in one statement, as every mail's rules ask for them: the same numbers
        statements: list[str] = []
        event.listen(session.get_bind(), "before_cursor_execute", lambda *args: statements.append(args[2]))
        for recipient, sender in [
            ("kunde@münchen.example", "Kunde@münchen.example"),
            ("kunde2@MÜNCHEN.example", "KUNDE@xn--MNCHEN-3YA.example"),
            ("kunde2@münchen.example", "nobody@example.org"),
        ]:
            assert mails_counted(session, "mb", recipient, sender, SINCE) == (
                mails_to(session, "mb", recipient, SINCE),
                mails_because_of(session, "mb", sender, SINCE),
            )
        assert len(statements) == 3 * 3
        assert mails_counted(session, "mb", "kunde@münchen.example", None, SINCE) == (3, 0)  # a form
        assert mails_counted(session, "mb", "münchen.example", "Kunde@münchen.example", SINCE) == (0, 3)


def test_rows_written_before_the_keys_get_them_from_the_migration(database_url: str) -> None:
    engine = make_engine(database_url)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    stamp = NOW.replace(tzinfo=None)
    with engine.begin() as connection:
        for number, spelling in enumerate([*SPELLINGS, "jemand@anders.example", None], start=1):
            connection.execute(
                text(OLD_INBOUND), {"id": number, "key": f"k{number}", "at": stamp, "sender": spelling}
            )
            recipient = spelling or "x@y.example"
            connection.execute(
                text(OLD_OUTBOX), {"id": number, "mid": f"<m{number}@x>", "to": recipient, "at": stamp}
            )
    upgrade(engine)
    sessions = make_session_factory(engine)
    with sessions() as session:
        for row in session.query(InboundMail):
            assert row.from_key == (address_key(row.from_addr) if row.from_addr else None)
        for out in session.query(OutboxMail):
            assert out.recipient_key == address_key(out.recipient)
        assert mails_to(session, "mb", "kunde@münchen.example", SINCE) == 3
        assert mails_because_of(session, "mb", "kunde@münchen.example", SINCE) == 3
        assert mails_because_of(session, "mb", "jemand@anders.example", SINCE) == 1
    engine.dispose()
