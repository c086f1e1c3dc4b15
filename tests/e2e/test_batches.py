"""Mail is decided in batches (one transaction each) without giving up "one bad mail fails alone"
(real Dovecot, aiosmtpd, SQLite and PostgreSQL)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from mailbot.app import build_app
from mailbot.clock import fixed_clock
from mailbot.config import load_settings
from mailbot.pipeline import process
from mailbot.pipeline.process import BATCH_SIZE, process_pending
from tests.e2e.conftest import Bot, make_mail, write_config

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
POISON = "Gift"


def customers(count: int) -> list[str]:
    return [f"kunde{n}@example.org" for n in range(count)]


def poisoned(real: Any, failure: BaseException) -> Any:
    """apply_decision that fails with `failure` for the mail whose subject is POISON."""

    def apply(session: Any, app: Any, row: Any, mail: Any, *args: Any, **kwargs: Any) -> Any:
        if mail.subject == POISON:
            raise failure
        return real(session, app, row, mail, *args, **kwargs)

    return apply


def test_a_mail_that_kills_its_worker_uses_up_only_its_own_attempts(bot: Bot, monkeypatch) -> None:
    """The worker dies (KeyboardInterrupt stands for a kill) on the third mail of a batch, again and
    again: that mail is quarantined after max_attempts; the mails claimed with it are each decided
    once, alone, never quarantined for its sake."""
    people = customers(6)
    for index, person in enumerate(people):
        bot.deliver(make_mail(person, POISON if index == 2 else "Passwort vergessen", QUESTION))
    settings = load_settings(bot.config)
    monkeypatch.setattr(process, "apply_decision", poisoned(process.apply_decision, KeyboardInterrupt()))
    started = datetime.now().astimezone()
    crashes = 0
    for round_ in range(6):  # each round: a restarted worker, after the dead one's lease ran out
        app = build_app(settings, fixed_clock(started + timedelta(minutes=6 * round_)))
        source = app.make_source()
        try:
            if round_ == 0:
                source.fetch_new()
            process_pending(app)
        except KeyboardInterrupt:
            crashes += 1
        finally:
            source.close()
            app.close()
    monkeypatch.undo()
    bot.run_once("--now", (started + timedelta(minutes=40)).isoformat())  # delivers what was decided
    rows = dict(zip(people, bot.inbound(), strict=True))  # in arrival order
    assert crashes == 3  # the batch once, then the poison alone twice; the fourth claim gives up
    assert rows[people[2]].state == "quarantined"
    assert "gave up after 3 failed attempts" in (rows[people[2]].reason or "")
    for person in people[:2] + people[3:]:
        assert (rows[person].state, rows[person].outcome) == ("done", "answered")
        assert rows[person].attempts == 2  # the batch that died, then once alone
        assert len(bot.sent_to(person)) == 1


def test_a_mail_that_fails_is_rolled_back_alone_and_the_batch_goes_on(bot: Bot, monkeypatch) -> None:
    people = customers(3)
    for index, person in enumerate(people):
        bot.deliver(make_mail(person, POISON if index == 1 else "Passwort vergessen", QUESTION))
    monkeypatch.setattr(process, "apply_decision", poisoned(process.apply_decision, RuntimeError("kaputt")))
    bot.run_once()
    rows = dict(zip(people, bot.inbound(), strict=True))
    assert [(rows[p].state, rows[p].attempts) for p in (people[0], people[2])] == [("done", 1)] * 2
    assert (rows[people[1]].state, rows[people[1]].attempts) == ("quarantined", 3)
    assert "kaputt" in (rows[people[1]].reason or "")
    assert [len(bot.sent_to(p)) for p in people] == [1, 0, 1]
    assert {row.inbound_id for row in bot.outbox()} == {rows[people[0]].id, rows[people[2]].id}


def test_a_failing_mail_rolls_its_batch_back_and_the_batch_is_decided_again_a_mail_at_a_time(
    bot: Bot, monkeypatch, caplog
) -> None:
    """No savepoint per mail (issue 13): the first mail that fails rolls back its batch's decisions, and
    the batch is decided again a mail at a time. The others are decided once, one reply queued each, no
    row of the rolled-back decisions left; the failure is counted and logged for its own mail alone,
    and the warning says which mail took the batch down."""
    people = customers(4)
    for index, person in enumerate(people):
        bot.deliver(make_mail(person, POISON if index == 2 else "Passwort vergessen", QUESTION))
    monkeypatch.setattr(process, "apply_decision", poisoned(process.apply_decision, RuntimeError("kaputt")))
    app = build_app(load_settings(bot.config))
    source = app.make_source()
    try:
        source.fetch_new()
        with caplog.at_level(logging.WARNING, logger="mailbot.pipeline.process"):
            report = process_pending(app)
    finally:
        source.close()
        app.close()
    rows = dict(zip(people, bot.inbound(), strict=True))
    poison = rows[people[2]]
    assert (report.decided, report.failures) == (3, 1)
    assert (
        f"a batch of 4 mails could not be committed (inbound #{poison.id} failed: RuntimeError)"
        in caplog.text
    )
    failures_logged = [r.getMessage() for r in caplog.records if r.getMessage().startswith("processing")]
    assert failures_logged == [f"processing inbound #{poison.id} failed"]  # once, when decided alone
    assert "kaputt" in (poison.last_error or "") and poison.attempts == 1
    others = [rows[p] for p in people if p != people[2]]
    assert [(row.state, row.outcome, row.attempts) for row in others] == [("done", "answered", 1)] * 3
    assert sorted(row.inbound_id for row in bot.outbox()) == sorted(row.id for row in others)
    assert len(bot.tickets()) == 3


@pytest.mark.parametrize("mails", [BATCH_SIZE + 5])
def test_a_batch_is_one_transaction_and_mail_in_it_threads_on_the_tickets_before_it(
    tmp_path, dovecot, imap_user, smtp_sink, database_url, mails: int
) -> None:
    """SQLite and PostgreSQL: `mails` mails take two batches, each claimed in one transaction and
    decided in another; a customer's second mail in the same batch joins the ticket of the first,
    because the batch's own rows are visible to it."""
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    people = customers(mails - 1)
    for person in people:
        bot.deliver(make_mail(person, "Passwort vergessen", QUESTION, message_id=f"<{person}>"))
    follow_up = make_mail(
        people[0], "Re: Passwort vergessen", "Danke, hat geklappt!", headers={"In-Reply-To": f"<{people[0]}>"}
    )
    bot.deliver(follow_up)
    settings = load_settings(config)
    app = build_app(settings)
    commits: list[int] = []
    event.listen(app.engine, "commit", lambda _connection: commits.append(1))
    source = app.make_source()
    try:
        source.fetch_new()
        commits.clear()
        report = process_pending(app)
    finally:
        source.close()
        app.close()
    assert report.decided == mails and report.failures == 0
    assert len(commits) == 2 * 2 + 1  # two batches (claim, decide), and the claim that found nothing
    bot.run_once()
    assert len(bot.tickets()) == mails - 1
