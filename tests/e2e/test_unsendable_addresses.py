"""An address that cannot be sent to never fails a decision, and one mail never stops the out-of-hours
notes of the others (issue 11), over real Dovecot + aiosmtpd, on SQLite and PostgreSQL.

Regression: compose raised ValueError for a non-ASCII local part or an invalid domain, which rolled
back the whole decision (retried, then quarantined) and, in acknowledge mode, made every pass exit
while the calendar was closed.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from mailbot.cli import main
from tests.e2e.conftest import TEAM, Bot, make_mail, parse, text_of, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers

OUTAGE = (
    "Seit dem Update heute stürzt die App bei allen Nutzern sofort beim Start ab. "
    "Niemand kann mehr Kurse buchen, es geht gar nichts mehr."
)
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
HOURS = """timezone = "Europe/Berlin"
monday = ["08:00-18:00"]
tuesday = ["08:00-18:00"]
wednesday = ["08:00-18:00"]
thursday = ["08:00-18:00"]
friday = ["08:00-18:00"]
outside_hours = "acknowledge"
"""
SATURDAY = "2026-05-23T10:00+02:00"


def utf8_mail(sender: str, subject: str, body: str, number: int) -> bytes:
    """As an SMTPUTF8 mail system writes it: UTF-8 in the header."""
    return (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <unsendable-{number}@example.org>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def pg_bot(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, database_url: str
) -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    return Bot(dovecot, imap_user, smtp_sink, config)


@pytest.mark.parametrize(
    ("sender", "why"),
    [
        ("jörg@example.com", "non-ASCII local part"),  # no SMTPUTF8
        ("kunde@xn--zz.example", "not a valid host name"),  # invalid punycode
        (f"kunde@{'a' * 64}.example", "not a valid host name"),  # a label over 63 octets
    ],
)
def test_an_escalation_to_an_unsendable_address_keeps_its_ticket_and_tells_the_team(
    pg_bot: Bot, sender: str, why: str
):
    pg_bot.deliver(utf8_mail(sender, "App stürzt ab", OUTAGE, 1))
    pg_bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    pg_bot.run_once()

    unsendable, erika = pg_bot.inbound()
    assert (unsendable.state, unsendable.outcome, unsendable.attempts) == ("done", "escalated", 1)
    assert erika.outcome == "answered" and len(pg_bot.sent_to("erika@example.org")) == 1
    ticket = next(t for t in pg_bot.tickets() if t.id == unsendable.ticket_id)
    assert ticket.state == "escalated"
    ack = next(row for row in pg_bot.outbox() if row.kind == "acknowledgement")
    assert ack.state == "failed" and why in (ack.last_error or "") and ack.ticket_id == ticket.id
    assert ack.sent_at is None and ack.attempts == 0  # never handed to the SMTP server
    kinds = sorted(parse(raw)["Subject"].split(":")[0] for raw in pg_bot.sent_to(TEAM))
    assert len(kinds) == 2  # the new ticket's notice and the notice that the customer got nothing
    (failed_notice,) = [raw for raw in pg_bot.sent_to(TEAM) if why in text_of(raw)]
    assert ticket.reference in text_of(failed_notice)
    # no server was asked, and the team's mail (German) says so instead of a server's refusal
    assert "kein Mailserver wurde gefragt" in text_of(failed_notice)
    assert "Mailserver des Empfängers" not in text_of(failed_notice)


def test_a_knowledge_base_answer_to_an_unsendable_address_is_recorded_not_retried(pg_bot: Bot, capsys):
    pg_bot.deliver(utf8_mail("jörg@example.com", "Passwort vergessen", QUESTION, 2))
    pg_bot.run_once()
    pg_bot.run_once()  # nothing is retried: the mail is decided, its answer failed for good

    (row,) = pg_bot.inbound()
    assert (row.outcome, row.attempts) == ("answered", 1)
    (answer,) = [r for r in pg_bot.outbox() if r.kind == "answer"]
    assert answer.state == "failed" and "SMTPUTF8" in (answer.last_error or "")
    assert b"Passwort" in answer.raw  # what the customer would have read stays on record
    assert len(pg_bot.sent_to(TEAM)) == 1
    status = pg_bot.status(capsys)
    assert status["outbox"].get("failed") == 1 and status["quarantined"] == []


def test_out_of_hours_notes_go_to_everyone_else_when_one_mail_fails(
    tmp_path: Path,
    dovecot: DovecotServer,
    imap_user: str,
    smtp_sink: SmtpSink,
    database_url: str,
    monkeypatch,
):
    config = write_config(
        tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, hours=HOURS, database_url=database_url
    )
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    when = datetime.fromisoformat("2026-05-23T09:00+02:00")
    bot.dovecot.append(bot.user, "INBOX", utf8_mail("jörg@example.com", "Frage", QUESTION, 3), msg_time=when)
    bot.dovecot.append(bot.user, "INBOX", make_mail("broken@example.org", "Kaputt", "Hallo"), msg_time=when)
    bot.dovecot.append(bot.user, "INBOX", make_mail("erika@example.org", "Frage", QUESTION), msg_time=when)

    import mailbot.pipeline.out_of_hours as out_of_hours

    real_parse = out_of_hours.parse_mail

    def parse_or_fail(raw: bytes, **kwargs):
        if b"broken@example.org" in raw:
            raise RuntimeError("a bug that only this mail triggers")
        return real_parse(raw, **kwargs)

    monkeypatch.setattr(out_of_hours, "parse_mail", parse_or_fail)
    assert main(["run", "--once", "--config", str(config), "--now", SATURDAY]) == 0
    assert main(["run", "--once", "--config", str(config), "--now", "2026-05-23T10:05+02:00"]) == 0

    (note,) = bot.sent_to("erika@example.org")  # once, although two passes ran
    assert "Montag, 25. Mai 2026, 08:00 Uhr" in text_of(note)
    joerg, broken, erika = bot.inbound()
    notes = {row.inbound_id: row for row in bot.outbox() if row.kind == "out_of_hours"}
    assert notes[erika.id].state == "sent"
    assert notes[joerg.id].state == "failed" and "SMTPUTF8" in (notes[joerg.id].last_error or "")
    assert notes[broken.id].state == "failed"
    assert "RuntimeError: a bug that only this mail triggers" in (notes[broken.id].last_error or "")
    assert {row.state for row in bot.inbound()} == {"received"}  # all three still wait for the opening
