"""The look-ups made per ticket, per batch and per pass read an index, not the mailbox (issue 13).

Not timed: the statements that `new_reference` (sequential numbers), `in_our_outbox` and the IMAP
source's `_known_uids` issue are caught on a real SQLite database holding a few thousand rows, and
SQLite's own EXPLAIN QUERY PLAN must show an index that finds the answer without reading the
mailbox's rows. All three used to: the newest ticket was found by sorting all of the mailbox's
tickets, the batch's Message-IDs by reading every outbox row of the mailbox, the stored UIDs by
reading every inbound row of the mailbox, so each cost grew with the mail stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import insert

from mailbot.app import App
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, Ticket
from mailbot.domain import TicketState
from mailbot.ingest.imap import _known_uids
from mailbot.pipeline.rule_context import in_our_outbox
from mailbot.tickets.service import new_reference
from tests.integration.test_incident_scale import NOW, make_app, query_plans, recording

STORED = 3000


def store_history(app: App, mailbox: str) -> None:
    """`STORED` tickets and as many sent mails in `mailbox`."""
    with app.sessions.begin() as session:
        session.execute(insert(Ticket), [
            {"mailbox": mailbox, "reference": f"MB-{n + 1:06d}", "customer": f"c{n}@kunde.example",
             "subject": "Frage", "language": "de", "state": TicketState.ANSWERED,
             "created_at": NOW, "updated_at": NOW}
            for n in range(STORED)
        ])  # fmt: skip
        session.execute(insert(OutboxMail), [
            {"mailbox": mailbox, "kind": "answer", "to_customer": True, "ticket_id": 1 + n,
             "message_id": f"<o{mailbox}{n}@example.com>", "mail_from": "support@example.com",
             "recipient": f"c{n}@kunde.example", "subject": "Re: Frage", "raw": b"x", "state": "sent",
             "attempts": 1, "next_attempt_at": NOW, "created_at": NOW}
            for n in range(STORED)
        ])  # fmt: skip


def test_the_next_sequential_number_reads_the_newest_ticket_through_an_index(tmp_path: Path) -> None:
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")
    try:
        store_history(app, app.mailbox)
        statements: list[tuple[str, Any]] = []
        with app.sessions.begin() as session, recording(session, statements):
            reference = new_reference(session, app)
        found = query_plans(app, statements)
    finally:
        app.close()
    assert reference == f"MB-{STORED + 1:06d}"
    assert found and all("TEMP B-TREE" not in plan and "SCAN" not in plan for plan in found), found
    assert any("ix_tickets_newest" in plan for plan in found), found


def test_a_batch_looks_its_message_ids_up_by_their_unique_key_and_keeps_its_mailbox_only(
    tmp_path: Path,
) -> None:
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")
    try:
        store_history(app, app.mailbox)
        store_history(app, "other-client")
        ours, theirs = f"<o{app.mailbox}7@example.com>", "<oother-client7@example.com>"
        statements: list[tuple[str, Any]] = []
        with app.sessions() as session, recording(session, statements):
            found_ids = in_our_outbox(session, app, [ours, theirs, "<never-sent@example.org>"])
        found = query_plans(app, statements)
    finally:
        app.close()
    assert found_ids == {ours}  # another client's mail is not ours
    assert len(found) == 1 and "(message_id=?)" in found[0], found


def test_the_stored_uids_of_a_folder_are_found_through_an_index(tmp_path: Path) -> None:
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")
    try:
        with app.sessions.begin() as session:
            session.execute(insert(InboundMail), [
                {"mailbox": app.mailbox, "source_key": f"imap:INBOX:7:{n}", "folder": "INBOX",
                 "uidvalidity": 7, "uid": n, "message_id": f"<m{n}@kunde.example>", "sha256": f"{n:064d}",
                 "fingerprint": f"{n:064d}", "raw": b"x", "size": 1, "received_at": NOW,
                 "ingested_at": NOW, "state": InboundState.DONE if n % 2 else InboundState.RECEIVED}
                for n in range(1, STORED + 1)
            ])  # fmt: skip
        statements: list[tuple[str, Any]] = []
        with app.sessions() as session, recording(session, statements):
            known = _known_uids(session, app.mailbox, "INBOX", 7, [5, 6, STORED + 5])
        found = query_plans(app, statements)
    finally:
        app.close()
    assert known == {5: True, 6: False}  # terminal or not; a UID never stored is not known
    assert found and all("ix_inbound_mail_uid" in plan for plan in found), found
