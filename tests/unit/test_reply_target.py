"""Issue 11: a Reply-To is honoured only where it is safe; otherwise automatic mail goes to From."""

from __future__ import annotations

from dataclasses import replace

import pytest

from mailbot.domain import ReplyTarget, SenderCheck, Verification
from mailbot.rules import RuleContext
from mailbot.rules.reply_target import reply_target
from tests.unit.test_rules import make_mail

FORGED = SenderCheck(Verification.FAIL, "dmarc=fail for shop.example")
PASSED = SenderCheck(Verification.PASS, "dmarc=pass for kunde.example")
CTX = RuleContext(
    own_addresses=frozenset({"support@example.com"}),
    own_message_id_domains=frozenset(),
    form_senders=frozenset({"NoReply@Shop.example"}),
)


def target(address: str, name: str, customer: str, customer_name: str, note: str = "") -> ReplyTarget:
    return ReplyTarget(address, name, customer, customer_name, note)


KARLA = target("karla@kunde.example", "Karla K", "karla@kunde.example", "Karla K")


@pytest.mark.parametrize(
    ("from_addr", "reply_to", "check", "expected"),
    [
        ("karla@kunde.example", None, None, KARLA),
        ("karla@kunde.example", "karla@KUNDE.example", None, KARLA),  # the same address: From as written
        # same domain: a colleague or shared mailbox gets the mail, the ticket stays the sender's;
        # the name the sender gave it only when the server verified the sender
        (
            "karla@kunde.example",
            "buchhaltung@kunde.example",
            None,
            target("buchhaltung@kunde.example", "", "karla@kunde.example", "Karla K"),
        ),
        (
            "karla@kunde.example",
            "buchhaltung@Kunde.EXAMPLE",
            PASSED,
            target("buchhaltung@Kunde.EXAMPLE", "Buchhaltung", "karla@kunde.example", "Karla K"),
        ),
        (
            "karla@münchen.example",
            "team@xn--mnchen-3ya.example",
            None,
            target("team@xn--mnchen-3ya.example", "", "karla@münchen.example", "Karla K"),
        ),
        # another domain: never; the note says why
        (
            "karla@kunde.example",
            "victim@elsewhere.example",
            None,
            replace(KARLA, note="Reply-To victim@elsewhere.example not honoured: another domain than From"),
        ),
        (
            "karla@kunde.example",
            "x@sub.kunde.example",
            None,
            replace(KARLA, note="Reply-To x@sub.kunde.example not honoured"),
        ),
        # a configured contact form: the person in Reply-To is the customer
        (
            "noreply@shop.example",
            "karla@kunde.example",
            None,
            target("karla@kunde.example", "Buchhaltung", "karla@kunde.example", "Buchhaltung"),
        ),
        (
            "noreply@shop.example",
            "karla@kunde.example",
            FORGED,
            target(
                "noreply@shop.example",
                "Karla K",
                "noreply@shop.example",
                "Karla K",
                "Reply-To karla@kunde.example not honoured: the contact-form sender noreply@shop.example "
                "is not verified (dmarc=fail for shop.example)",
            ),
        ),
    ],
)
def test_reply_target(from_addr, reply_to, check, expected) -> None:
    mail = replace(make_mail(), from_addr=from_addr, from_name="Karla K", reply_to=reply_to)
    mail = replace(mail, reply_to_name="Buchhaltung" if reply_to else "")
    ctx = replace(CTX, sender_check=check) if check else CTX
    found = reply_target(mail, ctx)
    assert replace(found, note="") == replace(expected, note="")
    assert found.note.startswith(expected.note) and bool(found.note) is bool(expected.note)
