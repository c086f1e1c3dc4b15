"""Which waiting outbox rows a read could see: a row is left waiting only when the read certainly
cannot see it; when the session does not hold what decides it, the rows are written first."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session, make_transient_to_detached

from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.reply.pending_outbox import (
    before_reading,
    team_mail_of,
    team_notices_about,
    to_customer_counted,
    waiting_in,
    with_dedup_key,
    with_message_id,
)
from mailbot.rules.base import address_key

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def outbox_row(
    recipient: str, *, kind: str = "answer", to_customer: bool = True, **values: Any
) -> OutboxMail:
    return OutboxMail(
        mailbox="support", kind=kind, to_customer=to_customer, recipient=recipient, message_id="<m1@x>",
        created_at=NOW, **values,
    )  # fmt: skip


def held(session: Session, obj: Any, row_id: int) -> Any:
    """`obj` in the session's identity map as if loaded, without a database (which holds it weakly:
    the caller keeps it)."""
    obj.id = row_id
    make_transient_to_detached(obj)
    session.add(obj)
    return obj


def test_mail_to_a_customer_is_seen_by_its_recipients_count_only() -> None:
    session = Session()
    row = outbox_row("Anna@Example.ORG", inbound_id=None)
    assert to_customer_counted(session, address_key("anna@example.org"), None)(row)
    assert not to_customer_counted(session, address_key("bob@example.org"), None)(row)
    assert not to_customer_counted(session, address_key("anna@example.org"), None)(
        outbox_row("anna@example.org", kind="team_notice", to_customer=False)
    )


def test_mail_caused_by_a_sender_is_seen_through_the_loaded_mail_or_when_it_is_not_loaded() -> None:
    session = Session()
    row = outbox_row("reply-to@example.org", inbound_id=5)
    sender = address_key("anna@example.org")
    assert to_customer_counted(session, None, sender)(row)  # mail 5 not held: the database must answer
    mail = held(session, InboundMail(mailbox="support", from_addr="bob@example.org"), 5)
    assert not to_customer_counted(session, None, sender)(row)
    assert to_customer_counted(session, None, address_key("bob@example.org"))(row)
    del mail  # no longer held: the database must answer again
    assert to_customer_counted(session, None, sender)(row)


def test_team_notices_are_seen_by_their_tickets_customer() -> None:
    session = Session()
    notice = outbox_row("team@example.com", kind="team_notice", to_customer=False, ticket_id=9)
    assert team_notices_about(session, "anna@example.org")(notice)  # ticket 9 not held
    ticket = held(session, Ticket(mailbox="support", customer="bob@example.org"), 9)
    assert not team_notices_about(session, "anna@example.org")(notice)
    assert team_notices_about(session, "bob@example.org")(notice)
    assert not team_notices_about(session, "bob@example.org")(outbox_row("bob@example.org", ticket_id=9))
    assert ticket.customer == "bob@example.org"


def test_message_ids_dedup_keys_and_a_tickets_team_mail() -> None:
    row = outbox_row("team@example.com", to_customer=False, ticket_id=3, dedup_key="sla:3")
    assert with_message_id([" <m1@x> "])(row) and not with_message_id(["<m2@x>"])(row)
    assert with_dedup_key("sla:3")(row) and not with_dedup_key("sla:4")(row)
    assert team_mail_of(3)(row) and not team_mail_of(4)(row)


class Waiting:
    def __init__(self) -> None:
        self.asked: list[bool] = []

    def write_if(self, session: Session, seen: object) -> None:
        self.asked.append(True)


def test_reads_ask_only_while_rows_wait_in_that_session() -> None:
    session, other = Session(), Session()
    rows = Waiting()
    with waiting_in(session, rows):
        before_reading(session, with_dedup_key("x"))
        before_reading(other, with_dedup_key("x"))
    before_reading(session, with_dedup_key("x"))
    assert rows.asked == [True]
    with waiting_in(session, None):  # nothing waits: nothing asked
        before_reading(session, with_dedup_key("x"))
    assert rows.asked == [True]


def test_what_the_session_takes_in_while_rows_wait_is_held_until_they_are_written() -> None:
    session = Session()
    row = outbox_row("team@example.com", kind="team_notice", to_customer=False, ticket_id=9)
    with waiting_in(session, Waiting()):
        held(session, Ticket(mailbox="support", customer="bob@example.org"), 9)  # not kept by us
        assert not team_notices_about(session, "anna@example.org")(row)  # the session still has it
    assert team_notices_about(session, "anna@example.org")(row)  # let go: the database must answer


def test_the_identity_key_built_by_hand_is_sqlalchemys() -> None:
    from sqlalchemy.orm.util import identity_key

    for cls in (InboundMail, Ticket, OutboxMail):
        assert identity_key(cls, 7) == (cls, (7,), None)
