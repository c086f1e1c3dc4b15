"""Asynchronous bounces (issue 11), over the real Dovecot, SMTP sink, SQLite and PostgreSQL: a bounce that
names a mail we sent is recorded on that mail's ticket and the team is told the customer did not get it;
no bounce is ever answered, and a forged one naming no mail of ours changes nothing."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mailbot.db.schema import TicketEvent
from tests.e2e.conftest import SUPPORT, TEAM, Bot, make_mail, parse, text_of, write_config

pytestmark = pytest.mark.servers
CUSTOMER = "kunde@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"
USER_UNKNOWN = (
    "550 5.1.1 <kunde@example.org>: Recipient address rejected: User unknown in local recipient table"
)


@pytest.fixture
def pg_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url) -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    return Bot(dovecot, imap_user, smtp_sink, config)


def answered(bot: Bot) -> str:
    """A customer question answered from the knowledge base; the Message-ID of our answer."""
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    bot.run_once()
    (answer,) = bot.sent_to(CUSTOMER)
    return str(parse(answer)["Message-ID"])


def postfix_dsn(
    message_id: str, action: str = "failed", status: str = "5.1.1", dsn_id: str = "dsn-1"
) -> bytes:
    """A bounce as Postfix writes it (RFC 3464 inside RFC 6522), returning our mail's header."""
    diagnostic = USER_UNKNOWN if action == "failed" else "connect to mx.example.org[192.0.2.1]:25: timed out"
    failed, delayed = "Undelivered Mail Returned to Sender", "Delayed Mail (still being retried)"
    subject = failed if action == "failed" else delayed
    return f"""Return-Path: <>
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: {SUPPORT}
Subject: {subject}
Auto-Submitted: auto-replied
Message-Id: <{dsn_id}@mx.example.org>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"

--B1
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{CUSTOMER}>: host mx.example.org[192.0.2.1] said: {USER_UNKNOWN}

--B1
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: 4F1B2C3D

Final-Recipient: rfc822; {CUSTOMER}
Original-Recipient: rfc822;{CUSTOMER}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.example.org
Diagnostic-Code: smtp; {diagnostic}

--B1
Content-Description: Undelivered Message Headers
Content-Type: text/rfc822-headers

From: Aktivo Support <{SUPPORT}>
To: {CUSTOMER}
Subject: Re: Passwort vergessen [MB-000001]
Message-ID: {message_id}

--B1--
""".replace("\n", "\r\n").encode()


def exim_bounce(message_id: str) -> bytes:
    """A plain-text bounce as Exim writes it (GMX, web.de, T-Online): no DSN part, our mail quoted."""
    return f"""From: Mail Delivery System <Mailer-Daemon@mout.example.net>
To: {SUPPORT}
Subject: Mail delivery failed: returning message to sender
Message-Id: <exim-1@mout.example.net>
X-Failed-Recipients: {CUSTOMER}
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its
recipients. This is a permanent error. The following address(es) failed:

  {CUSTOMER}
    mailbox is full: retry timeout exceeded

------ This is a copy of the message, including all the headers. ------

From: Aktivo Support <{SUPPORT}>
To: {CUSTOMER}
Subject: Re: Passwort vergessen [MB-000001]
Message-ID: {message_id}

Guten Tag, ...
""".replace("\n", "\r\n").encode()


def events(bot: Bot) -> list[tuple[str, str]]:
    with bot.db() as session:
        return [(e.kind, e.note) for e in session.scalars(select(TicketEvent).order_by(TicketEvent.id))]


def test_a_dsn_naming_our_answer_is_recorded_on_its_ticket_and_the_team_is_told(pg_bot: Bot) -> None:
    ours = answered(pg_bot)
    pg_bot.deliver(postfix_dsn(ours))
    pg_bot.run_once()

    assert len(pg_bot.sent_to(CUSTOMER)) == 1  # never an answer to the bounce
    (notice,) = pg_bot.sent_to(TEAM)
    assert parse(notice)["Subject"] == "[MB-000001] Zustellung fehlgeschlagen: Passwort vergessen"
    text = text_of(notice)
    assert f"Empfänger: {CUSTOMER}" in text and "Ticket:    MB-000001" in text
    assert f"{CUSTOMER}: failed 5.1.1 ({USER_UNKNOWN})" in text
    (kind, note) = events(pg_bot)[-1]
    assert kind == "bounced" and note.startswith(
        f"our answer mail #1 to {CUSTOMER}: {CUSTOMER}: failed 5.1.1"
    )
    bounce = pg_bot.inbound()[-1]
    assert bounce.outcome == "ignored" and bounce.ticket_id is None
    assert bounce.reason == f"a bounce that reports undelivered our mail #1 (answer) to {CUSTOMER}"
    assert len(pg_bot.tickets()) == 1

    pg_bot.deliver(postfix_dsn(ours, dsn_id="dsn-2"))  # the same failure reported again
    pg_bot.run_once()
    assert len(pg_bot.sent_to(TEAM)) == 1  # the team hears once per mail of ours
    assert [kind for kind, _ in events(pg_bot)].count("bounced") == 2


def test_a_plain_text_bounce_quoting_our_mail_is_recorded_too(bot: Bot) -> None:
    ours = answered(bot)
    bot.deliver(exim_bounce(ours))
    bot.run_once()

    assert len(bot.sent_to(CUSTOMER)) == 1
    (notice,) = bot.sent_to(TEAM)
    text = text_of(notice)
    assert "Mail delivery failed: returning message to sender" in text and "mailbox is full" in text
    assert events(bot)[-1][0] == "bounced"


def test_a_delay_warning_is_recorded_but_mails_nobody(bot: Bot) -> None:
    ours = answered(bot)
    bot.deliver(postfix_dsn(ours, action="delayed", status="4.4.1"))
    bot.run_once()

    assert not bot.sent_to(TEAM) and len(bot.sent_to(CUSTOMER)) == 1
    (kind, note) = events(bot)[-1]
    assert kind == "delivery_delayed" and "delayed 4.4.1" in note


def test_a_forged_bounce_naming_no_mail_of_ours_changes_nothing(bot: Bot) -> None:
    ours = answered(bot)
    token = ours.removeprefix("<mb.").split(".")[0]
    forged = f"<mb.{token}.{'0' * 20}@{ours.rsplit('@', 1)[1]}"  # our id with a signature that does not fit
    bot.deliver(postfix_dsn(forged))
    bot.deliver(postfix_dsn("<1@elsewhere.example>", dsn_id="dsn-2"))
    bot.run_once()

    assert not bot.sent_to(TEAM) and len(bot.sent_to(CUSTOMER)) == 1
    assert [kind for kind, _ in events(bot)] == ["created", "answered"]
    assert [row.outcome for row in bot.inbound()] == ["answered", "ignored", "ignored"]


def test_a_bounce_known_only_by_its_subject_is_never_acknowledged(bot: Bot) -> None:
    relay = "forwarder@alias.example"  # a forwarding service rewrote the daemon's address
    bot.deliver(make_mail(relay, "Undelivered Mail Returned to Sender", "The mail system\n\n<x@y>: unknown"))
    bot.run_once()

    assert not bot.sent_to(relay)
    (row,) = bot.inbound()
    assert "bounce_subject" in str(row.decision)
