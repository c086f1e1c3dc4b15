"""Body text of parse_mail: charsets, HTML-only mail, attachments, language."""

import base64

import pytest

from mailbot.domain import Attachment, Language
from mailbot.parse import parse_mail
from mailbot.parse.charsets import decode_bytes
from mailbot.parse.html import html_to_text
from mailbot.parse.language import detect_language

HEAD = b"From: Kunde <kunde@example.com>\r\nTo: support@example.com\r\nSubject: Frage\r\n"
GERMAN = "Grüße aus Köln, die Lieferung ist beschädigt. Größe: 3 € – „schön“."


def text_mail(body: bytes, content_type: str | None, cte: str = "8bit") -> bytes:
    ctype = f"Content-Type: {content_type}\r\n".encode() if content_type else b""
    return HEAD + ctype + f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode() + body + b"\r\n"


def assert_german_survives(text: str) -> None:
    assert "Grüße aus Köln" in text
    assert "beschädigt" in text
    for mojibake in ("Ã¼", "Ã¤", "Ã¶", "Ã", "\ufffd"):
        assert mojibake not in text


@pytest.mark.parametrize(
    ("label", "text"),
    [
        ("utf-8", GERMAN),
        ("iso-8859-15", "Grüße aus Köln, die Lieferung ist beschädigt. Preis: 3 €."),
        ("windows-1252", GERMAN),  # „ “ – € are 0x84 0x93 0x96 0x80 there
        ('"UTF-8"', GERMAN),
    ],
)
def test_declared_charset_is_used(label, text):
    codec = label.strip('"')
    mail = parse_mail(text_mail(text.encode(codec), f"text/plain; charset={label}"))
    assert mail.text == text
    assert_german_survives(mail.text)
    assert not any("charset" in defect for defect in mail.defects)


def test_latin1_body_with_umlauts():
    text = "Grüße aus Köln, die Lieferung ist beschädigt."
    mail = parse_mail(text_mail(text.encode("iso-8859-1"), "text/plain; charset=iso-8859-1"))
    assert mail.text == text
    assert_german_survives(mail.text)


def test_quoted_printable_latin1():
    body = b"Gr=FC=DFe aus K=F6ln, die Lieferung ist besch=E4digt."
    mail = parse_mail(text_mail(body, "text/plain; charset=iso-8859-1", cte="quoted-printable"))
    assert_german_survives(mail.text)


def test_utf8_bytes_labelled_latin1_give_no_mojibake():
    mail = parse_mail(text_mail(GERMAN.encode(), "text/plain; charset=iso-8859-1"))
    assert mail.text == GERMAN
    assert any("does not fit the bytes; read as utf-8" in defect for defect in mail.defects)


@pytest.mark.parametrize("label", ["utf-8", "us-ascii"])
def test_cp1252_bytes_with_a_wrong_label(label):
    mail = parse_mail(text_mail(GERMAN.encode("cp1252"), f"text/plain; charset={label}"))
    assert mail.text == GERMAN
    assert any("read as cp1252" in defect for defect in mail.defects)


@pytest.mark.parametrize("label", ["x-unknown", "unknown-8bit", "base64", "utf-9"])
def test_unknown_or_non_text_label(label):
    mail = parse_mail(text_mail(GERMAN.encode(), f"text/plain; charset={label}"))
    assert mail.text == GERMAN


@pytest.mark.parametrize("codec", ["utf-8", "cp1252", "latin-1"])
def test_8bit_without_label(codec):
    text = "Grüße aus Köln, die Lieferung ist beschädigt."
    mail = parse_mail(text_mail(text.encode(codec), None))
    assert mail.text == text
    assert any("without a charset label" in defect for defect in mail.defects)


def test_base64_utf8_body():
    body = base64.encodebytes(GERMAN.encode())
    mail = parse_mail(text_mail(body, "text/plain; charset=utf-8", cte="base64"))
    assert mail.text == GERMAN


def test_decode_bytes_never_fails():
    assert decode_bytes(b"\x81\x8d\x8f\x90\x9d", "utf-8")[0] == "\x81\x8d\x8f\x90\x9d"  # latin-1 last
    assert decode_bytes(b"abc", None) == ("abc", None)
    assert decode_bytes(b"a\x00b", "utf-8") == ("ab", None)  # NUL is dropped: databases refuse it


GERMAN_HTML_QP = b"""\
From: Kunde <kunde@example.com>\r
To: support@example.com\r
Subject: =?utf-8?q?Rechnung_f=C3=BCr_M=C3=A4rz?=\r
MIME-Version: 1.0\r
Content-Type: text/html; charset="utf-8"\r
Content-Transfer-Encoding: quoted-printable\r
\r
<html><head><style>p { color: red; }</style><script>var tracking =3D 1;</script></head>\r
<body><p>Sehr geehrte Damen und Herren,</p><p>meine Rechnung f=C3=BCr M=C3=A4rz ist=\r
 falsch, bitte pr=C3=BCfen Sie die Betr=C3=A4ge.</p>\r
<p>Siehe <a href=3D"https://example.com/rechnung/42">Rechnung 42</a> und\r
<a href=3D"https://example.com/hilfe">https://example.com/hilfe</a>.</p>\r
<p>Mit freundlichen Gr=C3=BC=C3=9Fen<br>Erika Mustermann</p></body></html>\r
"""


def test_german_html_only_quoted_printable():
    mail = parse_mail(GERMAN_HTML_QP)
    assert mail.subject == "Rechnung für März"
    assert "meine Rechnung für März ist falsch, bitte prüfen Sie die Beträge." in mail.text
    assert "Rechnung 42 (https://example.com/rechnung/42)" in mail.text
    assert "https://example.com/hilfe (" not in mail.text  # the URL is not repeated
    for leaked in ("<p>", "color: red", "tracking", "=C3"):
        assert leaked not in mail.text
    assert "Erika Mustermann" not in mail.body  # signature removed
    assert mail.body.startswith("meine Rechnung für März ist falsch")  # greeting line removed
    assert mail.language is Language.DE


def test_html_links_and_noise():
    html = (
        '<p><a href="mailto:a@example.com">a@example.com</a> <a href="#top">oben</a> '
        '<a href="https://t.example/x"><img src="x.png"></a> <a href="javascript:void(0)">klick</a></p>'
    )
    assert html_to_text(html) == "a@example.com oben  klick"
    assert html_to_text("") == ""
    assert html_to_text("   ") == ""


MULTIPART = (
    b"""\
From: Kunde <kunde@example.com>\r
To: support@example.com\r
Subject: Anhang\r
MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary="outer"\r
\r
--outer\r
Content-Type: multipart/alternative; boundary="alt"\r
\r
--alt\r
Content-Type: text/plain; charset=utf-8\r
\r
Anbei der Bericht.\r
--alt\r
Content-Type: text/html; charset=utf-8\r
\r
<p>Anbei der <b>Bericht</b> (HTML).</p>\r
--alt--\r
--outer\r
Content-Type: application/pdf; name="bericht.pdf"\r
Content-Disposition: attachment; filename="bericht.pdf"\r
Content-Transfer-Encoding: base64\r
\r
"""
    + base64.encodebytes(bytes(range(256)) * 4).replace(b"\n", b"\r\n")
    + b"""\
--outer\r
Content-Type: text/plain; charset=utf-8\r
Content-Disposition: attachment; filename*=utf-8''R%C3%BCckmeldung.txt\r
\r
Dieser Text ist eine Datei.\r
--outer\r
Content-Type: image/png\r
Content-ID: <logo@example.com>\r
Content-Transfer-Encoding: base64\r
\r
iVBORw0KGgo=\r
--outer\r
Content-Type: message/rfc822\r
\r
From: someone@example.org\r
Subject: weitergeleitet\r
\r
Text der alten Mail.\r
--outer--\r
"""
)


def test_attachments_are_listed_with_decoded_sizes():
    mail = parse_mail(MULTIPART)
    assert mail.content_type == "multipart/mixed"
    assert mail.text == "Anbei der Bericht."  # plain wins over HTML; attachments are not text
    names = [(a.filename, a.content_type) for a in mail.attachments]
    assert names == [
        ("bericht.pdf", "application/pdf"),
        ("Rückmeldung.txt", "text/plain"),
        ("", "image/png"),
        ("", "message/rfc822"),
    ]
    assert mail.attachments[0] == Attachment("bericht.pdf", "application/pdf", 1024)
    assert mail.attachments[1].size == len(b"Dieser Text ist eine Datei.")  # the CRLF belongs to the boundary
    assert mail.attachments[2].size == 8
    assert mail.attachments[3].size > 0
    assert "alten Mail" not in mail.text


def test_encoded_word_filename():
    raw = (
        HEAD + b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        b"Hallo\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?Pr=C3=BCfung.bin?="\r\n\r\nxyz\r\n--b--\r\n'
    )
    assert parse_mail(raw).attachments == (Attachment("Prüfung.bin", "application/octet-stream", 3),)


def test_empty_plain_part_falls_back_to_html():
    raw = (
        HEAD
        + b'Content-Type: multipart/alternative; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n'
        b"\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Only <i>HTML</i> here</p>\r\n--b--\r\n"
    )
    assert parse_mail(raw).text == "Only HTML here"


def test_crlf_becomes_lf():
    mail = parse_mail(text_mail(b"line one\r\nline two", "text/plain"))
    assert mail.text == "line one\nline two"


@pytest.mark.parametrize(
    ("body", "subject", "expected"),
    [
        ("Mein Drucker druckt seit dem Update keine Rechnungen mehr.", "", Language.DE),
        ("My printer stopped printing invoices after the update.", "", Language.EN),
        ("Hallo", "Passwort vergessen, bitte zurücksetzen", Language.DE),  # short body: subject decides
        ("Hi", "Cannot log in to my account", Language.EN),
        ("ok", "ok", Language.DE),  # undecidable: the default wins
        ("", "", Language.DE),
    ],
)
def test_detect_language(body, subject, expected):
    assert detect_language(body, subject, Language.DE) == expected


def test_detect_language_ignores_urls_and_identifiers():
    text = (
        "Yes. See the perl module Mail::SpamTest::Bayesian on CPAN, and the thread.\n"
        "https://www.inphonic.com/r.asp?r=sourceforge1&refcode1=vs3390"
    )
    assert detect_language(text, "", Language.DE) == Language.EN


@pytest.mark.parametrize("default", [Language.DE, Language.EN])
def test_parse_mail_language_default(default):
    mail = parse_mail(text_mail(b"ok", "text/plain"), default_language=default)
    assert mail.language == default


def test_parse_mail_detects_english():
    body = b"Hello, I cannot log in to my account since yesterday. Could you please reset my password?"
    assert parse_mail(text_mail(body, "text/plain"), default_language=Language.DE).language == Language.EN
