"""Plain-text bounces without DSN markers (issue 11): recognised by sender and subject, never acknowledged.

The header blocks below are shaped after real bounces of each MTA (sender address and name, subject,
what a mailbox shows when the Return-Path is lost on the way, e.g. in a forwarding alias). What the
rules caught before this issue is the local part MAILER-DAEMON/postmaster, Return-Path <>,
multipart/report and X-Failed-Recipients; Exchange Online's own sender, a daemon renamed by a relay
and a bounce known only by its subject went through as customer mail and were acknowledged.
"""

from __future__ import annotations

import pytest

from mailbot.domain import RuleEffect
from mailbot.parse import parse_mail
from mailbot.rules import RuleContext, apply_rules

CTX = RuleContext(own_addresses=frozenset({"support@example.com"}), own_message_id_domains=frozenset())
EXCHANGE = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@firma.example"


def rules_for(sender: str, subject: str) -> tuple[str, ...]:
    raw = (
        f"From: {sender}\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        "Message-ID: <bounce-sample@mx.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "This is the mail system at host mx.example.\r\n\r\nI'm sorry to have to inform you that your "
        "message could not be delivered to one or more recipients.\r\n"
    ).encode()
    return tuple(hit.name for hit in apply_rules(parse_mail(raw), CTX))


SAMPLES = [
    # (MTA, From, Subject, the rules that must fire)
    (
        "Postfix",
        "MAILER-DAEMON@mail.example.org (Mail Delivery System)",
        "Undelivered Mail Returned to Sender",
        ("daemon_sender", "bounce_subject"),
    ),
    ("Postfix, delay", "MAILER-DAEMON@mail.example.org", "Delayed Mail (still being retried)", None),
    (
        "Gmail",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Failure)",
        None,
    ),
    (
        "Gmail, delay",
        "Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
        "Delivery Status Notification (Delay)",
        None,
    ),
    (
        "Exchange Online",
        f"Microsoft Outlook <{EXCHANGE}>",
        "Undeliverable: Re: Passwort vergessen [MB-000001]",
        ("daemon_sender", "bounce_subject"),
    ),
    ("Exchange, German", f"Microsoft Outlook <{EXCHANGE}>", "Unzustellbar: Ihre Anfrage", None),
    ("Outlook.com", "Microsoft Outlook <postmaster@outlook.com>", "Undeliverable: Ihre Anfrage", None),
    ("Exchange, French", "postmaster@entreprise.example", "Non remis : Votre demande", None),
    (
        "Sendmail",
        "Mail Delivery Subsystem <MAILER-DAEMON@host.example>",
        "Returned mail: see transcript for details",
        None,
    ),
    (
        "Sendmail, delay",
        "MAILER-DAEMON@host.example",
        "Warning: could not send message for past 4 hours",
        None,
    ),
    (
        "Exim (GMX, web.de, T-Online)",
        "Mail Delivery System <Mailer-Daemon@mout.gmx.example>",
        "Mail delivery failed: returning message to sender",
        None,
    ),
    ("qmail", "MAILER-DAEMON@mx.example", "failure notice", None),
    ("Yahoo", "MAILER-DAEMON@yahoo.example", "Failure Notice", None),
    (
        "Lotus Notes",
        "Postmaster@acme.example",
        "DELIVERY FAILURE: User John Doe not listed in Domino Directory",
        None,
    ),
    ("Lotus Notes, other", "Postmaster@acme.example", "Delivery Notification: Delivery has failed", None),
    ("MAILER-DAEMON spelled apart", "Mail-Daemon@isp.example", "Undelivered Mail", None),
    # a relay that rewrote the daemon's address keeps its name
    (
        "renamed daemon",
        "Mail Delivery System <bounce-handler@relay.example>",
        "Undelivered Mail Returned to Sender",
        ("daemon_sender", "bounce_subject"),
    ),
    ("renamed daemon, no subject", '"MAILER-DAEMON" <nobody@relay.example>', "Hinweis", ("daemon_sender",)),
    # only the subject is left (a forwarding service rewrote the sender): no answer, the team sees it
    (
        "subject only",
        "forwarder@alias.example",
        "Undelivered Mail Returned to Sender",
        ("bounce_subject",),
    ),
    (
        "subject only, German",
        "noreply-relay@alias.example",
        "Unzustellbar: Anfrage",
        ("bounce_subject", "noreply_address"),
    ),
]


@pytest.mark.parametrize(("mta", "sender", "subject", "expected"), SAMPLES, ids=[s[0] for s in SAMPLES])
def test_a_plain_text_bounce_is_recognised_and_never_acknowledged(mta, sender, subject, expected):
    hits = rules_for(sender, subject)
    if expected is not None:
        assert hits == expected
    assert "daemon_sender" in hits or "bounce_subject" in hits
    assert hits  # every hit is IGNORE or NO_REPLY: nothing automatic goes back


PEOPLE = [
    ("a customer forwarding a bounce", "kunde@example.org", "Fwd: Undelivered Mail Returned to Sender"),
    ("a customer quoting one", "kunde@example.org", "AW: Unzustellbar: Ihre Anfrage"),
    ("delivery of goods", "kunde@example.org", "Delivery failure of my order 4711"),
    ("a failure, not a notice", "kunde@example.org", "Failure notice for my account?"),
    ("returned goods", "kunde@example.org", "Returned mail order"),
    ("a name like a daemon's", "Max Daemon <max.daemon@example.org>", "Frage zur Rechnung"),
    ("the post office", "Postmaster General <pm@post.example>", "Zustellung Ihres Pakets"),
    ("zustellung", "kunde@example.org", "Zustellung fehlt seit Tagen"),
]


@pytest.mark.parametrize(("case", "sender", "subject"), PEOPLE, ids=[p[0] for p in PEOPLE])
def test_a_person_writing_about_delivery_is_not_a_bounce(case, sender, subject):
    assert rules_for(sender, subject) == ()


def test_the_subject_alone_withholds_the_answer_but_keeps_the_mail():
    [hit] = [
        h for h in apply_rules(parse_mail(b"From: x@alias.example\r\nSubject: failure notice\r\n\r\nx"), CTX)
    ]
    assert hit.name == "bounce_subject" and hit.effect is RuleEffect.NO_REPLY
    assert "failure notice" in hit.reason
