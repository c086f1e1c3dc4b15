"""Ticket references are no counter a stranger can read volume from (issue 11), on SQLite and PostgreSQL:
eight random digits by default, typed and found like before, old references kept; and a stranger
guessing references costs the team no more notices than the normal per-sender budget."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import event, select

from mailbot.app import open_app
from mailbot.cli import main
from mailbot.config import load_settings
from mailbot.db.schema import Ticket
from mailbot.reply.subject import find_references
from mailbot.tickets.service import find_by_reference, new_reference, parse_reference
from tests.e2e.conftest import TEAM, Bot, make_mail, parse, write_config

pytestmark = pytest.mark.servers
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
CRASH = "Die App stürzt seit dem Update bei jedem Start sofort ab. Neu installieren hilft nicht."
RANDOM = re.compile(r"MB-[1-9][0-9]{7}")


def random_numbers(config: Path) -> Path:
    """The configuration as an operator writes it: without the tests' `ticket_numbers = "sequential"`."""
    text, removed = re.subn(r"(?m)^ticket_numbers = \"sequential\".*\n", "", config.read_text())
    assert removed == 1
    config.write_text(text)
    return config


@pytest.fixture
def pg_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url) -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    return Bot(dovecot, imap_user, smtp_sink, random_numbers(config))


def test_references_are_random_digits_typed_and_found_like_before(pg_bot: Bot, capsys) -> None:
    for number in range(3):
        pg_bot.deliver(make_mail(f"kunde{number}@example.org", "Passwort vergessen", QUESTION))
    pg_bot.run_once()

    references = [ticket.reference or "" for ticket in pg_bot.tickets()]
    assert all(RANDOM.fullmatch(reference) for reference in references), references
    numbers = sorted(int(reference[3:]) for reference in references)
    assert numbers != list(range(numbers[0], numbers[0] + 3))  # no counter (chance of failing: 1e-14)
    answer = parse(pg_bot.sent_to("kunde0@example.org")[0])
    assert answer["Subject"] == f"Re: Passwort vergessen [{references[0]}]"
    assert find_references(answer["Subject"], "MB") == (int(references[0][3:]),)

    # typed by an agent as before: any case, with or without prefix, brackets or the number alone
    for typed in (references[0].lower(), references[0][3:], f"[{references[0]}]"):
        capsys.readouterr()
        assert main(["tickets", "show", typed, "--json", "--config", str(pg_bot.config)]) == 0
        assert f'"reference": "{references[0]}"' in capsys.readouterr().out

    # the customer's reply with the reference in the subject joins the ticket
    reply = make_mail("kunde0@example.org", f"AW: {answer['Subject']}", "Danke, hat geklappt!")
    pg_bot.deliver(reply)
    pg_bot.run_once()
    assert len(pg_bot.tickets()) == 3 and pg_bot.inbound()[-1].ticket_id == pg_bot.tickets()[0].id


def test_tickets_made_before_keep_their_sequential_references(
    tmp_path, dovecot, imap_user, smtp_sink
) -> None:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    bot.deliver(make_mail("alt@example.org", "Absturz", CRASH))
    bot.run_once()
    assert [t.reference for t in bot.tickets()] == ["MB-000001"]

    random_numbers(config)  # the operator moves to random numbers (the new default)
    bot.deliver(make_mail("neu@example.org", "Absturz", CRASH))
    bot.deliver(make_mail("alt@example.org", "AW: Re: Absturz [MB-000001]", "Es stürzt immer noch ab."))
    bot.run_once()
    old, new = bot.tickets()
    assert old.reference == "MB-000001" and RANDOM.fullmatch(new.reference or "")
    assert bot.inbound()[-1].ticket_id == old.id  # the old reference still joins its ticket


def test_a_drawn_number_already_taken_is_drawn_again(tmp_path, database_url) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text(
        f'[support]\naddress = "support@example.com"\n[team]\naddress = "{TEAM}"\n'
        f'[maildir]\npath = "Maildir"\n[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n'
        f'[database]\nurl = "{database_url}"\n'
    )
    app = open_app(load_settings(config, env={}))
    draws = iter([5, 5, 5, 77])  # the first number three times, then another
    now = datetime(2026, 5, 26, 9, tzinfo=UTC)
    with app.sessions.begin() as session:
        for number in count(1):
            ticket = Ticket(mailbox=app.mailbox, customer="k@example.org", language="de", state="escalated")
            ticket.created_at = ticket.updated_at = now
            session.add(ticket)
            session.flush()
            ticket.reference = new_reference(session, app, ticket.id, lambda _n: next(draws))
            if number == 2:
                break
        references = list(session.scalars(select(Ticket.reference).order_by(Ticket.id)))
        assert references == ["MB-10000005", "MB-10000077"]
        assert find_by_reference(session, app, "mb-10000077").reference == "MB-10000077"
        with pytest.raises(RuntimeError, match="no free ticket number"):
            new_reference(session, app, 3, lambda _n: 5)
    assert parse_reference("mb-10000077") == ("MB", 10000077)
    app.close()


def test_a_sequential_number_already_taken_is_skipped_by_an_indexed_look_up(tmp_path, database_url) -> None:
    config = tmp_path / "mailbot.toml"
    config.write_text(
        '[support]\naddress = "support@example.com"\nticket_numbers = "sequential"\n'
        f'[team]\naddress = "{TEAM}"\n'
        f'[maildir]\npath = "Maildir"\n[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n'
        f'[database]\nurl = "{database_url}"\n'
    )
    app = open_app(load_settings(config, env={}))
    now = datetime(2026, 5, 26, 9, tzinfo=UTC)
    statements: list[str] = []
    with app.sessions.begin() as session:

        def new_ticket(reference: str | None = None) -> str:
            ticket = Ticket(mailbox=app.mailbox, customer="k@example.org", language="de", state="escalated")
            ticket.created_at = ticket.updated_at = now
            session.add(ticket)
            session.flush()
            ticket.reference = reference or new_reference(session, app, ticket.id)
            session.flush()
            return ticket.reference

        new_ticket("MB-000003")  # typed in by hand, say
        new_ticket("MB-000001")  # the newest ticket: counting goes on from it
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(app.engine, "before_cursor_execute", listen)
        try:
            assert [new_ticket(), new_ticket()] == ["MB-000002", "MB-000004"]  # 3 is taken: skipped
        finally:
            event.remove(app.engine, "before_cursor_execute", listen)
    looks = [sql for sql in statements if "tickets.reference =" in sql]
    assert looks and not [sql for sql in statements if " LIKE " in sql.upper()]  # the unique index
    app.close()


def test_guessed_references_cost_no_more_team_notices_than_the_sender_budget(
    tmp_path, dovecot, imap_user, smtp_sink
):
    budget = 3
    config = write_config(
        tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink,
        extra=f"[limits]\nteam_notices_per_sender_per_hour = {budget}\n",
    )  # fmt: skip
    bot = Bot(dovecot, imap_user, smtp_sink, random_numbers(config))
    bot.deliver(make_mail("kunde@example.org", "Absturz", CRASH))
    bot.run_once()
    (real,) = [t.reference for t in bot.tickets()]
    notices = len(bot.sent_to(TEAM))

    stranger = "rater@evil.example"
    guesses = [real, "MB-10000000", "MB-99999999", "MB-000001", "MB-000002", "MB-12345678", "MB-50000000"]
    for number, guess in enumerate(guesses):
        bot.deliver(make_mail(stranger, f"AW: Absturz [{guess}]", f"Status? ({number})"))
    bot.run_once()

    assert len(bot.sent_to(TEAM)) - notices <= budget
    assert not [m for m in bot.sent_to(stranger) if real.encode() in m]  # nothing about the real ticket
    assert all(t.customer == "kunde@example.org" for t in bot.tickets() if t.reference == real)


def test_two_workers_counting_one_mailbox_at_once_take_different_numbers(tmp_path, postgres) -> None:
    """A fleet on PostgreSQL: a watcher and a helper decide one mailbox; neither sees the other's
    uncommitted ticket, so the second counts only after the first committed (issue 13, bench/chaos.py
    found one decision failing on the unique key)."""
    config = tmp_path / "mailbot.toml"
    config.write_text(
        '[support]\naddress = "support@example.com"\nticket_numbers = "sequential"\n'
        f'[team]\naddress = "{TEAM}"\n[maildir]\npath = "Maildir"\n[smtp]\nhost = "127.0.0.1"\n'
        f'security = "none"\n[database]\nurl = "{postgres.new_database()}"\n'
    )
    app = open_app(load_settings(config, env={}))
    now = datetime(2026, 5, 26, 9, tzinfo=UTC)

    def new_ticket(session) -> str:
        ticket = Ticket(mailbox=app.mailbox, customer="k@example.org", language="de", state="escalated")
        ticket.created_at = ticket.updated_at = now
        session.add(ticket)
        session.flush()
        ticket.reference = new_reference(session, app, ticket.id)
        session.flush()
        return ticket.reference

    second: list[str] = []
    with app.sessions.begin() as first:
        assert new_ticket(first) == "MB-000001"
        other = threading.Thread(target=lambda: second.append(_in_own_transaction(app, new_ticket)))
        other.start()
        other.join(1.0)
        assert other.is_alive() and not second  # waits for the first worker's commit
    other.join(10)
    assert second == ["MB-000002"]
    app.close()


def _in_own_transaction(app, work):
    with app.sessions.begin() as session:
        return work(session)
