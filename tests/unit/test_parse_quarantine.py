"""What parse_mail refuses (Quarantine with a readable reason) and that it never raises anything else."""

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mailbot.domain import ParsedMail
from mailbot.errors import Quarantine
from mailbot.parse import core, parse_mail

FROM = b"From: Kunde <kunde@example.com>\r\nSubject: x\r\n"


def reason_of(raw: bytes) -> str:
    with pytest.raises(Quarantine) as caught:
        parse_mail(raw)
    return caught.value.reason


@pytest.mark.parametrize("raw", [b"", b"   \r\n\r\n  ", b"\n"])
def test_empty_input(raw):
    assert reason_of(raw) == "empty message: there are no bytes to read"


@pytest.mark.parametrize(
    "raw",
    [
        b"hello world, this is not a mail",
        b"\x00\xff\xfe\x89PNG\r\n\x1a\n" + bytes(range(256)),
        b"\r\n\r\nbody only",
    ],
)
def test_no_header_block(raw):
    assert reason_of(raw) == "not an e-mail: the data has no header block"


def test_no_from_header():
    raw = b"To: support@example.com\r\nSubject: hallo\r\n\r\nHallo\r\n"
    assert reason_of(raw) == "no sender: the mail has no From header, so there is nobody to answer"


def test_multipart_without_boundary():
    raw = (
        FROM
        + b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nHallo\r\n--x--\r\n"
    )
    assert reason_of(raw) == (
        "broken MIME: multipart/mixed declares no boundary, the body cannot be split into parts"
    )


def test_start_boundary_not_found():
    raw = FROM + b'Content-Type: multipart/mixed; boundary="abc"\r\n\r\n--xyz\r\n\r\nHallo\r\n--xyz--\r\n'
    assert reason_of(raw) == (
        "broken MIME: multipart/mixed declares the boundary 'abc' but no part starts with it, "
        "the body cannot be split into parts"
    )


NESTED = (
    FROM + b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b"--outer\r\n%s"
    b'--outer\r\nContent-Type: multipart/alternative; boundary="inner"\r\n\r\nno inner parts here\r\n'
    b"--outer--\r\n"
)


def test_broken_nested_multipart_beside_readable_text_is_a_defect():
    mail = parse_mail(NESTED % b"Content-Type: text/plain\r\n\r\nHallo, die Lieferung fehlt.\r\n")
    assert mail.text == "Hallo, die Lieferung fehlt."
    assert "multipart/alternative boundary never appears, the parts cannot be separated" in mail.defects


def test_broken_nested_multipart_without_any_text_is_quarantined():
    reason = reason_of(NESTED % b"Content-Type: application/pdf\r\n\r\n%PDF\r\n")
    assert reason.startswith("broken MIME: multipart/alternative declares the boundary 'inner'")


def test_missing_close_boundary_is_only_a_defect():
    raw = (
        FROM
        + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        + b"--b\r\nContent-Type: text/plain\r\n\r\nHallo\r\n"
    )
    mail = parse_mail(raw)
    assert mail.text == "Hallo"
    assert "multipart/mixed has no closing boundary, the last part may be cut off" in mail.defects


def test_deep_nesting_is_quarantined_not_a_crash():
    depth = 1500
    head = b"".join(
        b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth)
    )
    raw = FROM + head + b"Content-Type: text/plain\r\n\r\nHallo\r\n"
    try:
        mail = parse_mail(raw)
    except Quarantine as exc:
        assert exc.reason.startswith(("broken MIME", "unparseable"))
    else:
        assert isinstance(mail, ParsedMail)


def test_unexpected_library_errors_become_quarantine(monkeypatch):
    def explode(raw: bytes) -> None:
        raise ValueError("boom")

    monkeypatch.setattr(core, "load", explode)
    assert reason_of(FROM + b"\r\nHallo") == "unparseable: ValueError: boom"


def test_huge_line_parses():
    raw = FROM + b"Content-Type: text/plain\r\n\r\n" + b"x" * 5_000_000 + b" Ende\r\n"
    mail = parse_mail(raw)
    assert mail.text.endswith("Ende")


# --- property: any input gives ParsedMail or Quarantine ---------------------------------------------
def check(raw: bytes) -> None:
    try:
        mail = parse_mail(raw)
    except Quarantine as exc:
        assert exc.reason
        return
    assert mail.message_id.startswith("<") and mail.message_id.endswith(">")
    assert all(name == name.lower() for name in mail.headers)
    assert not mail.text.strip() or mail.body.strip()
    for value in (mail.subject, mail.text, mail.body, mail.from_name, *mail.defects):
        value.encode("utf-8")  # no lone surrogates
        assert "\x00" not in value


FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(st.binary(max_size=3000))
def test_arbitrary_bytes(raw):
    check(raw)


@FUZZ
@given(st.binary(max_size=2000))
def test_arbitrary_body_behind_a_valid_header(body):
    check(FROM + b"\r\n" + body)


HEADER_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Return-Path",
        "Reply-To",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "X-Any",
    ]
)
HEADER_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            "multipart/mixed",
            'multipart/mixed; boundary="b"',
            "multipart/alternative; boundary=",
            "text/html",
            "text/plain; charset=x-unknown",
            "text/plain; charset=utf-16",
            "text/plain; charset=base64",
            "message/rfc822",
            "base64",
            "quoted-printable",
            "x-uuencode",
            "<>",
            "=?utf-8?b?w6Q?=",
            "=?utf-8?q?=C3?= =?latin-1?q?=FC?=",
            "attachment; filename*=utf-8''%FF%FE",
            'a@b, <c@d>, ;:"',
        ]
    ),
)
PARTS = st.lists(
    st.tuples(
        st.sampled_from(["text/plain", "text/html", "application/pdf", "message/rfc822", "multipart/mixed"]),
        st.binary(max_size=200),
    ),
    max_size=4,
)


@FUZZ
@given(
    st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES), max_size=12),
    PARTS,
    st.sampled_from([b"\r\n", b"\n"]),
    st.booleans(),
)
def test_arbitrary_header_and_part_combinations(headers, parts, newline, with_sender):
    lines = [b"From: kunde@example.com"] if with_sender else []
    lines += [f"{name}: {value}".encode("utf-8", "surrogatepass") for name, value in headers]
    raw = newline.join(lines) + newline + newline
    for ctype, payload in parts:
        raw += b"--b" + newline + f"Content-Type: {ctype}".encode() + newline + newline + payload + newline
    if parts:
        raw += b"--b--" + newline
    check(raw)


@FUZZ
@given(st.text(alphabet=string.printable + "äöüß€„“>-_", max_size=400))
def test_arbitrary_text_body(text):
    check(FROM + b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.encode())
