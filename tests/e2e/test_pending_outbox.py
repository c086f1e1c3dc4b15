"""A batch's outbox rows wait unwritten and are written in one INSERT before its commit; a read of the
outbox that could see one of them (the team-notice limit, a look-up by Message-ID) has them written
first, so every limit counts what the batch queued; the per-address limits count them in memory
(mailbot.reply.counted_ahead). Real Dovecot, SQLite and PostgreSQL; the bytes from the forked compose
process over a backlog, or composed in the deciding thread without one, as in a fleet worker's watch
session."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from mailbot.pipeline.process import BATCH_SIZE
from mailbot.reply.compose_here import ComposeHere
from mailbot.reply.compose_pool import ComposePool
from tests.e2e.conftest import TEAM, Bot, make_mail, write_config
from tests.e2e.test_bounces import postfix_dsn
from tests.e2e.test_compose_pool import committed_without_bytes, fail_after_the_answer_to
from tests.e2e.test_prepare_pool import QUESTION, backlog, decide_all

pytestmark = pytest.mark.servers


@pytest.fixture
def outbox_inserts() -> Iterator[list[int]]:
    """The rows of each INSERT into the outbox in this process, one entry per statement."""
    statements: list[int] = []

    def note(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if statement.startswith("INSERT INTO outbox "):
            statements.append(len(parameters) if many else 1)

    event.listen(Engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(Engine, "before_cursor_execute", note)


@pytest.fixture
def written_early(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each `write_if` wrote before its batch's end."""
    written: list[int] = []
    real = ComposePool.write_if

    def write_if(self: ComposePool, session: Any, seen: Any) -> None:
        waiting = len(self._pending)
        real(self, session, seen)
        if waiting and not self._pending:
            written.append(waiting)

    monkeypatch.setattr(ComposePool, "write_if", write_if)
    return written


@pytest.mark.parametrize("second_process", [True, False], ids=["compose-process", "compose-here"])
def test_rows_no_read_looks_for_are_written_in_one_insert_per_batch(
    bot: Bot, outbox_inserts: list[int], written_early: list[int], second_process: bool
) -> None:
    count = 2 * BATCH_SIZE + 3
    for number in range(count):  # one sender each; every third mail escalated (a team notice too)
        text = f"Etwas Unbekanntes {number}." if number % 3 == 0 else QUESTION
        bot.deliver(make_mail(f"kunde{number}@example.org", f"Frage {number}", text))
    report = decide_all(bot, second_process=second_process)
    escalated = len(range(0, count, 3))
    assert report.failures == 0
    assert report.by_outcome == {"answered": count - escalated, "escalated": escalated}
    assert len(outbox_inserts) == 3  # one per batch
    assert sum(outbox_inserts) == len(bot.outbox()) == count + escalated
    assert written_early == []
    assert committed_without_bytes(bot) == []
    bot.run_once()
    assert len(bot.sink.messages) == count + escalated


def test_a_flood_inside_one_batch_is_capped_as_when_it_came_mail_by_mail(
    bot: Bot, written_early: list[int]
) -> None:
    for number in range(BATCH_SIZE + 8):  # a whole batch from one sender, then some
        bot.deliver(make_mail("flood@example.org", f"Problem {number}", f"Etwas Unbekanntes {number}."))
    report = decide_all(bot)
    assert report.failures == 0 and report.decided == BATCH_SIZE + 8
    assert written_early  # the limits' reads had the batch's rows written first
    assert len(bot.tickets()) == BATCH_SIZE + 8
    queued = Counter(row.recipient for row in bot.outbox())
    assert queued == {"flood@example.org": 3, TEAM: 10}  # [limits] per sender per day, per hour
    assert committed_without_bytes(bot) == []
    bot.run_once()
    assert len(bot.sent_to("flood@example.org")) == 3
    assert len(bot.sent_to(TEAM)) == 10


def test_rows_written_early_go_with_their_batch_when_it_rolls_back(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, written_early: list[int]
) -> None:
    fail_after_the_answer_to(monkeypatch, "kunde7@example.org")
    for number in range(2):  # the second one's team-notice limit has the first one's notice written
        bot.deliver(make_mail("twice@example.org", f"Problem {number}", f"Etwas Unbekanntes {number}."))
    backlog(bot, BATCH_SIZE)
    report = decide_all(bot)
    assert written_early  # before kunde7 failed and the batch was rolled back
    assert report.failures == 1 and report.decided == BATCH_SIZE + 1
    rows = bot.outbox()
    assert Counter(row.recipient for row in rows)["twice@example.org"] == 2  # their two acknowledgements
    assert "kunde7@example.org" not in {row.recipient for row in rows}
    per_mail = Counter(Counter(row.inbound_id for row in rows).values())
    assert per_mail == {1: BATCH_SIZE - 1, 2: 2}  # an answer each; the two escalated: ack and notice
    assert committed_without_bytes(bot) == []


def test_a_backlog_with_a_flood_in_it_on_either_database(
    tmp_path: Any, dovecot: Any, imap_user: str, smtp_sink: Any, database_url: str, outbox_inserts: list[int]
) -> None:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    customers = []
    for number in range(BATCH_SIZE + 8):
        if number % 4 == 0:  # every fourth mail from one sender, in both batches
            bot.deliver(make_mail("flood@example.org", f"Problem {number}", f"Etwas Unbekanntes {number}."))
        else:
            customers.append(f"kunde{number}@example.org")
            bot.deliver(make_mail(customers[-1], "Passwort vergessen", QUESTION))
    bot.run_once()  # `run --once`: a full first batch, so the compose process is forked
    assert max(outbox_inserts) > 1  # the rows of a batch went in together
    assert {row.state for row in bot.inbound()} == {"done"}
    assert committed_without_bytes(bot) == []
    sent = Counter(to for message in bot.sink.messages for to in message.rcpt_tos)
    assert sent == Counter({"flood@example.org": 3, TEAM: 10, **dict.fromkeys(customers, 1)})


def test_a_flood_in_a_batch_composed_in_the_deciding_thread_on_either_database(
    tmp_path: Any, dovecot: Any, imap_user: str, smtp_sink: Any, database_url: str, outbox_inserts: list[int]
) -> None:
    """As a fleet worker's watch session decides (no second process): on PostgreSQL each INSERT of its
    own was a round trip to the server."""
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    customers = []
    for number in range(BATCH_SIZE + 8):
        if number % 4 == 0:
            bot.deliver(make_mail("flood@example.org", f"Problem {number}", f"Etwas Unbekanntes {number}."))
        else:
            customers.append(f"kunde{number}@example.org")
            bot.deliver(make_mail(customers[-1], "Passwort vergessen", QUESTION))
    report = decide_all(bot, second_process=False)
    assert report.failures == 0 and report.decided == BATCH_SIZE + 8
    assert max(outbox_inserts) > 1 and len(outbox_inserts) < len(bot.outbox()) / 4
    assert committed_without_bytes(bot) == []
    queued = Counter(row.recipient for row in bot.outbox())
    assert queued == Counter({"flood@example.org": 3, TEAM: 10, **dict.fromkeys(customers, 1)})


@pytest.mark.parametrize("composer", [ComposePool, ComposeHere], ids=["compose-process", "compose-here"])
def test_every_read_of_the_outbox_while_rows_wait_says_first_what_it_could_see(
    bot: Bot, monkeypatch: pytest.MonkeyPatch, composer: Any
) -> None:
    """A guard for reads added later: each SELECT on the outbox that runs while a batch's rows wait
    must follow a `before_reading` (which asks the composer's `write_if`), or it misses them."""
    pools: list[Any] = []
    announced: list[bool] = [False]
    unannounced: list[str] = []
    real_compose, real_write_if = composer.compose, composer.write_if

    def compose(self: Any, *args: Any) -> bool:
        if self not in pools:
            pools.append(self)
        return real_compose(self, *args)

    def write_if(self: Any, session: Any, seen: Any) -> None:
        announced[0] = True
        real_write_if(self, session, seen)

    def note(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.startswith("SELECT") and " outbox" in statement:
            if any(pool._pending for pool in pools) and not announced[0]:
                unannounced.append(statement[:200])
            announced[0] = False  # one announcement, one read

    monkeypatch.setattr(composer, "compose", compose)
    monkeypatch.setattr(composer, "write_if", write_if)
    for number in range(BATCH_SIZE + 8):  # answers, escalations, a flood, a bounce, a reply to a thread
        if number % 5 == 0:
            bot.deliver(make_mail("flood@example.org", f"Problem {number}", f"Etwas Unbekanntes {number}."))
        elif number == 7:
            bot.deliver(postfix_dsn("<1@elsewhere.example>"))
        elif number % 3 == 0:
            bot.deliver(make_mail(f"kunde{number}@example.org", f"Absturz {number}", "Die App stürzt ab."))
        else:
            headers = {"In-Reply-To": "<earlier@customer.example.org>"} if number == 11 else None
            customer = f"kunde{number}@example.org"
            bot.deliver(make_mail(customer, "Passwort vergessen", QUESTION, headers=headers))
    event.listen(Engine, "before_cursor_execute", note)
    try:
        report = decide_all(bot, second_process=composer is ComposePool)
    finally:
        event.remove(Engine, "before_cursor_execute", note)
    assert report.failures == 0 and report.decided == BATCH_SIZE + 8
    assert pools  # the batch's mail went through the composer
    assert unannounced == []
