"""New mail is stored a fetch batch at a time, without giving up "a duplicate or a refused mail is
dealt with alone" (issue 13: start deciding sooner; real Dovecot, SQLite and PostgreSQL).

Storing 1,000 mails took ~0.6 s of CPU before the first decision of `run --once`: a savepoint, an
ORM flush with its INSERT and a release for every mail (3,016 statements). A batch of new mail is
now one savepoint and one executemany; only a batch the database refuses is stored one by one.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, select

from mailbot.db.schema import InboundMail, SkippedDuplicate, Watermark
from tests.e2e.conftest import make_mail
from tests.integration.test_finalize_memory import make_app
from tests.servers import DovecotServer

BATCH = 20


def imap_app(tmp_path: Path, database_url: str, dovecot: DovecotServer, user: str, **limits: Any) -> Any:
    imap = {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "none", "username": user}
    source = {"imap": {**imap, "password": "secret", "batch_size": BATCH}}
    if limits:
        source["limits"] = limits
    return make_app(tmp_path, database_url, source)


def questions(count: int, start: int = 0) -> list[bytes]:
    return [
        make_mail(f"c{n}@example.org", f"Frage {n}", f"Hallo, Frage Nummer {n}.") for n in range(start, count)
    ]


def fetch_counting_inserts(app: Any) -> tuple[int, list[str]]:
    """(rows stored, the INSERT statements sent while fetching)."""
    inserts: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().startswith("INSERT INTO inbound_mail"):
            inserts.append(statement)

    event.listen(app.engine, "before_cursor_execute", record)
    source = app.make_source()
    try:
        stored = source.fetch_new()
    finally:
        event.remove(app.engine, "before_cursor_execute", record)
        source.close()
    return stored, inserts


def test_a_batch_of_new_mail_is_one_insert(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, imap_user: str
) -> None:
    with dovecot.imap_client(imap_user) as client:
        client.multiappend("INBOX", questions(2 * BATCH + 5))  # three batches: 20, 20, 5
    app = imap_app(tmp_path, database_url, dovecot, imap_user)
    try:
        stored, inserts = fetch_counting_inserts(app)
        with app.sessions() as session:
            rows = session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
            mark = session.get(Watermark, (app.mailbox, "INBOX"))
            assert mark is not None
            last_uid = mark.last_uid
    finally:
        app.close()
    assert stored == 2 * BATCH + 5
    assert len(inserts) == 3, inserts  # one per batch, not one per mail
    assert [row.uid for row in rows] == list(range(1, 2 * BATCH + 6)) and last_uid == 2 * BATCH + 5
    assert {(row.state, row.attempts, row.source_done) for row in rows} == {("received", 0, False)}
    assert all(row.sha256 and row.fingerprint and row.message_id and row.raw for row in rows)
    assert rows[7].source_key.endswith(":8") and rows[7].size == len(rows[7].raw)


def test_a_batch_with_a_duplicate_is_stored_one_by_one(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, imap_user: str
) -> None:
    """The same bytes delivered twice in one batch, and a mail stored by an earlier fetch delivered
    again: the batch's INSERT is refused, and mail by mail each new one is stored, each copy counted."""
    first = questions(3)
    with dovecot.imap_client(imap_user) as client:
        client.multiappend("INBOX", first)
    app = imap_app(tmp_path, database_url, dovecot, imap_user)
    try:
        assert fetch_counting_inserts(app)[0] == 3
        new = questions(8, start=3)
        with dovecot.imap_client(imap_user) as client:
            client.multiappend("INBOX", [*new[:2], first[1], new[2], new[2], *new[3:]])
        stored, _inserts = fetch_counting_inserts(app)
        with app.sessions() as session:
            ids = {row.uid: row.id for row in session.scalars(select(InboundMail).order_by(InboundMail.id))}
            skipped = session.scalars(select(SkippedDuplicate).order_by(SkippedDuplicate.id)).all()
            mark = session.get(Watermark, (app.mailbox, "INBOX"))
            assert mark is not None
            last_uid = mark.last_uid
    finally:
        app.close()
    assert stored == 5
    assert sorted(ids) == [1, 2, 3, 4, 5, 7, 9, 10] and last_uid == 10  # UIDs 6 and 8 are the copies
    assert [(s.source_key[-2:], s.matched_by, s.duplicate_of) for s in skipped] == [
        (":6", "content", ids[2]),
        (":8", "content", ids[7]),
    ]


def test_a_too_large_mail_in_a_batch_is_quarantined_at_ingest(
    tmp_path: Path,
    database_url: str,
    dovecot: DovecotServer,
    imap_user: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = make_mail("big@example.org", "Anhang", "x" * 20_000)
    with dovecot.imap_client(imap_user) as client:
        client.multiappend("INBOX", [*questions(2), big, *questions(4, start=2)])
    app = imap_app(tmp_path, database_url, dovecot, imap_user, max_message_bytes=10_000)
    try:
        with caplog.at_level(logging.WARNING, logger="mailbot.ingest.store"):
            stored, inserts = fetch_counting_inserts(app)
        with app.sessions() as session:
            rows = session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
    finally:
        app.close()
    assert stored == 5 and len(inserts) == 1
    assert [row.state for row in rows] == ["received", "received", "quarantined", "received", "received"]
    quarantined = rows[2]
    assert quarantined.outcome == "quarantined" and (quarantined.reason or "").startswith("too large:")
    assert quarantined.size > 20_000 and len(quarantined.raw) < 10_000  # the header only
    assert f"inbound #{quarantined.id} quarantined at ingest: too large:" in caplog.text


def test_the_source_names_the_mails_it_found_before_it_reads_them(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, imap_user: str
) -> None:
    """`on_found(n)` (run --once starts its helper processes then, mailbot.worker.run_cycle): called
    once, after the search and before any mail is stored; not at all when there is nothing new."""
    with dovecot.imap_client(imap_user) as client:
        client.multiappend("INBOX", questions(BATCH + 3))
    app = imap_app(tmp_path, database_url, dovecot, imap_user)
    source = app.make_source()
    found: list[tuple[int, int]] = []

    def on_found(count: int) -> None:
        with app.sessions() as session:
            found.append((count, len(session.scalars(select(InboundMail.id)).all())))

    try:
        assert source.fetch_new(on_found=on_found) == BATCH + 3
        assert found == [(BATCH + 3, 0)]  # named before the first one was stored
        assert source.fetch_new(on_found=on_found) == 0
        assert found == [(BATCH + 3, 0)]
    finally:
        source.close()
        app.close()
