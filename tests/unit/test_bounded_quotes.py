"""A value from a mail that a message quotes is bounded: a megabyte domain, local part, address,
Message-ID, header, charset or content type makes a short exception, defect, quarantine reason, log
line or team-mail label that still says what is wrong and how long the value was."""

from __future__ import annotations

import pytest

from mailbot.addresses import UndeliverableAddress, ascii_domain, envelope_address
from mailbot.domain import Action, Decision
from mailbot.errors import Quarantine
from mailbot.logredact import QUOTE_CHARS, quoted, shortened
from mailbot.parse import parse_mail
from mailbot.pipeline.logline import decision_line
from mailbot.reply.compose import HeaderInjectionError
from mailbot.tickets.team_view import customer_label, recipient_label
from tests.unit.test_reply_compose import compose

MB = 1_000_000
BOUND = 1_000  # no message about one value is longer than this


def test_a_short_value_is_quoted_exactly_as_repr():
    for value in ("", "kunde@example.org", "it's", "a\x01b", "x" * QUOTE_CHARS):
        assert quoted(value) == repr(value)
    assert shortened("kunde@example.org") == "kunde@example.org"


def test_a_long_value_keeps_its_opening_a_visible_cut_and_its_length():
    assert quoted("\xad" * 5000 + "example.org") == "'" + "\\xad" * 20 + "…' (5011 characters)"
    assert quoted("a" * MB) == "'" + "a" * QUOTE_CHARS + "…' (1000000 characters)"
    assert shortened("a" * MB, 10) == "aaaaaaaaaa… (1000000 characters)"


@pytest.mark.parametrize("char", ["\xad", "\x01", "\U0010ffff", "'", '"', "\\", "ä"])
def test_the_cut_counts_escapes_so_escaped_characters_do_not_multiply_the_length(char):
    text = quoted(char * MB)
    assert len(text) <= QUOTE_CHARS + 2 + len("… (1000000 characters)")
    assert text.endswith(" (1000000 characters)")


@pytest.mark.parametrize(
    ("domain", "problem"),
    [
        ("\xad" * MB + "example.org", "is not a valid host name (Domain too long)"),
        ("a" * MB + ".example.org", "is not a valid host name (Domain too long)"),
        ("x." + "\xad" * 1000 + "\u0378.org", "is not a valid host name (Codepoint U+0378"),  # idna quotes it
        ("a\x01" * 100 + ".org", "is not a valid host name (Codepoint U+0001"),
        ("\xad" * 1000 + "localhost", "has no dot"),
    ],
)
def test_a_hostile_domain_makes_a_short_message_that_names_the_problem(domain, problem):
    with pytest.raises(UndeliverableAddress) as raised:
        ascii_domain(domain)
    message = str(raised.value)
    assert len(message) < BOUND
    assert message.startswith("the domain '")
    assert problem in message
    assert f"({len(domain.strip())} characters)" in message


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("k" * MB + "@example.org", "has an invalid local part"),
        ("ü" * MB + "@example.org", "has a non-ASCII local part"),
        ("kunde@" + "\xad" * MB + "example.org", "is not a valid host name"),
        ("kunde-at-example.org" * (MB // 20), "is not an address (local@domain)"),
        ("k" * 64 + "@" + ".".join(["a" * 63] * 3 + ["org"]), "is longer than SMTP allows"),
        ("kunde@" + "\xad" * 900 + "erased.invalid", "is in the reserved domain .invalid"),
    ],
)
def test_a_hostile_address_makes_a_short_message_that_names_the_problem(address, problem):
    with pytest.raises(UndeliverableAddress) as raised:
        envelope_address(address)
    assert len(str(raised.value)) < BOUND
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"to_addr": "kunde@" + "\xad" * MB + "example.org"}, "To: the domain"),
        ({"in_reply_to": "<" + "i" * MB + ">"}, "is not a message id like <token@domain>"),
        ({"references": ["<" + "\x7f" * MB + "@x>"]}, "contains a control character"),
        ({"extra_headers": {"X-Note": "x" * MB + "\r\nBcc: victim@example.com"}}, "contains a line break"),
    ],
)
def test_compose_refuses_a_hostile_value_in_a_short_message(overrides, problem):
    with pytest.raises(ValueError) as raised:
        compose(**overrides)
    assert len(str(raised.value)) < BOUND
    assert problem in str(raised.value)
    assert "(1000" in str(raised.value)  # the length of what was refused
    if "line break" in problem:
        assert isinstance(raised.value, HeaderInjectionError)


def mail(headers: str, body: str = "Hallo") -> bytes:
    head = "To: support@example.com\r\nSubject: Frage\r\nMessage-ID: <a@kunde.example>\r\n"
    return f"{headers}{head}\r\n{body}\r\n".encode()


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (mail("From: a@example.org\r\nContent-Type: text/plain; charset=" + "x" * MB + "\r\n", "Grüße"),
         "unknown charset 'xxx"),
        (mail("From: " + "k" * MB + "\r\n"), "has no domain"),
        (mail("From: a@example.org\r\nDate: " + "\xad" * MB + "\r\n"), "Date header"),
        (mail("From: " + ", ".join(["x" * MB + "@example.org"] * 2) + "\r\n"), "From names 2 addresses"),
    ],
)  # fmt: skip
def test_a_defect_about_a_hostile_header_is_short(raw, problem):
    defects = parse_mail(raw).defects
    assert any(problem in defect for defect in defects), defects
    assert all(len(defect) < BOUND for defect in defects)


@pytest.mark.parametrize(
    ("content_type", "problem"),
    [
        ("multipart/mixed; boundary=" + "b" * MB, "declares the boundary 'bbb"),
        ("multipart/" + "m" * MB, "declares no boundary"),
    ],
)
def test_a_quarantine_reason_about_a_hostile_mime_header_is_short(content_type, problem):
    with pytest.raises(Quarantine) as raised:
        parse_mail(mail(f"From: a@example.org\r\nMIME-Version: 1.0\r\nContent-Type: {content_type}\r\n", "x"))
    assert len(str(raised.value)) < BOUND
    assert problem in str(raised.value)


def test_the_decision_line_names_a_real_address_whole_and_cuts_a_hostile_one():
    decision = Decision(Action.ESCALATE, "not confident")
    longest = "k" * 64 + "@" + "a" * 185 + ".org"  # 254 characters, the most SMTP allows
    assert f"from {longest} escalated" in decision_line(1, longest, "escalated", None, decision)
    line = decision_line(1, "kunde@" + "\xad" * MB + "example.org", "escalated", "MB-000001", decision)
    assert len(line) < BOUND
    assert line.endswith("(1000017 characters) escalated MB-000001: not confident")


def test_team_mails_name_a_hostile_recipient_or_customer_briefly():
    hostile = "kunde@" + "a" * MB + ".org"
    assert len(recipient_label(hostile, None)) < BOUND
    assert len(customer_label("Kunde", hostile)) < BOUND
    assert customer_label("Erika Muster", "erika@example.org") == "Erika Muster <erika@example.org>"
