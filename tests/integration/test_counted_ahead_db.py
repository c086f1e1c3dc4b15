"""A batch's per-address counts read in one statement and kept up in memory (issue 13), on SQLite and
PostgreSQL: the same numbers as the query per mail, the batch's own rows included, and the database
asked again whenever memory cannot be sure."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from mailbot.db.schema import OutboxMail
from mailbot.pipeline.rule_context import batch_keys, mails_because_of, mails_counted, mails_to
from mailbot.reply.counted_ahead import counted, counts_ahead, note_outbox_row
from mailbot.rules.base import address_key
from tests.integration.db_rows import NOW, inbound, migrated, outbox
from tests.integration.test_incident_scale import recording
from tests.unit.test_rules import make_mail as parsed_mail

SINCE = NOW - timedelta(days=1)
KUNDE, ZWEI, FORM = "kunde@münchen.example", "zwei@example.org", "formular@example.com"


def queued(session: Session, recipient: str, inbound_id: int | None, **values: Any) -> OutboxMail:
    """A row a decision of the batch queues: written (or waiting) and noted, as reply.outbox does."""
    row = outbox(session, recipient, inbound_id=inbound_id, **values)
    note_outbox_row(session, row)
    return row


def truth(session: Session, recipient: str, sender: str | None) -> tuple[int, int]:
    """The query per mail, as rule_context asks outside a batch."""
    return (
        mails_to(session, "mb", recipient, SINCE),
        mails_because_of(session, "mb", sender, SINCE) if sender is not None else 0,
    )


def stored(session: Session) -> None:
    """Mail of the day before: counted, and some that must not be."""
    for spelling in ["Kunde@München.example", "KUNDE@xn--mnchen-3ya.example"]:
        outbox(session, spelling, inbound_id=inbound(session, from_addr=spelling).id)
    outbox(session, ZWEI, inbound_id=inbound(session, from_addr=KUNDE).id)  # KUNDE's mail, answered to ZWEI
    outbox(session, KUNDE, to_customer=False)  # to the team
    outbox(session, KUNDE, created_at=SINCE - timedelta(seconds=1))  # older than a day
    outbox(session, KUNDE, mailbox="other")
    outbox(session, ZWEI, mailbox="other", inbound_id=inbound(session, mailbox="other", from_addr=KUNDE).id)


def test_the_counts_of_a_batch_are_the_query_per_mails_with_its_own_rows_in_them(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        stored(session)
    with sessions.begin() as session:
        mine = [inbound(session, from_addr=KUNDE), inbound(session, from_addr=ZWEI)]
        to_keys, from_keys = {address_key(KUNDE), address_key(ZWEI)}, {address_key(KUNDE), address_key(ZWEI)}
        seen: list[tuple[str, Any]] = []
        with recording(session, seen), counts_ahead(session, "mb", to_keys, from_keys, SINCE):
            assert mails_counted(session, "mb", KUNDE, KUNDE, SINCE) == (2, 3)
            assert mails_counted(session, "mb", ZWEI, ZWEI, SINCE) == (1, 0)
            queued(session, "KUNDE@MÜNCHEN.example", mine[0].id)  # the batch answers KUNDE...
            queued(session, ZWEI, mine[0].id, kind="ack")  # ...and, for KUNDE's mail, ZWEI
            queued(session, ZWEI, mine[1].id)
            queued(session, KUNDE, None, to_customer=False)  # a team notice: not counted
            ahead = [
                mails_counted(session, "mb", KUNDE, KUNDE, SINCE),
                mails_counted(session, "mb", ZWEI, ZWEI, SINCE),
            ]
            assert ahead == [(3, 5), (3, 1)]
            assert mails_counted(session, "mb", KUNDE, None, SINCE) == (3, 0)  # a contact form's person
        assert [statement.split()[0] for statement, _ in seen] == ["SELECT"] + ["INSERT"] * 4  # one read
        assert ahead == [truth(session, KUNDE, KUNDE), truth(session, ZWEI, ZWEI)]


def test_the_database_answers_what_the_batch_did_not_read_ahead(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        stored(session)
        mail = inbound(session, from_addr=ZWEI)
        with counts_ahead(session, "mb", {address_key(ZWEI)}, {address_key(ZWEI)}, SINCE):
            assert counted(session, "mb", address_key(KUNDE), None) is None  # not read ahead
            assert counted(session, "other", address_key(ZWEI), None) is None  # another mailbox
            assert counted(session, "mb", address_key(ZWEI), address_key(KUNDE)) is None
            assert mails_counted(session, "mb", KUNDE, KUNDE, SINCE) == truth(session, KUNDE, KUNDE)
            assert counted(session, "mb", address_key(ZWEI), address_key(ZWEI)) == (1, 0)
            # a row whose cause the session does not hold: its sender is unknown, so the database answers
            queued(session, ZWEI, inbound(session, from_addr=ZWEI).id)
            session.expunge_all()
            assert counted(session, "mb", address_key(ZWEI), address_key(ZWEI)) is None
            assert mails_counted(session, "mb", ZWEI, ZWEI, SINCE) == (2, 1) == truth(session, ZWEI, ZWEI)
            assert mail.id  # held to the end
        assert counted(session, "mb", address_key(ZWEI), None) is None  # the batch is over
        with counts_ahead(session, "mb", {address_key(ZWEI)}, set(), SINCE):  # no sender with an address
            assert counted(session, "mb", address_key(ZWEI), None) == (2, 0)


def test_the_keys_of_a_batch_are_every_from_and_reply_to() -> None:
    mails = [
        parsed_mail(from_addr=KUNDE),
        parsed_mail(from_addr=FORM, reply_to="person@example.net"),
        parsed_mail(from_addr="no address"),
    ]
    to_keys, from_keys = batch_keys(mails)
    assert to_keys == {address_key(KUNDE), address_key(FORM), address_key("person@example.net")}
    assert from_keys == {address_key(KUNDE), address_key(FORM)}


def test_on_sqlite_the_batchs_counts_read_both_indexes(tmp_path: Any) -> None:
    sessions = migrated(f"sqlite:///{tmp_path / 'plans.db'}")
    seen: list[tuple[str, Any]] = []
    with sessions.begin() as session:
        stored(session)
        keys = {address_key(KUNDE), address_key(ZWEI)}
        with recording(session, seen), counts_ahead(session, "mb", keys, keys, SINCE):
            pass
        statement, parameters = seen[0]
        plan = " / ".join(
            str(row[-1])
            for row in session.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
        )
    assert "ix_outbox_recipient_key" in plan and "ix_inbound_mail_from_key" in plan, plan
    assert "SCAN outbox" not in plan and "SCAN inbound_mail" not in plan, plan
