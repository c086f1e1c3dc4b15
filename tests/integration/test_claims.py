"""Claims of inbound and outbox rows (issue 13) on SQLite and PostgreSQL: a batch in arrival order in
one statement, an attempt counted per row, two workers never holding the same row, and what a dead
fleet worker held freed at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from mailbot.db.claims import Released, claim_due_outbox, claim_inbound_batch, release_claims_of_the_dead
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, OutboxState
from tests.integration.db_rows import NOW, inbound, migrated, outbox
from tests.servers.postgres import PostgresServer

LEASE = timedelta(minutes=5)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_a_batch_is_claimed_in_arrival_order_in_one_statement_with_an_attempt_each(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        # ids in another order than arrival: IMAP keeps the server's arrival time, not ours
        ids = [inbound(session, received_at=NOW - timedelta(minutes=m)).id for m in (1, 5, 3, 4, 2)]
        inbound(session, mailbox="other", received_at=NOW - timedelta(hours=1))
        inbound(session, state=InboundState.DONE, received_at=NOW - timedelta(hours=1))
        fresh = inbound(session, state=InboundState.PROCESSING, lease_until=NOW + LEASE).id
    by_arrival = [ids[1], ids[3], ids[2], ids[4], ids[0]]
    engine = sessions.kw["bind"]
    with sessions.begin() as session, statements(engine) as seen:
        first = claim_inbound_batch(session, "mb", NOW, LEASE, 3)
    assert first == by_arrival[:3]
    # expired leases, other suspects, then the batch of fresh mail
    assert sum(s.lstrip().upper().startswith(("UPDATE", "WITH")) for s in seen) == 3
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 3) == by_arrival[3:]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 3) == []
    with sessions() as session:
        rows = {row.id: row for row in session.scalars(select(InboundMail).where(InboundMail.id.in_(ids)))}
        assert all(r.state == InboundState.PROCESSING and r.attempts == 1 for r in rows.values())
        assert all(r.lease_until == NOW + LEASE for r in rows.values())
        assert session.get_one(InboundMail, fresh).attempts == 0  # a live lease is left alone


def test_skip_leaves_what_a_pass_tried_and_suspects_are_claimed_alone(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        ids = [inbound(session, received_at=NOW - timedelta(minutes=m)).id for m in (5, 4, 3, 2, 1)]
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 2) == ids[:2]
    with sessions.begin() as session:  # the first failed and went back to waiting: not again this pass
        session.get_one(InboundMail, ids[0]).state = InboundState.RECEIVED
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 2, skip={ids[0]}) == ids[2:4]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 5, skip={ids[0]}) == ids[4:]
    with sessions.begin() as session:  # the next pass: the failed one is a suspect, taken alone
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 5) == [ids[0]]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 5) == []
    later = NOW + LEASE + timedelta(seconds=1)  # every lease has run out: a crashed worker's mail
    with sessions.begin() as session:
        taken = [claim_inbound_batch(session, "mb", later, LEASE, 5) for _ in ids]
    assert sorted(taken) == [[row_id] for row_id in sorted(ids)]  # each alone, none twice
    with sessions() as session:
        assert session.get_one(InboundMail, ids[1]).attempts == 2
        assert session.get_one(InboundMail, ids[0]).attempts == 3


def test_outside_hours_mail_left_for_a_later_opening_is_not_claimed(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        left = inbound(session, received_at=NOW - timedelta(minutes=3))
        left.deferred_until = NOW + timedelta(hours=10)
        opened = inbound(session, received_at=NOW - timedelta(minutes=2))
        opened.deferred_until = NOW
        new = inbound(session, received_at=NOW - timedelta(minutes=1)).id
        ids = [left.id, opened.id, new]
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 5, outside_hours=True) == ids[1:]
    later = NOW + timedelta(hours=10)  # the opening: the mail left waiting is claimable again
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", later, LEASE, 5, skip=ids[1:]) == ids[:1]


def test_one_at_a_time_with_skip(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        ids = [inbound(session, received_at=NOW - timedelta(minutes=m)).id for m in (3, 2, 1)]
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1, skip={ids[0]}) == [ids[1]]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1) == [ids[0]]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1, skip={ids[2]}) == []


def test_due_outbox_rows_are_claimed_in_one_statement(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        due = [outbox(session, f"k{n}@x.example", created_at=NOW - timedelta(minutes=n)).id for n in range(4)]
        outbox(session, "later@example.org", created_at=NOW + timedelta(minutes=1))  # not due yet
        outbox(session, "sent@example.org", state=OutboxState.SENT)
        outbox(session, "other@example.org", mailbox="other")
        live = outbox(session, "busy@example.org", state=OutboxState.SENDING, lease_until=NOW + LEASE).id
        dead = outbox(session, "dead@example.org", state=OutboxState.SENDING, lease_until=NOW - LEASE).id
    engine = sessions.kw["bind"]
    with sessions.begin() as session, statements(engine) as seen:
        first = claim_due_outbox(session, "mb", NOW, LEASE, 3)
    assert first == due[:3]
    assert len(seen) == 1
    with sessions.begin() as session:
        assert claim_due_outbox(session, "mb", NOW, LEASE, 10) == [due[3], dead]
    with sessions() as session:
        rows = session.scalars(select(OutboxMail).where(OutboxMail.id.in_([*due, dead]))).all()
        assert {(r.state, r.lease_until) for r in rows} == {(OutboxState.SENDING, NOW + LEASE)}
        assert session.get_one(OutboxMail, dead).attempts == 1
        assert session.get_one(OutboxMail, live).attempts == 0


def test_a_claim_belongs_to_the_callers_transaction(database_url: str) -> None:
    sessions = migrated(database_url)
    with sessions.begin() as session:
        mail = inbound(session).id
        out = outbox(session, "k@x.example").id
    with sessions() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 5) == [mail]
        assert claim_due_outbox(session, "mb", NOW, LEASE, 5) == [out]
        session.rollback()
    with sessions() as session:
        assert session.get_one(InboundMail, mail).state == InboundState.RECEIVED
        assert session.get_one(OutboxMail, out).state == OutboxState.PENDING


def test_without_update_returning_each_row_gets_its_own_conditional_update(tmp_path, monkeypatch) -> None:
    sessions = migrated(f"sqlite:///{tmp_path / 'old.db'}")
    engine = sessions.kw["bind"]
    monkeypatch.setattr(engine.dialect, "update_returning", False)  # as SQLite before 3.35
    with sessions.begin() as session:
        ids = [inbound(session, received_at=NOW - timedelta(minutes=m)).id for m in (2, 3, 1)]
        out = [outbox(session, f"k{n}@x.example").id for n in range(3)]
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 2) == [ids[1], ids[0]]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1) == [ids[2]]
        assert claim_due_outbox(session, "mb", NOW, LEASE, 5) == out
    with sessions() as session:
        assert {r.attempts for r in session.scalars(select(InboundMail))} == {1}


def test_two_workers_on_postgresql_never_claim_the_same_row(postgres: PostgresServer) -> None:
    sessions = migrated(postgres.new_database())
    with sessions.begin() as session:
        mails = {inbound(session, received_at=NOW - timedelta(seconds=n)).id for n in range(60)}
        mails_out = {outbox(session, f"k{n}@example.org").id for n in range(60)}
    # two open transactions at once: the second skips what the first holds instead of waiting for it
    with sessions.begin() as first, sessions.begin() as second:
        held = claim_inbound_batch(first, "mb", NOW, LEASE, 5)
        other = claim_inbound_batch(second, "mb", NOW, LEASE, 5)
        held_out = claim_due_outbox(first, "mb", NOW, LEASE, 5)
        other_out = claim_due_outbox(second, "mb", NOW, LEASE, 5)
    assert len(held) == len(other) == len(held_out) == len(other_out) == 5
    assert not set(held) & set(other) and not set(held_out) & set(other_out)

    def inbound_batch(session: Session) -> list[int]:
        return claim_inbound_batch(session, "mb", NOW, LEASE, 3)

    def outbox_batch(session: Session) -> list[int]:
        return claim_due_outbox(session, "mb", NOW, LEASE, 3)

    for claim, rows in ((inbound_batch, mails), (outbox_batch, mails_out)):
        claimed = _claim_in_threads(sessions, claim, workers=4)
        assert len(claimed) == len(set(claimed)) == len(rows) - 10  # each row once, none twice
    with sessions() as session:
        assert {r.attempts for r in session.scalars(select(InboundMail))} == {1}
        assert {r.attempts for r in session.scalars(select(OutboxMail))} == {1}


def _claim_in_threads(
    sessions: sessionmaker[Session], claim: Callable[[Session], list[int]], workers: int
) -> list[int]:
    claimed: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def work() -> None:
        start.wait()
        while True:
            with sessions.begin() as session:
                ids = claim(session)
            if not ids:
                return
            with lock:
                claimed.extend(ids)

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return claimed


def test_what_dead_fleet_workers_held_is_freed_and_nothing_else(database_url: str) -> None:
    sessions = migrated(database_url)
    dead, alive, newer = 7, 8, 10  # `newer` registered after the takeover read who is alive
    with sessions.begin() as session:
        mails = [inbound(session, received_at=NOW - timedelta(minutes=m)).id for m in (5, 4, 3, 2, 1)]
        elsewhere = inbound(session, mailbox="other").id
        replies = [outbox(session, f"k{n}@x.example").id for n in range(3)]
    with sessions.begin() as session:
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 2, claimant=dead) == mails[:2]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1, claimant=alive) == [mails[2]]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1, claimant=newer) == [mails[3]]
        assert claim_inbound_batch(session, "mb", NOW, LEASE, 1) == [mails[4]]  # outside a fleet
        assert claim_inbound_batch(session, "other", NOW, LEASE, 2, claimant=dead) == [elsewhere]
        assert claim_due_outbox(session, "mb", NOW, LEASE, 2, claimant=dead) == replies[:2]
        assert claim_due_outbox(session, "mb", NOW, LEASE, 2, claimant=alive) == replies[2:]
    with sessions() as session:
        claimers = {row.id: row.claimed_by for row in session.scalars(select(InboundMail))}
        holders = [dead, dead, alive, newer, None]
        assert claimers == {**dict(zip(mails, holders, strict=True)), elsewhere: dead}

    later = NOW + timedelta(seconds=40)  # its peers saw it dead: far inside its lease
    with sessions.begin() as session:
        freed = release_claims_of_the_dead(session, {"mb"}, {alive}, 9, later)
        assert freed == Released(mails=2, replies=2)
    with sessions.begin() as session:  # done already: nothing more to free
        assert release_claims_of_the_dead(session, {"mb"}, {alive}, 9, later) == Released(0, 0)
        assert release_claims_of_the_dead(session, set(), set(), 9, later) == Released(0, 0)

    after = later + timedelta(seconds=1)
    with sessions.begin() as session:
        # a mail among them may be what killed its worker: each is claimed alone, as after a lease
        assert claim_inbound_batch(session, "mb", after, LEASE, 5, claimant=9) == [mails[0]]
        assert claim_inbound_batch(session, "mb", after, LEASE, 5, claimant=9) == [mails[1]]
        assert claim_inbound_batch(session, "mb", after, LEASE, 5, claimant=9) == []  # all held still
        assert claim_inbound_batch(session, "other", after, LEASE, 5) == []  # not a mailbox freed
        assert claim_due_outbox(session, "mb", after, LEASE, 5, claimant=9) == replies[:2]
    with sessions() as session:
        assert session.get_one(InboundMail, mails[0]).claimed_by == 9
        assert session.get_one(InboundMail, mails[0]).attempts == 2
        assert session.get_one(InboundMail, mails[2]).lease_until == NOW + LEASE
        assert session.get_one(OutboxMail, replies[2]).claimed_by == alive
