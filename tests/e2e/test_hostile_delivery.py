"""One bad address never stops delivery: IDN domains go out as punycode, what cannot be sent fails alone.

Regression (issue 11): a reply to `joerg@münchen.example` raised UnicodeEncodeError at RCPT TO, the
row stayed in `sending` and every later pass died on it first.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailbot.addresses import UndeliverableAddress, canonical, envelope_address, same_address
from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.db.schema import OutboxMail, OutboxState
from mailbot.worker import deliverer_for
from tests.e2e.conftest import TEAM, Bot, make_mail, text_of

QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def test_a_reply_to_an_idn_domain_goes_out_with_a_punycode_envelope(bot: Bot):
    idn = (  # as an SMTPUTF8 mail system writes it: UTF-8 in the header
        "From: Jörg <joerg@münchen.example>\r\nTo: support@example.com\r\nSubject: Passwort vergessen\r\n"
        "Message-ID: <idn-1@münchen.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        f"{QUESTION}\r\n"
    )
    bot.deliver(idn.encode())
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    bot.run_once()
    recipients = sorted(rcpt for message in bot.sink.messages for rcpt in message.rcpt_tos)
    assert recipients == ["erika@example.org", "joerg@xn--mnchen-3ya.example"]
    assert all(row.state == "sent" for row in bot.outbox())


def _queue(app, recipient: str, number: int) -> None:
    raw = (
        f"From: support@example.com\r\nTo: someone@example.org\r\nSubject: test {number}\r\n"
        f"Message-ID: <t{number}@example.com>\r\n\r\nhello\r\n"
    ).encode()
    now = datetime.now(UTC)
    with app.sessions.begin() as session:
        session.add(
            OutboxMail(
                mailbox="default", kind="answer", to_customer=True, ticket_id=None, inbound_id=None,
                message_id=f"<t{number}@example.com>", mail_from="support@example.com", recipient=recipient,
                subject=f"test {number}", raw=raw, state=OutboxState.PENDING, attempts=0,
                next_attempt_at=now, created_at=now, dedup_key=f"test:{number}",
            )
        )  # fmt: skip


@pytest.mark.parametrize(
    "bad",
    [
        "jörg@example.com",  # non-ASCII local part without SMTPUTF8
        "x@xn--zz.example",  # invalid punycode
        f"x@{'a' * 64}.example",  # a label over 63 octets
        "x@local",  # no domain to speak of
    ],
)
def test_an_address_that_cannot_be_sent_to_fails_alone_and_the_team_is_told(bot: Bot, bad: str):
    app = build_app(load_settings(bot.config))
    try:
        _queue(app, bad, 1)
        _queue(app, "fine@example.org", 2)
        report = deliverer_for(app).deliver_due()
    finally:
        app.close()
    assert (report.sent, report.failed, report.errors) == (2, 1, [])  # the good one and the team's notice
    rows = {row.recipient: row for row in bot.outbox()}
    assert rows[bad].state == "failed" and "not sent" in (rows[bad].last_error or "")
    assert rows["fine@example.org"].state == "sent"
    [notice] = bot.sent_to(TEAM)
    assert bad.split("@")[0] in text_of(notice) or canonical(bad).split("@")[0] in text_of(notice)


def test_an_unexpected_error_while_sending_fails_that_row_not_the_pass(bot: Bot, monkeypatch):
    original = __import__("aiosmtplib").SMTP.sendmail

    async def flaky(self, sender, recipients, message, **kwargs):
        if recipients == ["first@example.org"]:
            raise RuntimeError("library bug")
        return await original(self, sender, recipients, message, **kwargs)

    monkeypatch.setattr("aiosmtplib.SMTP.sendmail", flaky)
    app = build_app(load_settings(bot.config))
    try:
        _queue(app, "first@example.org", 1)
        _queue(app, "second@example.org", 2)
        report = deliverer_for(app).deliver_due()
    finally:
        app.close()
    assert (report.sent, report.failed) == (2, 1)  # the good one and the team's notice
    states = {row.recipient: row.state for row in bot.outbox() if row.recipient != TEAM}
    assert states == {"first@example.org": "failed", "second@example.org": "sent"}


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("joerg@münchen.example", "joerg@xn--mnchen-3ya.example"),
        ("Erika@EXAMPLE.org", "Erika@example.org"),  # the local part as written
        ("x@straße.de", "x@xn--strae-oqa.de"),
    ],
)
def test_envelope_addresses(address, expected):
    assert envelope_address(address) == expected


def test_comparison_is_exact_in_the_local_part_and_normalised_in_the_domain():
    assert same_address("alice@Cust.Example", "alice@cust.example")
    assert same_address("joerg@münchen.example", "joerg@xn--mnchen-3ya.example")
    assert not same_address("straße@example.com", "strasse@example.com")
    assert not same_address("Alice@example.com", "alice@example.com")
    with pytest.raises(UndeliverableAddress):
        envelope_address("no-at-sign")
