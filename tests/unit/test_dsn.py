"""Reading what a bounce claims (issue 11): the returned mail's Message-ID and each recipient's fate."""

from __future__ import annotations

import base64
import quopri
from pathlib import Path

from mailbot.parse.dsn import RecipientStatus, read_delivery_report
from mailbot.reply.compose import make_message_id

CPYTHON = Path("/work/shared/data/raw_emails_python_testdata/eml")
OURS = make_message_id("support.example.com", "5f3c2a", b"key")


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode()


EXCHANGE_NDR = crlf(f"""From: <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@firma.example>
To: support@example.com
Subject: Unzustellbar: Re: Passwort vergessen [MB-000001]
Content-Type: multipart/report; report-type=delivery-status; boundary="NDR"

--NDR
Content-Type: text/plain; charset=utf-8

Ihre Nachricht hat einige oder alle Empfänger nicht erreicht.

--NDR
Content-Type: message/delivery-status

Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com
Received-From-MTA: dns;mail.example.com

Final-Recipient: rfc822;kunde@firma.example
Action: failed
Status: 5.1.10
Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address
 lookup

--NDR
Content-Type: message/rfc822

From: Aktivo Support <support@example.com>
To: kunde@firma.example
Subject: Re: Passwort vergessen [MB-000001]
Message-ID: {OURS}

Guten Tag

--NDR--
""")

GLOBAL_DSN = crlf("""From: MAILER-DAEMON@mx.example
To: support@example.com
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=global-delivery-status; boundary="G"

--G
Content-Type: message/global-delivery-status

Reporting-MTA: dns; mx.example

Final-Recipient: utf-8; jörg@münchen.example
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; zweite@example.org
Action: delayed
Status: 4.4.7

--G
Content-Type: message/global-headers

From: support@example.com
Message-ID: <mb.abc.0123456789abcdef0123@support.example.com>

--G--
""")


def test_an_exchange_ndr_names_the_returned_mail_and_the_recipient():
    report = read_delivery_report(EXCHANGE_NDR)
    assert report.is_dsn and report.message_ids == (OURS,)
    (recipient,) = report.failed
    assert recipient == RecipientStatus(
        "kunde@firma.example",
        "failed",
        "5.1.10",
        "550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup",
    )
    assert not report.only_delayed


def test_a_global_dsn_of_an_internationalised_address_is_read_too():
    report = read_delivery_report(GLOBAL_DSN)
    assert [(r.recipient, r.action, r.status) for r in report.recipients] == [
        ("jörg@münchen.example", "failed", "5.1.1"),
        ("zweite@example.org", "delayed", "4.4.7"),
    ]
    assert report.message_ids == ("<mb.abc.0123456789abcdef0123@support.example.com>",)


def test_a_plain_text_bounce_quoting_our_id_in_quoted_printable_or_base64_is_read():
    returned = f"Message-ID: {OURS}\n".encode() * 1 + b"x" * 80
    qp = quopri.encodestring(b"The following message could not be delivered:\n\n" + returned)
    for encoding, body in (("quoted-printable", qp), ("base64", base64.encodebytes(returned))):
        raw = (
            b"From: MAILER-DAEMON@mx.example\r\nSubject: failure notice\r\nContent-Type: text/plain\r\n"
            b"Content-Transfer-Encoding: " + encoding.encode() + b"\r\n\r\n" + body
        )
        report = read_delivery_report(raw)
        assert not report.is_dsn and report.message_ids == (OURS,), encoding


def test_real_dsns_from_the_cpython_test_data():
    sun = read_delivery_report((CPYTHON / "msg_16.eml").read_bytes())  # Sun Internet Mail Server, 2001
    assert sun.is_dsn and sun.message_ids == ("<002001c144a6$8752e060$56104586@oxy.edu>",)
    assert [(r.recipient, r.action, r.status) for r in sun.failed] == [
        ("jangel1@cougar.noc.ucla.edu", "failed", "5.0.0 (recipient reached disk quota)")
    ]
    amavis = read_delivery_report((CPYTHON / "msg_43.eml").read_bytes())  # a virus filter's DSN, 2004
    assert amavis.is_dsn and len(amavis.failed) == 20  # of 40 recipients, the first twenty
    assert {r.status for r in amavis.failed} == {"5.7.1"}
    cut = read_delivery_report((CPYTHON / "msg_25.eml").read_bytes())  # its boundary parameter is cut off
    assert not cut.is_dsn and cut.recipients == ()


def test_a_bounce_is_read_within_bounds_and_garbage_gives_an_empty_report():
    many = b"".join(b"Final-Recipient: rfc822; a%d@x\r\nAction: failed\r\n\r\n" % n for n in range(1000))
    raw = (
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=B\r\n\r\n--B\r\n"
        b"Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; x\r\n\r\n" + many + b"--B--\r\n"
    )
    assert len(read_delivery_report(raw).recipients) == 20
    quoted = b" ".join(b"<mb.t%d.0123456789abcdef0123@x.example>" % n for n in range(1000))
    assert len(read_delivery_report(b"Subject: x\r\n\r\n" + quoted).message_ids) == 20
    assert read_delivery_report(b"\xff\xfe\x00garbage").message_ids == ()
