"""A backlog's outgoing mail is rendered and composed in a forked process beside deciding, and every row is
committed with its final bytes: the same bytes the worker would have built. When that process fails on a
mail or dies, the batch is decided again a mail at a time in the worker, and nothing is lost or sent twice
(real Dovecot, aiosmtpd, SQLite)."""

from __future__ import annotations

import dataclasses
import os
import threading
from datetime import UTC, datetime
from typing import Any

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.db.schema import OutboxMail
from mailbot.domain import Language
from mailbot.pipeline import process
from mailbot.pipeline.process import BATCH_SIZE
from mailbot.reply import compose_pool
from mailbot.reply.compose_pool import ComposeFailed, ComposePool
from mailbot.reply.outbox import Outgoing, compose_outgoing, enqueue
from mailbot.tickets.notify import sender_of
from tests.e2e.conftest import Bot
from tests.e2e.test_prepare_pool import backlog, decide_all

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def answer_to(recipient: str, subject: str = "Passwort vergessen") -> Outgoing:
    return Outgoing(
        kind="answer",
        language=Language.DE,
        recipient=recipient,
        to_customer=True,
        context={
            "reference": "MB-1",
            "customer_name": "Anna Müller",
            "support_name": "Support",
            "subject": subject,
            "article_title": "Passwort zurücksetzen",
            "article_markdown": "Tippen Sie auf **Passwort vergessen**.",
        },
        in_reply_to="<q1@example.org>",
        references=["<q1@example.org>"],
    )


def committed_without_bytes(bot: Bot) -> list[int]:
    return [row.id for row in bot.outbox() if not row.raw or not row.subject]


def queue(session: Any, app: Any, pool: ComposePool, item: Outgoing, cause: str) -> OutboxMail:
    """`item` queued as a decision queues it, its bytes built in the child."""
    return enqueue(
        session,
        app.renderer,
        sender_of(app),
        app.mailbox,
        item,
        ticket_id=None,
        inbound_id=None,
        now=NOW,
        dedup_key=cause,
        composer=pool,
    )


def test_the_child_builds_the_very_bytes_the_worker_would(bot: Bot) -> None:
    app = build_app(load_settings(bot.config))
    pool = ComposePool(app.renderer, app.engine)
    try:
        items = [
            answer_to("anna@example.org"),
            answer_to("bob@example.org", "Passwort =?utf-8?q?x?= vergessen"),
        ]
        with app.sessions.begin() as session:
            rows = [queue(session, app, pool, item, f"test-{number}") for number, item in enumerate(items)]
            assert [row.raw for row in rows] == [b"", b""]  # under way in the child
            pool.collect(session)
            for row, item, to in zip(rows, items, ["anna", "bob"], strict=True):
                expected = compose_outgoing(app.renderer, sender_of(app), item, row.message_id, NOW, to=True)
                assert (row.subject, row.raw) == expected
                assert f"To: {to}@example.org".encode() in row.raw
        assert committed_without_bytes(bot) == []
    finally:
        pool.close()
        app.close()
    assert pool.pid is None  # ended and waited for


def test_a_mail_the_child_cannot_build_fails_the_collect_and_the_child_lives_on(bot: Bot) -> None:
    app = build_app(load_settings(bot.config))
    pool = ComposePool(app.renderer, app.engine)
    try:
        broken = Outgoing("answer", Language.DE, "a@example.org", to_customer=True, context={})
        with app.sessions() as session:
            queue(session, app, pool, broken, "broken")
            try:
                pool.collect(session)
            except ComposeFailed as exc:
                assert "needs context key" in str(exc)
            else:
                raise AssertionError("collect() must fail for a mail that cannot be built")
            session.rollback()
        assert pool.running
        with app.sessions.begin() as session:
            row = queue(session, app, pool, answer_to("anna@example.org"), "good")
            pool.collect(session)
            assert row.raw.startswith(b"From: ")
    finally:
        pool.close()
        app.close()


def test_a_backlogs_mail_is_composed_beside_deciding(bot: Bot, monkeypatch) -> None:
    collected: list[int] = []
    real = ComposePool.collect

    def collect(self: ComposePool, session: Any) -> None:
        collected.append(len(self._pending))
        real(self, session)

    monkeypatch.setattr(ComposePool, "collect", collect)
    backlog(bot, 2 * BATCH_SIZE + 3)
    report = decide_all(bot)
    assert report.failures == 0 and report.by_outcome == {"answered": 2 * BATCH_SIZE + 3}
    assert collected == [BATCH_SIZE, BATCH_SIZE, 3]  # every answer of every batch came from the child
    assert committed_without_bytes(bot) == []
    bot.run_once()
    assert len(bot.sink.messages) == 2 * BATCH_SIZE + 3


def test_a_mail_that_fails_in_the_child_is_decided_again_alone_in_the_worker(
    bot: Bot, monkeypatch, caplog
) -> None:
    real = compose_pool.compose_outgoing

    def fails_for_one(renderer: Any, sender: Any, item: Outgoing, *args: Any, **kwargs: Any) -> Any:
        if item.recipient == "kunde5@example.org":
            raise RuntimeError("a fault only the child has")
        return real(renderer, sender, item, *args, **kwargs)

    monkeypatch.setattr(compose_pool, "compose_outgoing", fails_for_one)  # the fork inherits it
    backlog(bot, BATCH_SIZE + 2)
    report = decide_all(bot)
    assert report.failures == 0 and report.decided == BATCH_SIZE + 2
    assert "a fault only the child has" in caplog.text  # the batch was decided again, one by one
    assert "could not be committed" in caplog.text
    assert committed_without_bytes(bot) == []
    bot.run_once()
    assert sorted(to for message in bot.sink.messages for to in message.rcpt_tos) == sorted(
        f"kunde{n}@example.org" for n in range(BATCH_SIZE + 2)
    )


def test_when_the_compose_process_dies_the_pass_goes_on_without_it(bot: Bot, monkeypatch, caplog) -> None:
    def die(*_args: Any, **_kwargs: Any) -> Any:
        os._exit(1)  # in the child: as if it were killed

    monkeypatch.setattr(compose_pool, "compose_outgoing", die)
    backlog(bot, 2 * BATCH_SIZE + 1)
    report = decide_all(bot)
    assert report.failures == 0 and report.decided == 2 * BATCH_SIZE + 1
    assert "the compose process is gone" in caplog.text
    assert {row.state for row in bot.inbound()} == {"done"}
    assert committed_without_bytes(bot) == []
    bot.run_once()
    assert len(bot.sink.messages) == 2 * BATCH_SIZE + 1  # one answer each, none lost, none twice


def fail_after_the_answer_to(monkeypatch: Any, address: str) -> None:
    """The decision of `address`'s mail fails after its answer was queued."""
    real = process._fill_in

    def fails_after_its_answer(row: Any, mail: Any) -> None:
        if mail.from_addr == address:
            raise RuntimeError("a fault after the answer was queued")
        real(row, mail)

    monkeypatch.setattr(process, "_fill_in", fails_after_its_answer)


def test_the_mail_of_a_decision_rolled_back_is_not_waited_for(bot: Bot, monkeypatch) -> None:
    fail_after_the_answer_to(monkeypatch, "kunde7@example.org")
    backlog(bot, BATCH_SIZE + 1)
    report = decide_all(bot)
    assert report.failures == 1 and report.decided == BATCH_SIZE  # the others were committed together
    assert committed_without_bytes(bot) == []
    assert "kunde7@example.org" not in {row.recipient for row in bot.outbox()}


def test_a_value_that_cannot_go_to_the_child_is_composed_in_the_worker(bot: Bot) -> None:
    app = build_app(load_settings(bot.config))
    pool = ComposePool(app.renderer, app.engine)
    try:
        item = answer_to("anna@example.org")
        item = dataclasses.replace(item, context={**item.context, "unused": threading.Lock()})  # no pickle
        with app.sessions.begin() as session:
            row = queue(session, app, pool, item, "lock")
            assert row.raw.startswith(b"From: ")  # built at once, not waited for
            pool.collect(session)
        assert pool.running
    finally:
        pool.close()
        app.close()


def test_a_child_whose_worker_is_gone_while_it_answers_ends_quietly(bot: Bot) -> None:
    app = build_app(load_settings(bot.config))
    pool = ComposePool(app.renderer, app.engine)
    try:
        with app.sessions() as session:
            queue(session, app, pool, answer_to("anna@example.org"), "gone")
        pool._answers.close()  # as a worker killed while it waits for the answers
        assert pool._jobs is not None
        pool._jobs.send(compose_pool.COLLECT)
        assert pool.pid is not None
        _pid, status = os.waitpid(pool.pid, 0)
        pool.pid = None
        assert os.waitstatus_to_exitcode(status) == 0  # no traceback, no failure: nobody to tell
    finally:
        pool._jobs = None
        app.close()
