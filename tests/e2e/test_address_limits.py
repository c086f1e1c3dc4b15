"""The per-address limits over the wire (issue 13): an address counts as one however it is spelled, and
the counts and claims of a real pass read their indexes, not the mailbox (EXPLAIN QUERY PLAN, SQLite)."""

from __future__ import annotations

import pickle
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from tests.e2e.conftest import TEAM, Bot, make_mail

pytestmark = pytest.mark.servers
QUESTION = "Wie setze ich mein Passwort zurück?"
FAULT = "Die App stürzt bei jedem Start sofort ab, seit dem Update geht gar nichts mehr."
# our own SQL of the per-address counts and the claims, by what only it contains
OURS = ("recipient_key =", "from_key =", "recipient_key IN", "from_key IN", "outbox.ticket_id = tickets.id",
        "attempts=(inbound_mail.attempts", "attempts=(outbox.attempts")  # fmt: skip


def utf8_mail(sender: str, subject: str, body: str) -> bytes:
    """A mail whose From carries a Unicode domain as written (RFC 6532), which `make_mail` would encode."""
    head = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Date: {format_datetime(datetime.now(UTC))}\r\nMessage-ID: {make_msgid(domain='kunde.example')}\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n"
    )
    return f"{head}\r\n{body}\r\n".encode()


def test_one_address_spelled_four_ways_gets_three_automatic_answers_not_four(bot: Bot) -> None:
    spellings = ["kunde@münchen.example", "Kunde@xn--mnchen-3ya.example", "KUNDE@MÜNCHEN.example"]
    for spelling in [*spellings, "kunde@München.Example"]:
        bot.deliver(utf8_mail(spelling, "Passwort vergessen", QUESTION))
    bot.run_once()
    to_customer = [m for m in bot.sink.messages if TEAM not in m.rcpt_tos]
    assert len(to_customer) == 3  # [limits] replies_per_sender_per_day
    assert {rcpt.split("@")[1] for m in to_customer for rcpt in m.rcpt_tos} == {"xn--mnchen-3ya.example"}
    *answered, held = bot.inbound()
    assert [row.outcome for row in answered] == ["answered"] * 3
    assert "sender_limit" in {hit["name"] for hit in held.decision["rule_hits"]}


@contextmanager
def our_statements(folder: Path) -> Iterator[list[tuple[str, Any]]]:
    """Our statements, those of the delivery process `run --once` forks included: each is appended to a
    file in one write (the child's memory is its own), read back at the end."""
    seen: list[tuple[str, Any]] = []
    written = folder / "statements.pickles"

    def record(_conn: object, _cursor: object, statement: str, parameters: Any, *_: object) -> None:
        if any(marker in statement for marker in OURS):
            data = pickle.dumps((statement, parameters))
            with written.open("ab") as file:
                file.write(len(data).to_bytes(4, "big") + data)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        data = written.read_bytes() if written.exists() else b""
        while data:
            size = int.from_bytes(data[:4], "big")
            seen.append(pickle.loads(data[4 : 4 + size]))
            data = data[4 + size :]


def test_the_counts_and_claims_of_a_pass_read_their_indexes_not_the_mailbox(bot: Bot, tmp_path: Path) -> None:
    for number in range(3):
        bot.deliver(make_mail("kunde@example.org", f"Frage {number}", QUESTION))
        bot.deliver(make_mail("stoerung@example.org", f"Absturz {number}", FAULT))
    with our_statements(tmp_path) as seen:
        bot.run_once()
    assert len(bot.sent_to(TEAM)) >= 3 and len(bot.sent_to("kunde@example.org")) == 3  # flooding was asked
    database = bot.config.parent / "mailbot.db"
    with sqlite3.connect(database) as connection:
        plans = {
            statement: [row[3] for row in connection.execute(f"EXPLAIN QUERY PLAN {statement}", parameters)]
            for statement, parameters in seen
        }
    used = " ".join(line for plan in plans.values() for line in plan)
    for index in ("ix_outbox_recipient_key", "ix_inbound_mail_from_key", "ix_tickets_customer",
                  "ix_outbox_ticket", "ix_inbound_mail_claim", "ix_outbox_state"):  # fmt: skip
        assert index in used
    for statement, plan in plans.items():
        for line in plan:
            assert not re.match(r"SCAN (inbound_mail|outbox|tickets)\b", line), (statement, plan)
            # an index searched by the mailbox alone reads every row of the mailbox
            assert not line.endswith("(mailbox=?)"), (statement, plan)
            if "inbound_mail" in statement and "UPDATE" in statement:
                assert "TEMP B-TREE" not in line, (statement, plan)  # arrival order from the index
