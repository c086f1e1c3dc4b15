"""Header decoding, addresses, ids, dates and Return-Path of parse_mail."""

import hashlib
import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailbot.parse import derived_message_id, parse_mail
from mailbot.parse.headers import decode_value, message_ids, unfold


def eml(text: str, encoding: str = "utf-8") -> bytes:
    """A raw mail from readable text: LF becomes CRLF."""
    return text.replace("\n", "\r\n").encode(encoding)


BASE = "From: Kunde <kunde@example.com>\nTo: support@example.com\n"


def test_subject_encoded_word_followed_by_folded_plain_word_keeps_the_space():
    # the exact case mail-parser gets wrong ("beschädigt(10001)")
    raw = (
        b"From: kunde@example.com\r\n"
        b"Subject: Problem mit der Lieferung =?utf-8?q?besch=C3=A4digt?=\r\n (10001)\r\n"
        b"\r\nHallo\r\n"
    )
    mail = parse_mail(raw)
    assert mail.subject == "Problem mit der Lieferung beschädigt (10001)"
    assert mail.headers["subject"] == ("Problem mit der Lieferung beschädigt (10001)",)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("=?utf-8?q?a?= =?utf-8?q?b?=", "ab"),  # white space between encoded words is dropped
        ("=?utf-8?q?=C3?= =?utf-8?q?=A4?=", "ä"),  # a character split over two words
        ("=?UTF-8?B?w6Rnw7xsdGln?=", "ägültig"),
        ("=?iso-8859-1?q?Gr=FC=DFe?= aus Köln", "Grüße aus Köln"),
        ("=?utf-8?q?Gr=C3=BC=C3=9Fe_aus?=\r\n\t=?utf-8?q?_K=C3=B6ln?=", "Grüße aus Köln"),
        ("=?x-unknown?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),  # unknown label: UTF-8 fallback
        ("=?utf-8*de?q?Gr=C3=BC=C3=9Fe?=", "Grüße"),  # RFC 2231 language suffix
        ("Re: =?utf-8?b?!!!?= x", "Re: =?utf-8?b?!!!?= x"),  # broken base64 kept as written
        ("plain\r\n text", "plain text"),
        ("M\udcc3\udcbcller", "Müller"),  # 8-bit UTF-8 in a header (surrogate-escaped by stdlib)
        ("M\udcfcller", "Müller"),  # 8-bit Latin-1 in a header
    ],
)
def test_decode_value(raw, expected):
    assert decode_value(raw) == expected


def test_unfold_keeps_the_white_space_of_the_fold():
    assert unfold("a\r\n b\n\tc") == "a b\tc"


def test_headers_are_lower_case_decoded_and_keep_every_occurrence():
    raw = eml(
        BASE + "Received: from a by b\n\tid 1\nReceived: from c by d\n"
        "X-Info: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\nSubject: x\n\nHallo\n"
    )
    mail = parse_mail(raw)
    assert mail.headers["received"] == ("from a by b\tid 1", "from c by d")
    assert mail.headers["x-info"] == ("Grüße",)
    assert mail.header("X-INFO") == "Grüße"
    assert mail.header("x-missing") is None


def test_addresses_are_bare_and_names_decoded_after_splitting():
    raw = eml(
        "From: =?utf-8?q?M=C3=BCller=2C_Hans?= <hans@example.com>\n"
        'To: "Support, 1st Level" <support@example.com>, other@example.com\n'
        "To: third@example.com\nCc: Boss <boss@example.com>\n"
        "Reply-To: Antwort <answer@example.com>\nSubject: x\n\nHallo\n"
    )
    mail = parse_mail(raw)
    assert mail.from_addr == "hans@example.com"
    assert mail.from_name == "Müller, Hans"
    assert mail.to == ("support@example.com", "other@example.com", "third@example.com")
    assert mail.cc == ("boss@example.com",)
    assert mail.reply_to == "answer@example.com"
    assert mail.reply_address == "answer@example.com"


def test_8bit_display_name_is_decoded():
    raw = b"From: J\xc3\xbcrgen M\xc3\xbcller <j@example.com>\r\nSubject: x\r\n\r\nHallo\r\n"
    assert parse_mail(raw).from_name == "Jürgen Müller"


def test_null_sender_in_from_is_kept_empty_for_the_rules():
    mail = parse_mail(eml("From: MAILER-DAEMON <>\nSubject: failure\n\nundeliverable\n"))
    assert mail.from_addr == ""
    assert mail.from_name == "MAILER-DAEMON"
    assert mail.reply_address == ""
    assert "From header names no address" in mail.defects


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<abc@example.com>", "<abc@example.com>"),
        ("   abc@example.com  ", "<abc@example.com>"),
        ("<abc@example.com> (added by relay)", "<abc@example.com>"),
        ("<abc@\n example.com>", "<abc@example.com>"),
    ],
)
def test_message_id_is_normalised_to_angle_brackets(value, expected):
    raw = eml(BASE + f"Message-ID: {value}\nSubject: x\n\nHallo\n")
    assert parse_mail(raw).message_id == expected


@pytest.mark.parametrize("header", ["", "Message-ID: \n", "Message-ID: <>\n"])
def test_missing_or_empty_message_id_is_derived_from_the_bytes(header):
    raw = eml(BASE + header + "Subject: x\n\nHallo\n")
    mail = parse_mail(raw)
    assert mail.message_id == f"<{hashlib.sha256(raw).hexdigest()[:32]}@mailbot.invalid>"
    assert re.fullmatch(r"<[0-9a-f]{32}@mailbot\.invalid>", mail.message_id)
    assert parse_mail(raw).message_id == mail.message_id == derived_message_id(raw)
    assert parse_mail(raw + b"x").message_id != mail.message_id


def test_references_and_in_reply_to():
    raw = eml(
        BASE + "In-Reply-To: <b@example.com> <c@example.com>\n"
        "References: <a@example.com>\n <b@example.com>\n\t<a@example.com>\n"
        "Subject: Re: x\n\nHallo\n"
    )
    mail = parse_mail(raw)
    assert mail.in_reply_to == "<b@example.com>"
    assert mail.references == ("<a@example.com>", "<b@example.com>")


def test_no_threading_headers():
    mail = parse_mail(eml(BASE + "Subject: x\n\nHallo\n"))
    assert mail.in_reply_to is None
    assert mail.references == ()


def test_message_ids_without_brackets_are_split_on_white_space():
    assert message_ids("a@x b@y") == ["<a@x>", "<b@y>"]
    assert message_ids("") == []
    assert message_ids(None) == []


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", None),
        ("Return-Path: <>\n", ""),
        ("Return-Path: < >\n", ""),
        ("Return-Path: <b@x.org>\n", "b@x.org"),
    ],
)
def test_return_path(header, expected):
    assert parse_mail(eml(BASE + header + "Subject: x\n\nHallo\n")).return_path == expected


def test_date_is_aware():
    mail = parse_mail(eml(BASE + "Date: Mon, 2 Apr 2012 18:22:10 +0400\nSubject: x\n\nHallo\n"))
    assert mail.date == datetime(2012, 4, 2, 18, 22, 10, tzinfo=timezone(timedelta(hours=4)))
    assert not any("Date" in defect for defect in mail.defects)


def test_date_with_unknown_local_zone_is_utc_without_defect():
    mail = parse_mail(eml(BASE + "Date: Mon, 2 Apr 2012 18:22:10 -0000\nSubject: x\n\nHallo\n"))
    assert mail.date == datetime(2012, 4, 2, 18, 22, 10, tzinfo=UTC)
    assert not any("Date" in defect for defect in mail.defects)


def test_date_without_zone_is_read_as_utc_and_recorded():
    mail = parse_mail(eml(BASE + "Date: Mon, 2 Apr 2012 18:22:10\nSubject: x\n\nHallo\n"))
    assert mail.date == datetime(2012, 4, 2, 18, 22, 10, tzinfo=UTC)
    assert any("no usable time zone" in defect for defect in mail.defects)


@pytest.mark.parametrize("value", ["gestern", "Mon, 99 Apr 2012 18:22:10 +0400", "1 Jan 99999 00:00 +0000"])
def test_bad_date_is_none_with_a_defect(value):
    mail = parse_mail(eml(BASE + f"Date: {value}\nSubject: x\n\nHallo\n"))
    assert mail.date is None
    assert any("Date header" in defect and "cannot be read" in defect for defect in mail.defects)


def test_missing_date_is_none():
    assert parse_mail(eml(BASE + "Subject: x\n\nHallo\n")).date is None


def test_content_type_is_lower_case():
    raw = eml(BASE + "Subject: x\nContent-Type: TEXT/Plain; charset=utf-8\n\nHallo\n")
    assert parse_mail(raw).content_type == "text/plain"


def test_mbox_envelope_line_is_not_a_header():
    raw = eml("From kunde@example.com Mon Apr  2 18:22:10 2012\n" + BASE + "Subject: x\n\nHallo\n")
    mail = parse_mail(raw)
    assert mail.from_addr == "kunde@example.com"
    assert "from kunde@example.com mon apr  2 18:22:10 2012" not in mail.headers
