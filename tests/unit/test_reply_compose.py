"""MIME composition: parse the produced bytes back and look at what a receiver would see."""

from __future__ import annotations

import email
import re
from datetime import UTC, datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from mailbot.addresses import UndeliverableAddress, envelope_address
from mailbot.reply.compose import (
    MAX_REFERENCES,
    HeaderInjectionError,
    compose_reply,
    make_message_id,
    sendable_address,
    threading_headers,
)
from mailbot.reply.render import Rendered

BERLIN = timezone(timedelta(hours=2))
DATE = datetime(2024, 5, 14, 9, 30, 5, tzinfo=BERLIN)
RENDERED = Rendered(
    subject="Re: Grüße aus Köln – Drucker [MB-000123]",
    text="Guten Tag Frau Müller,\n\nÄÖÜ äöü ß € – “quoted”.\n\nMit freundlichen Grüßen\nSupport\n",
    html="<!DOCTYPE html>\n<html><body><p>Grüße aus Köln – äöü ß €</p></body></html>\n",
)
ORIGINAL = (
    b"From: Erika =?utf-8?q?M=C3=BCller?= <erika@example.com>\r\n"
    b"To: support@example.com\r\n"
    b"Subject: Drucker\r\n"
    b"Message-ID: <orig@example.com>\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Der Drucker druckt nicht. Gr\xc3\xbc\xc3\x9fe\r\n"
)


def compose(**overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "rendered": RENDERED,
        "from_addr": "support@example.com",
        "from_name": "Beispiel GmbH – Support",
        "to_addr": "erika@example.com",
        "message_id": "<mb.0123abcd@example.com>",
        "in_reply_to": "<orig@example.com>",
        "references": ["<root@example.com>", "<orig@example.com>"],
        "date": DATE,
    }
    kwargs.update(overrides)
    return compose_reply(**kwargs)  # type: ignore[arg-type]


def parse(raw: bytes) -> EmailMessage:
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def text_of(part: EmailMessage) -> str:
    # Base64 text keeps the canonical CRLF line ends inside; mail clients show them as newlines.
    return part.get_content().replace("\r\n", "\n")


def test_headers():
    msg = parse(compose())

    assert msg["From"].addresses[0].display_name == "Beispiel GmbH – Support"
    assert msg["From"].addresses[0].addr_spec == "support@example.com"
    assert msg["To"] == "erika@example.com"
    assert msg["Subject"] == RENDERED.subject
    assert msg["Date"].datetime == DATE
    assert msg["Message-ID"] == "<mb.0123abcd@example.com>"
    assert msg["In-Reply-To"] == "<orig@example.com>"
    assert msg["References"] == "<root@example.com> <orig@example.com>"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Precedence"] == "bulk"
    assert msg.defects == []


def test_header_options():
    msg = parse(
        compose(
            auto_submitted="auto-generated",
            precedence=None,
            in_reply_to=None,
            references=[],
            extra_headers={"Reply-To": "team@example.com", "X-Mailbot-Ticket": "MB-000123 – Müller"},
        )
    )
    assert msg["Auto-Submitted"] == "auto-generated"
    assert "Precedence" not in msg and "In-Reply-To" not in msg and "References" not in msg
    assert msg["Reply-To"] == "team@example.com"
    assert msg["X-Mailbot-Ticket"] == "MB-000123 – Müller"


def test_a_persons_reply_carries_no_automatic_marks():
    """Issue 10, RFC 3834 section 5: a reply a person wrote has no Auto-Submitted (absent, not "no"),
    and neither Outlook's mark of automatic mail nor a Precedence."""
    msg = parse(
        compose(auto_submitted=None, precedence=None, extra_headers={"X-Loop": "support@example.com"})
    )
    for header in ("Auto-Submitted", "X-Auto-Response-Suppress", "Precedence"):
        assert header not in msg
    assert msg["X-Loop"] == "support@example.com"  # still recognisable as ours when it comes back
    assert msg["In-Reply-To"] == "<orig@example.com>" and msg.defects == []


def test_display_name_with_specials_round_trips():
    msg = parse(compose(from_name='Müller, "Support" <Team>'))
    assert msg["From"].addresses[0].display_name == 'Müller, "Support" <Team>'
    assert msg["From"].addresses[0].addr_spec == "support@example.com"


def test_idn_domain_is_sent_as_punycode():
    assert parse(compose(to_addr="erika@bücher.de"))["To"] == "erika@xn--bcher-kva.de"


def test_alternative_parts_round_trip_with_umlauts():
    raw = compose()
    msg = parse(raw)

    assert msg.get_content_type() == "multipart/alternative"
    plain, html = msg.get_payload()
    assert plain.get_content_type() == "text/plain" and plain.get_content_charset() == "utf-8"
    assert html.get_content_type() == "text/html" and html.get_content_charset() == "utf-8"
    assert text_of(plain) == RENDERED.text
    assert text_of(html) == RENDERED.html
    assert msg.get_body(("html", "plain")) is html
    assert list(msg.iter_attachments()) == []


def test_bytes_are_crlf_7bit_and_lines_short():
    raw = compose()
    assert raw.isascii()  # text parts are QP/base64: any SMTP server takes them
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert b"\r" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_attached_original_is_message_rfc822_with_the_original_bytes():
    raw = compose(attach_rfc822=ORIGINAL, auto_submitted="auto-generated")
    msg = parse(raw)

    assert msg.get_content_type() == "multipart/mixed"
    body, attachment = msg.get_payload()
    assert body.get_content_type() == "multipart/alternative"
    assert text_of(body.get_payload()[0]) == RENDERED.text
    assert attachment.get_content_type() == "message/rfc822"
    assert attachment.get_filename() == "original.eml"
    assert attachment["Content-Transfer-Encoding"] == "8bit"
    assert ORIGINAL in raw  # byte for byte, not re-serialised
    inner = attachment.get_content()
    assert inner["Subject"] == "Drucker" and inner["Message-ID"] == "<orig@example.com>"
    assert text_of(inner) == "Der Drucker druckt nicht. Grüße\n"
    assert text_of(msg.get_body(("plain",))) == RENDERED.text


def test_original_line_endings_are_normalised_to_crlf():
    lf_only = ORIGINAL.replace(b"\r\n", b"\n").rstrip(b"\n")
    raw = compose(attach_rfc822=lf_only)
    assert ORIGINAL in raw
    assert b"\n" not in raw.replace(b"\r\n", b"")


def test_ascii_original_is_7bit():
    original = b"From: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
    attachment = parse(compose(attach_rfc822=original)).get_payload()[1]
    assert attachment["Content-Transfer-Encoding"] == "7bit"


@pytest.mark.parametrize("body", [b"x" * 1200, b"nul \x00 byte"])
def test_original_smtp_cannot_carry_goes_as_base64(body):
    original = b"From: a@example.com\r\nSubject: hi\r\n\r\n" + body + b"\r\n"
    raw = compose(attach_rfc822=original)
    attachment = parse(raw).get_payload()[1]
    assert attachment.get_content_type() == "application/octet-stream"
    assert attachment.get_filename() == "original.eml"
    assert attachment.get_content() == original
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78


def test_boundaries_are_derived_from_the_message_id():
    raw = compose(attach_rfc822=ORIGINAL)
    boundaries = re.findall(rb'boundary="([^"]+)"', raw)
    assert len(boundaries) == 2 and len(set(boundaries)) == 2
    assert all(b.startswith(b"=_mb_") for b in boundaries)
    other = compose(attach_rfc822=ORIGINAL, message_id="<mb.other@example.com>")
    assert set(re.findall(rb'boundary="([^"]+)"', other)).isdisjoint(boundaries)


def test_boundary_avoids_content_that_contains_it():
    first = compose(attach_rfc822=ORIGINAL)
    outer = re.findall(rb'boundary="([^"]+)"', first)[0]
    hostile = ORIGINAL + b"--" + outer + b"--\r\n"
    raw = compose(attach_rfc822=hostile)

    new_outer = re.findall(rb'boundary="([^"]+)"', raw)[0]
    assert new_outer == outer + b".1"
    msg = parse(raw)
    assert len(msg.get_payload()) == 2
    assert hostile in raw


def test_same_input_gives_identical_bytes():
    assert compose() == compose()
    assert compose(attach_rfc822=ORIGINAL) == compose(attach_rfc822=ORIGINAL)


def test_date_keeps_its_offset():
    raw = compose(date=datetime(2024, 12, 24, 23, 59, tzinfo=UTC))
    assert b"Date: Tue, 24 Dec 2024 23:59:00 +0000\r\n" in raw


# --- rejected input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"rendered": Rendered("Hallo\r\nBcc: victim@example.com", "t", "h")},
        {"rendered": Rendered("Hallo\nBcc: victim@example.com", "t", "h")},
        {"rendered": Rendered("Hallo\rBcc: victim@example.com", "t", "h")},
        {"rendered": Rendered("Hallo\u2028Bcc: victim@example.com", "t", "h")},
        {"rendered": Rendered("Hallo\x00", "t", "h")},
        {"from_name": "Support\r\nBcc: victim@example.com"},
        {"from_addr": "support@example.com\r\nBcc: victim@example.com"},
        {"to_addr": "erika@example.com\nBcc: victim@example.com"},
        {"message_id": "<a@b>\r\nBcc: victim@example.com"},
        {"in_reply_to": "<a@b>\nX: y"},
        {"references": ["<a@b>", "<c@d>\r\nX: y"]},
        {"extra_headers": {"X-Note": "ok\r\nBcc: victim@example.com"}},
        {"extra_headers": {"X-Note\r\nBcc": "victim@example.com"}},
    ],
)
def test_line_breaks_in_any_header_value_raise(overrides):
    with pytest.raises(HeaderInjectionError):
        compose(**overrides)


@pytest.mark.parametrize(
    "overrides",
    [
        {"to_addr": "not-an-address"},
        {"to_addr": "@example.com"},
        {"to_addr": "erika@"},
        {"to_addr": "erika@exa mple.com"},
        {"to_addr": "Erika <erika@example.com>"},
        {"to_addr": "erikä@example.com"},
        {"from_addr": "support"},
        {"message_id": "mb.123@example.com"},
        {"message_id": "<mb 123@example.com>"},
        {"in_reply_to": "<>"},
        {"references": ["<ok@example.com>", "broken"]},
        {"date": datetime(2024, 5, 14, 9, 30)},
        {"auto_submitted": "no"},
        {"auto_submitted": "auto-notified"},
        {"auto_submitted": None},  # a person's reply with the default Precedence: bulk
        {"auto_submitted": None, "precedence": "list"},
        {"extra_headers": {"Subject": "other"}},
        {"extra_headers": {"message-id": "<x@y>"}},
        {"extra_headers": {"Content-Type": "text/plain"}},
        {"extra_headers": {"Bcc": "victim@example.com"}},
        {"extra_headers": {"X Bad": "name with space"}},
        {"extra_headers": {"Reply-To": "not-an-address"}},
    ],
)
def test_malformed_input_raises_value_error(overrides):
    with pytest.raises(ValueError):
        compose(**overrides)


# --- message ids and threading ---------------------------------------------------------------------


def test_make_message_id():
    assert make_message_id("support.example.com", "abc-1.2_3") == "<mb.abc-1.2_3@support.example.com>"
    first, second = make_message_id("example.com"), make_message_id("example.com")
    assert first != second
    assert re.fullmatch(r"<mb\.[0-9a-f]{32}@example\.com>", first)


@pytest.mark.parametrize(
    "domain", ["", "exa mple.com", "example.com\r\nX: y", "-bad.com", "bad-.com", "a..b", "ä.de"]
)
def test_make_message_id_validates_domain(domain):
    with pytest.raises(ValueError):
        make_message_id(domain)


@pytest.mark.parametrize("token", ["", "a b", "a@b", "a>b", "x" * 65])
def test_make_message_id_validates_token(token):
    with pytest.raises(ValueError):
        make_message_id("example.com", token)


@pytest.mark.parametrize(
    ("parent", "refs", "expected"),
    [
        (None, ["<a@x>"], {}),
        ("", [], {}),
        ("not-an-id", ["<a@x>"], {}),
        ("<p@x>\r\nBcc: v@x", [], {}),
        ("<p@x>", [], {"In-Reply-To": "<p@x>", "References": "<p@x>"}),
        (" <p@x> ", ["<a@x>", "<b@x>"], {"In-Reply-To": "<p@x>", "References": "<a@x> <b@x> <p@x>"}),
        ("<p@x>", ["<a@x>", "<b@x>", "<a@x>"], {"In-Reply-To": "<p@x>", "References": "<b@x> <a@x> <p@x>"}),
        ("<p@x>", ["<a@x>", "<p@x>", "<b@x>"], {"In-Reply-To": "<p@x>", "References": "<a@x> <b@x> <p@x>"}),
        (
            "<p@x>",
            ["<a@x>", "junk", "<b c@x>", "<d@x>\nX: y", "<ä@x>", "<e@x>"],
            {"In-Reply-To": "<p@x>", "References": "<a@x> <e@x> <p@x>"},
        ),
        ("<no-at-sign>", [], {"In-Reply-To": "<no-at-sign>", "References": "<no-at-sign>"}),
    ],
)
def test_threading_headers(parent, refs, expected):
    assert threading_headers(parent, refs) == expected


def test_threading_headers_trim_keeps_root_and_most_recent():
    refs = [f"<r{i}@x>" for i in range(30)]
    headers = threading_headers("<p@x>", refs)
    ids = headers["References"].split()
    assert len(ids) == MAX_REFERENCES == 20
    assert ids[0] == "<r0@x>"
    assert ids[1:] == [*refs[-(MAX_REFERENCES - 2) :], "<p@x>"]


def test_threading_headers_feed_compose():
    refs = [f"<r{i}.{'x' * 60}@example.com>" for i in range(25)]
    headers = threading_headers("<parent@example.com>", refs)
    raw = compose(in_reply_to=headers["In-Reply-To"], references=headers["References"].split())
    msg = parse(raw)
    assert msg["References"].split() == headers["References"].split()
    assert msg["In-Reply-To"] == "<parent@example.com>"
    # msg-ids are folded between ids, never RFC 2047-encoded (that would break threading)
    head = raw.split(b"\r\n\r\n")[0].decode()
    threading = re.search(r"In-Reply-To:.*?\r\n(?=\S)References:.*?\r\n(?=\S)", head, re.S)
    assert threading and "=?" not in threading.group(0)
    for line in threading.group(0).split("\r\n"):  # 78 columns, unless one id alone is longer
        assert len(line) <= 78 or len(line.removeprefix("References:").split()) == 1


def test_long_message_id_is_not_encoded():
    long_id = f"<{'x' * 200}@example.com>"
    raw = compose(in_reply_to=long_id, references=[long_id])
    headers = raw.split(b"\r\n\r\n")[0]
    assert f"In-Reply-To: {long_id}\r\n".encode() in headers
    assert f"References: {long_id}\r\n".encode() in headers


# --- properties ------------------------------------------------------------------------------------

# Control characters (Cc), lone surrogates (Cs) and Unicode line/paragraph separators are refused
# by compose_reply; reply_subject/render never produce them.
SUBJECT_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=300)


@settings(max_examples=300, deadline=None)
@given(SUBJECT_TEXT)
@example("=?utf-8?q?looks_encoded?=")
@example("Re: =?iso-8859-1?b?w6Q=?= und mehr")
@example("ä" * 200)
@example("x" * 300)
@example("  leading and trailing  ")
@example("")
def test_any_subject_round_trips(subject):
    raw = compose(rendered=Rendered(subject, "t\n", "<p>h</p>\n"))
    assert parse(raw)["Subject"] == subject.strip(" \t")
    assert raw.isascii()


@settings(max_examples=100, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=400))
def test_any_text_body_round_trips(text):
    raw = compose(rendered=Rendered("s", text, "<p>h</p>\n"))
    body = text_of(parse(raw).get_body(("plain",)))
    assert body == (text if text.endswith("\n") else text + "\n")


def test_signed_message_ids_verify_and_forgeries_do_not():
    from mailbot.reply.compose import make_message_id, verify_message_id

    key = b"k" * 32
    ours = make_message_id("support.example.com", key=key)
    assert verify_message_id(ours, key)
    _token, signature = ours[4:].split("@")[0].rsplit(".", 1)
    forged = ours.replace(signature, "0" * len(signature))
    assert not verify_message_id(forged, key)
    assert not verify_message_id(ours, b"other key")
    assert not verify_message_id("<mb.abc@support.example.com>", key)  # unsigned
    assert not verify_message_id("<CAF123@mail.gmail.com>", key)
    assert make_message_id("support.example.com", token="t1", key=key) == make_message_id(
        "support.example.com", token="t1", key=key
    )


# --- compose and delivery agree on what is sendable (issue 11) -------------------------------------


@pytest.mark.parametrize(
    ("address", "written"),
    [
        ("erika@bücher.de", "erika@xn--bcher-kva.de"),
        ("kunde@straße.example", "kunde@xn--strae-oqa.example"),  # IDNA 2008: ß is not "ss"
        ("Erika@EXAMPLE.org", "Erika@example.org"),  # the local part as written
        ("joerg@MÜNCHEN.example", "joerg@xn--mnchen-3ya.example"),  # UTS #46 maps the case first
    ],
)
def test_the_to_header_is_the_envelope_address(address: str, written: str):
    assert parse(compose(to_addr=address))["To"] == written == envelope_address(address)
    assert sendable_address(address) == written


@pytest.mark.parametrize(
    "address",
    [
        "jörg@example.com",  # non-ASCII local part, no SMTPUTF8
        "x@xn--zz.example",  # invalid punycode
        f"x@{'a' * 64}.example",  # a label over 63 octets
        "x@☃.example",  # a symbol: IDNA 2003 (the stdlib codec) allowed it, IDNA 2008 does not
        "x@local",  # no dot: a host name, not a mail domain
        "x y@example.com",  # a space in the local part
        "no-at-sign",
        "erased-0123456789abcdef@erased.invalid",  # an erased person's stand-in: RFC 6761 never delivers
    ],
)
def test_an_address_delivery_refuses_is_refused_by_compose_too(address: str):
    with pytest.raises(UndeliverableAddress):
        envelope_address(address)
    with pytest.raises(UndeliverableAddress):
        sendable_address(address)
    with pytest.raises(UndeliverableAddress):
        compose(to_addr=address)


def test_without_a_recipient_the_mail_is_a_record_without_to():
    msg = parse(compose(to_addr=None))
    assert "To" not in msg and msg["Subject"] == RENDERED.subject
    assert text_of(msg.get_body(("plain",))) == RENDERED.text
