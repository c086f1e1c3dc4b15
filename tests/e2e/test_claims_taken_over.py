"""A worker that lost its claims (its lease ran out, or a fleet's takeover freed them while it was
starved of CPU or paused) decides none of those mails and sends nothing for them: a claim's lease end
is its token, checked with the rows locked in the deciding transaction (mailbot.db.claims.held).
Found when 4 test processes shared 2 cores: a fleet worker whose fence had fired went on deciding and
sending for 8 s, and a customer got the same answer twice. Real Dovecot, aiosmtpd, SQLite and
PostgreSQL."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mailbot.app import App, build_app
from mailbot.config import load_settings
from mailbot.db import claims
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, Ticket
from mailbot.pipeline import process
from mailbot.pipeline.process import process_pending
from mailbot.reply import outbox_states
from mailbot.worker import delivery_for
from tests.e2e.conftest import make_mail, write_config
from tests.servers import DovecotServer, SmtpSink

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
PEER = 99  # the engine id of the worker that takes the mail over


@pytest.fixture
def app(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, database_url: str
) -> Any:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    for number in range(3):
        dovecot.deliver_lmtp(imap_user, make_mail(f"kunde{number}@example.org", "Passwort", QUESTION))
    app = build_app(load_settings(config))
    source = app.make_source()
    try:
        assert source.fetch_new() == 3
    finally:
        source.close()
    yield app
    app.close()


def _rows(app: App) -> list[InboundMail]:
    with app.sessions() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def _outbox(app: App) -> list[OutboxMail]:
    with app.sessions() as session:
        return list(session.scalars(select(OutboxMail)))


LEASE = timedelta(seconds=300)  # [limits] lease_seconds by default


def _after_each_claim(monkeypatch: pytest.MonkeyPatch, then: Any) -> None:
    """Run `then(mailbox)` right after each of this worker's claims has committed (before the claimed
    mail is read and decided)."""
    real = process._read_stored

    def read_after(app: App, row_ids: list[int]) -> Any:
        then(app.mailbox)
        return real(app, row_ids)

    monkeypatch.setattr(process, "_read_stored", read_after)


def test_mail_claimed_again_after_its_lease_is_decided_by_its_new_holder_only(
    app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """This worker stalls past its lease; a peer claims the mail (one suspect at a time, as it would);
    when this worker goes on, it decides none of them, counts no failure and writes nothing."""

    def peer_claims(mailbox: str) -> None:
        later = datetime.now(UTC) + LEASE + timedelta(seconds=1)
        with app.sessions.begin() as other:
            while claims.claim_inbound_batch(other, mailbox, later, LEASE, 64, claimant=PEER):
                pass

    _after_each_claim(monkeypatch, peer_claims)
    with caplog.at_level(logging.WARNING, logger="mailbot.pipeline.process"):
        report = process_pending(app)

    assert report.decided == 0 and report.failures == 0
    rows = _rows(app)
    assert [(row.state, row.claimed_by, row.attempts, row.outcome) for row in rows] == [
        (InboundState.PROCESSING, PEER, 2, None)
    ] * 3
    assert _outbox(app) == []
    with app.sessions() as session:
        assert session.scalars(select(Ticket)).all() == []
    assert "no longer claimed by this worker" in caplog.text


def test_mail_a_takeover_freed_is_left_alone_then_decided_once_by_the_next_life(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet worker (engine id 7) is seen dead while it holds the batch: the takeover frees it. The
    stalled pass decides none of it; the worker's next life (or any peer) decides each mail once."""
    app.claimant.current = lambda: 7

    def takeover(mailbox: str) -> None:
        with app.sessions.begin() as other:
            now = datetime.now(UTC)
            freed = claims.release_claims_of_the_dead(other, [mailbox], alive=[], newest=7, now=now)
        assert freed.mails == 3

    _after_each_claim(monkeypatch, takeover)
    assert process_pending(app).decided == 0
    assert _outbox(app) == []

    monkeypatch.undo()
    app.claimant.current = lambda: 8  # the next life
    assert process_pending(app).decided == 3
    answers = [row for row in _outbox(app) if row.kind == "answer"]
    assert sorted(row.recipient for row in answers) == [f"kunde{n}@example.org" for n in range(3)]


def test_a_failure_is_not_counted_on_mail_another_worker_holds_now(app: App) -> None:
    """Counting the failed attempt of a claim that was lost would overwrite the new holder's state
    (found: a mail a peer had answered went back to waiting, and was quarantined after 3 "failures")."""
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        (first,) = claims.claim_inbound_batch(session, app.mailbox, now, LEASE, 1)
    later = now + LEASE + timedelta(seconds=1)
    with app.sessions.begin() as session:
        assert claims.claim_inbound_batch(session, app.mailbox, later, LEASE, 1, claimant=PEER) == [first]

    process._record_failure(app, first, RuntimeError("boom"), now + LEASE)  # the first claim's token

    row = next(row for row in _rows(app) if row.id == first)
    assert (row.state, row.claimed_by, row.attempts, row.last_error) == (
        InboundState.PROCESSING,
        PEER,
        2,
        None,
    )
    process._record_failure(app, first, RuntimeError("boom"), later + LEASE)  # the holder's own: counted
    row = next(row for row in _rows(app) if row.id == first)
    assert (row.state, row.last_error) == (InboundState.RECEIVED, "RuntimeError: boom")


def test_a_stopping_worker_claims_no_more_mail_and_gives_back_what_it_claimed_ahead(
    app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "BATCH_SIZE", 1)
    decided: list[int] = []
    stopping = threading.Event()

    def commit() -> None:
        decided.append(1)
        stopping.set()  # the worker is told to stop (SIGTERM, or its fleet fence) after one batch

    report = process_pending(app, on_commit=commit, keep_going=lambda: not stopping.is_set())
    assert report.decided == 1
    states = sorted((row.state, row.attempts) for row in _rows(app))
    assert states == [(InboundState.DONE, 1), (InboundState.RECEIVED, 0), (InboundState.RECEIVED, 0)]

    given = datetime.now(UTC)
    with app.sessions.begin() as session:  # a batch claimed ahead and not decided: waiting again at once
        (ahead,) = claims.claim_inbound_batch(session, app.mailbox, given, LEASE, 1)
        assert (
            claims.release_inbound(session, [ahead], given + LEASE - timedelta(seconds=1)) == 0
        )  # not its token
        assert claims.release_inbound(session, [ahead], given + LEASE) == 1
    assert sorted(row.state for row in _rows(app)).count(InboundState.RECEIVED) == 2


def test_delivery_told_to_halt_sends_nothing_more(app: App, smtp_sink: SmtpSink) -> None:
    assert process_pending(app).decided == 3
    halt = threading.Event()
    halt.set()
    delivery_for(app, halt).start().finish()
    assert smtp_sink.messages == []
    assert {row.state for row in _outbox(app)} == {"pending"}

    delivery_for(app).start().finish()
    assert len(smtp_sink.messages) == 3


def test_a_reply_another_worker_holds_now_is_neither_deferred_nor_failed_here(app: App) -> None:
    """A connection that broke (or a 4xx/5xx) on a reply whose claim was taken over must not put the
    new holder's row back to pending, where it would go out once more."""
    assert process_pending(app).decided == 3
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        mine = claims.claim_due_outbox(session, app.mailbox, now, LEASE, 3, claimant=7)
    later = now + LEASE + timedelta(seconds=1)
    with app.sessions.begin() as session:  # worker 7 was seen dead; worker 8 took its replies
        assert claims.claim_due_outbox(session, app.mailbox, later, LEASE, 3, claimant=8) == mine

    first, second, third = mine
    assert not outbox_states.mark_deferred(app.sessions, first, "421 try later", now, claimant=7)
    assert not outbox_states.mark_failed(app.sessions, second, "550 no such user", None, claimant=7)
    assert {(row.state, row.claimed_by) for row in _outbox(app)} == {("sending", 8)}
    assert outbox_states.mark_deferred(app.sessions, third, "421 try later", later, claimant=8)
    assert sorted(row.state for row in _outbox(app)) == ["pending", "sending", "sending"]
