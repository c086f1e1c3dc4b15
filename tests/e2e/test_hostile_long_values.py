"""A megabyte address over the wire (real Dovecot, aiosmtpd): the mail is decided or quarantined with a
reason, and no log record of mailbot, stored reason, last error, ticket event or team-mail text quotes
the megabyte; each names the problem in a short sentence.

Before, the refused answer's "not sent: the domain '<1 MB>' is not a valid host name" was logged,
stored (cut at 2,000) and mailed to the team, and the decision line and the team's "delivery failed"
mail named the recipient whole (up to 9 MB of mail for a domain of soft hyphens, four characters each
in a repr)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select, update

from mailbot.db.schema import InboundMail, TicketEvent
from tests.e2e.conftest import TEAM, Bot, make_mail, parse

pytestmark = pytest.mark.servers
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
MB = 1_000_000
BOUND = 1_000  # the longest a log line, reason or error about one mail may be
TEAM_TEXT = 10_000  # a team mail's text: the template, the ticket's facts, short quotes


def raw_mail(headers: str) -> bytes:
    """`headers` as written (RFC 6532 UTF-8, one unfolded line each), then a question the KB answers."""
    return (
        f"{headers}To: support@example.com\r\nSubject: Passwort\r\nMessage-ID: <lang@kunde.example>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{QUESTION}\r\n"
    ).encode()


def strings(value: object) -> Iterator[str]:
    """Every string in a stored JSON value (a decision record with its rule hits, a list of reasons)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings(item)


def team_texts(bot: Bot) -> list[str]:
    """The text and HTML the team reads (the attached original mail, message/rfc822, not included)."""
    texts = []
    for raw in bot.sent_to(TEAM):
        for part in parse(raw).iter_parts():
            if part.get_content_maintype() == "multipart":
                texts += [p.get_content() for p in part.iter_parts() if p.get_content_maintype() == "text"]
            elif part.get_content_maintype() == "text":
                texts.append(part.get_content())
    return texts


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param("From: kunde@" + "a" * MB + ".org\r\n", id="From-ascii-domain"),
        pytest.param("From: kunde@" + "\u00ad" * (MB // 2) + "example.org\r\n", id="From-soft-hyphens"),
        pytest.param("From: " + "k" * MB + "@example.org\r\n", id="From-local-part"),
        pytest.param(
            "From: kunde@example.org\r\nReply-To: antwort@" + "\u00ad" * (MB // 2) + "example.org\r\n",
            id="Reply-To-soft-hyphens",
        ),
    ],
)
def test_a_megabyte_address_is_decided_and_quoted_nowhere_at_length(bot: Bot, caplog, headers: str) -> None:
    bot.deliver(raw_mail(headers))
    with caplog.at_level(logging.DEBUG, logger="mailbot"):
        bot.run_once()

    [row] = bot.inbound()
    assert row.state in ("done", "quarantined")
    assert row.outcome and row.reason
    too_long = [
        f"{record.name}: {len(record.getMessage())}"
        for record in caplog.records
        if record.name.startswith("mailbot") and len(record.getMessage()) + len(record.exc_text or "") > BOUND
    ]
    assert not too_long
    stored = [row.reason or "", row.last_error or "", *strings(row.decision)]
    stored += [mail.last_error or "" for mail in bot.outbox()]
    with bot.db() as session:
        stored += [event.note for event in session.scalars(select(TicketEvent))]
    stored += [reason for ticket in bot.tickets() for reason in strings(ticket.severity_reasons)]
    assert [text[:200] for text in stored if len(text) >= BOUND] == []
    for text in team_texts(bot):
        assert len(text) < TEAM_TEXT


def test_the_refused_answer_says_why_in_a_short_sentence_to_the_team(bot: Bot) -> None:
    """The From domain cannot be encoded: the answer is refused at enqueue, the team is told."""
    bot.deliver(raw_mail("From: kunde@" + "\u00ad" * (MB // 2) + "example.org\r\n"))
    bot.run_once()
    [answer] = [mail for mail in bot.outbox() if mail.to_customer]
    assert answer.state == "failed"
    assert answer.last_error is not None
    assert "is not a valid host name (Domain too long)" in answer.last_error
    assert "(500011 characters)" in answer.last_error
    assert len(answer.last_error) < BOUND
    [notice] = [text for text in team_texts(bot) if "Domain too long" in text and "<" not in text[:20]]
    assert "(500017 characters)" in notice  # the recipient, named by its opening and its length
    assert len(notice) < TEAM_TEXT


def test_the_operators_lists_show_the_opening_of_a_megabyte_subject(bot: Bot, capsys) -> None:
    """`tickets list`, `quarantine list` and `status` print one line per item: a subject of a third of
    a megabyte is cut to its opening and its length there (`... show` prints it whole)."""
    from mailbot.cli import main

    subject = "Absturz " * 40_000
    bot.deliver(make_mail("kunde@example.org", subject, "Die App stürzt seit dem Update beim Start ab."))
    bot.deliver(f"Subject: {subject}\r\n\r\nkein Absender, keine Header".encode())
    bot.run_once()
    with bot.db() as session:  # stored as a refused team member's mail stores it (process._fill_in)
        session.execute(update(InboundMail).where(InboundMail.state == "quarantined").values(subject=subject))
        session.commit()
    assert {row.state for row in bot.inbound()} == {"done", "quarantined"}
    assert all(len(row.subject or "") > 300_000 for row in bot.inbound())  # stored whole
    config = ["--config", str(bot.config)]
    for command in (["tickets", "list"], ["quarantine", "list"], ["status"]):
        capsys.readouterr()
        assert main([*command, *config]) == 0
        out = capsys.readouterr().out
        assert "Absturz Absturz" in out and " characters" in out, command
        assert max(len(line) for line in out.splitlines()) < BOUND, command
