"""The queue of mail-server copies to delete (issue 15) on SQLite and PostgreSQL: queued once however
often the erasure or retention asks, claimed with a lease, never by two workers at once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.claims import claim_due_folder_deletions
from mailbot.db.schema import FolderDeletion
from mailbot.privacy.folders import queue_folder_copies
from tests.integration.db_rows import NOW, inbound, migrated
from tests.integration.test_claims import _claim_in_threads
from tests.servers.postgres import PostgresServer

LEASE = timedelta(minutes=5)


def test_a_copy_is_queued_once_with_its_message_id_and_hash(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        mails = [inbound(session) for _ in range(3)]
        other = inbound(session, mailbox="other")
        assert queue_folder_copies(session, "mb", [*mails[:2], other], "erasure", NOW) == 2
    with sessions.begin() as session:  # retention later, or the erasure run again: no error, no second row
        assert queue_folder_copies(session, "mb", mails, "retention", NOW) == 1
        assert queue_folder_copies(session, "mb", mails, "erasure", NOW) == 0
    with sessions() as session:
        rows = session.scalars(select(FolderDeletion).order_by(FolderDeletion.id)).all()
        by_mail = {m.id: m for m in mails}
        assert [r.inbound_id for r in rows] == [m.id for m in mails]
        assert [r.reason for r in rows] == ["erasure", "erasure", "retention"]
        for row in rows:
            mail = by_mail[row.inbound_id]
            assert (row.mailbox, row.message_id, row.sha256) == ("mb", mail.message_id, mail.sha256)
            assert (row.attempts, row.next_attempt_at, row.done_at, row.deleted) == (0, NOW, None, 0)


def test_due_rows_are_claimed_with_a_lease_and_taken_again_when_it_runs_out(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        mails = [inbound(session) for _ in range(4)]
        queue_folder_copies(session, "mb", mails, "erasure", NOW)
        rows = session.scalars(select(FolderDeletion).order_by(FolderDeletion.id)).all()
        ids = [row.id for row in rows]
        rows[3].done_at = NOW  # finished: never claimed again
        rows[2].next_attempt_at = NOW + timedelta(minutes=1)  # backed off: not due yet
    with sessions.begin() as session:
        assert claim_due_folder_deletions(session, "mb", NOW, LEASE, 1) == ids[:1]
        assert claim_due_folder_deletions(session, "mb", NOW, LEASE, 5) == ids[1:2]
        assert claim_due_folder_deletions(session, "mb", NOW, LEASE, 5) == []
        assert claim_due_folder_deletions(session, "other", NOW + LEASE * 2, LEASE, 5) == []
    with sessions() as session:
        claimed = [session.get_one(FolderDeletion, row_id) for row_id in ids[:2]]
        assert {(r.attempts, r.next_attempt_at) for r in claimed} == {(1, NOW + LEASE)}
    later = NOW + LEASE + timedelta(seconds=1)  # the worker died: its rows are due again, an attempt more
    with sessions.begin() as session:
        assert claim_due_folder_deletions(session, "mb", later, LEASE, 5) == ids[:3]
    with sessions() as session:
        assert [session.get_one(FolderDeletion, i).attempts for i in ids] == [2, 2, 1, 0]


def test_two_workers_on_postgresql_never_claim_the_same_folder_deletion(postgres: PostgresServer) -> None:
    sessions = migrated(postgres.new_database())
    with sessions.begin() as session:
        mails = [inbound(session) for _ in range(60)]
        queue_folder_copies(session, "mb", mails, "retention", NOW)
    # two open transactions at once: the second skips what the first holds instead of waiting for it
    with sessions.begin() as first, sessions.begin() as second:
        held = claim_due_folder_deletions(first, "mb", NOW, LEASE, 5)
        other = claim_due_folder_deletions(second, "mb", NOW, LEASE, 5)
    assert len(held) == len(other) == 5 and not set(held) & set(other)

    def batch(session: Session) -> list[int]:
        return claim_due_folder_deletions(session, "mb", NOW, LEASE, 3)

    claimed = _claim_in_threads(sessions, batch, workers=4)
    assert len(claimed) == len(set(claimed)) == 50  # each row once, none twice
    with sessions() as session:
        assert {r.attempts for r in session.scalars(select(FolderDeletion))} == {1}


def test_without_insert_returning_new_rows_are_counted_all_the_same(tmp_path, monkeypatch) -> None:
    sessions = migrated(f"sqlite:///{tmp_path / 'old.db'}")
    monkeypatch.setattr(sessions.kw["bind"].dialect, "insert_returning", False)  # as SQLite before 3.35
    with sessions.begin() as session:
        mails = [inbound(session) for _ in range(3)]
        assert queue_folder_copies(session, "mb", mails[:1], "erasure", NOW) == 1
        assert queue_folder_copies(session, "mb", mails, "erasure", NOW) == 2
