"""What the process stage writes per decided mail, counted in statements (issue 13: the write path was
~19 ORM statements per mail), and that the fewer statements store the same (real Dovecot, aiosmtpd,
SQLite and PostgreSQL)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, select

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.db.schema import OutboxMail, OutboxState, Ticket, TicketEvent
from mailbot.pipeline.process import process_pending
from tests.e2e.conftest import SUPPORT, Bot, make_mail, write_config

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
OLD_MESSAGE_ID = "<mb.from-before-the-signature@support.example.com>"  # not signed: found in the outbox


def _kind(statement: str) -> str:
    """A statement as 'VERB table' (its parameters are not looked at); claims apart."""
    words = statement.split()
    verb = words[0].upper()
    if verb == "UPDATE" and "attempts=(inbound_mail.attempts" in statement.replace(" ", ""):
        return "claim"
    table = {"INSERT": 2, "UPDATE": 1}.get(verb)
    if table is not None:
        return f"{verb} {words[table]}"
    if verb == "SELECT" and re.search(r"outbox\.message_id (=|IN)", statement):
        return "SELECT outbox by message_id"
    if verb == "SELECT" and "FROM outbox WHERE outbox.ticket_id" in " ".join(words):
        return "SELECT outbox by ticket"
    return verb


def _process_counting(config: Path) -> tuple[Counter[str], Any]:
    """Fetch, then decide everything, counting the statements of the deciding only; the ORM's flushes
    that wrote something are counted as "flush"."""
    app = build_app(load_settings(config))
    counted: Counter[str] = Counter()
    counting = False

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if counting:
            counted[_kind(statement)] += 1

    event.listen(app.engine, "before_cursor_execute", count)

    def count_flush(*_args: Any) -> None:
        if counting:
            counted["flush"] += 1

    event.listen(app.sessions, "before_flush", count_flush)
    source = app.make_source()
    try:
        source.fetch_new()
        counting = True
        report = process_pending(app)
        counting = False
    finally:
        source.close()
        app.close()
    return counted, report


def _store_old_outbox_row(config: Path) -> None:
    """A mail we sent before Message-IDs were signed: only the outbox knows it is ours."""
    app = build_app(load_settings(config))
    now = datetime.now(UTC)
    try:
        with app.sessions.begin() as session:
            session.add(
                OutboxMail(
                    mailbox=app.mailbox, kind="answer", to_customer=True, message_id=OLD_MESSAGE_ID,
                    mail_from=SUPPORT, recipient="frueher@example.org", subject="Ihre Anfrage", raw=b"",
                    state=OutboxState.SENT, attempts=1, next_attempt_at=now, created_at=now, sent_at=now,
                )
            )  # fmt: skip
    finally:
        app.close()


def test_an_answered_mail_is_written_in_few_statements_and_stores_the_same(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
) -> None:
    """Per answered mail: one UPDATE of its inbound row (sender and outcome together), the ticket's
    INSERT with its reference (no UPDATE after it), the batch's events in one INSERT, and no flush of the
    ORM's unit of work (issue 13: there were three, for the ticket's id and before queries, then one
    for the inbound row when the mail's savepoint ended), and no savepoint per mail; the batch looks up its
    Message-IDs in the outbox once, not each mail. The tickets, their events in order and the replies
    are as before, and our own mail come back (known only from the outbox) is still ignored."""
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    _store_old_outbox_row(config)
    people = [f"kunde{n}@example.org" for n in range(5)]
    for person in people:
        bot.deliver(make_mail(person, "Passwort vergessen", QUESTION))
    bot.deliver(make_mail("frueher@example.org", "Ihre Anfrage", QUESTION, message_id=OLD_MESSAGE_ID))

    counted, report = _process_counting(config)

    assert report.decided == len(people) + 1 and report.failures == 0
    assert report.by_outcome == {"answered": len(people), "ignored": 1}
    assert counted["UPDATE inbound_mail"] == len(people) + 1
    assert counted["INSERT tickets"] == len(people)
    assert counted["UPDATE tickets"] == 0
    assert counted["INSERT ticket_events"] == 1  # the batch's, at its end (tickets.events_waiting)
    assert counted["SELECT outbox by message_id"] == 1
    assert counted["flush"] == 0
    assert counted["SAVEPOINT"] == 0  # one batch: its mails stand or fall together (pipeline.process)
    bot.run_once()
    rows = {row.from_addr: row for row in bot.inbound()}
    assert rows["frueher@example.org"].outcome == "ignored"
    assert "own_message_id" in str(rows["frueher@example.org"].decision)
    with bot.db() as session:
        tickets = session.scalars(select(Ticket).order_by(Ticket.id)).all()
        assert [t.reference for t in tickets] == [f"MB-{n:06d}" for n in range(1, len(people) + 1)]
        assert [t.customer for t in tickets] == people
        for ticket, person in zip(tickets, people, strict=True):
            kinds = session.scalars(
                select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
            ).all()
            assert kinds == ["created", "answered"]
            assert rows[person].ticket_id == ticket.id
            assert (rows[person].subject, rows[person].language) == ("Passwort vergessen", "de")
    assert [len(bot.sent_to(person)) for person in people] == [1] * len(people)
    assert bot.sent_to("frueher@example.org") == []


def test_an_escalated_mail_writes_its_ticket_once_with_its_severity_and_due_times(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
) -> None:
    """The severity guess and the SLA due times go into the ticket's INSERT (they were an UPDATE of
    the new row, for every escalation); the history still says created, then assessed."""
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    bot.deliver(make_mail("kunde@example.org", "Absturz", "Die App stürzt bei jedem Start sofort ab."))

    counted, report = _process_counting(config)

    assert report.by_outcome == {"escalated": 1}
    assert counted["INSERT tickets"] == 1
    assert counted["UPDATE tickets"] == 0
    assert counted["INSERT outbox"] == 2  # the customer's acknowledgement and the team's notice
    assert counted["SELECT outbox by ticket"] == 0  # a new ticket's first notice threads under nothing
    assert counted["flush"] == 0  # the inbound row's outcome is an UPDATE of its own (db.update_now)
    with bot.db() as session:
        (ticket,) = session.scalars(select(Ticket)).all()
        assert ticket.severity is not None and ticket.severity_reasons
        assert ticket.response_due_at is not None and ticket.resolution_due_at is not None
        kinds = session.scalars(
            select(TicketEvent.kind).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
        ).all()
    assert kinds[:2] == ["created", "assessed"] and kinds[-1] == "escalated", kinds
