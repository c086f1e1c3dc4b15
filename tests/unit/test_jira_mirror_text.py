"""What mailbot writes into Jira, without a server: description, internal note, reply text, file names,
and the attachments read back from a stored mail."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest

from mailbot.config import PrivacySettings
from mailbot.escalate.mirror import (
    COMMENT_CHARS,
    MAX_FILES,
    description,
    internal_note,
    reply_from_raw,
    safe_filename,
)
from mailbot.parse.attachments import attachment_files

PNG_HEAD = b"\x89PNG\r\n\x1a\n"

TICKET = {
    "reference": "MB-000007",
    "customer": "erika@kunde.example",
    "customer_name": "Erika Muster",
    "subject": "App stürzt ab",
    "severity": "major",
    "severity_reasons": ["'geht nicht' ohne Umgehung", "Kernfunktion Buchung"],
    "response_due": "2026-05-26T11:00:00+02:00",
    "resolution_due": "2026-05-27T11:00:00+02:00",
    "text": "  Seit heute kann ich nicht mehr buchen.\n",
}
BERLIN = ZoneInfo("Europe/Berlin")


def test_description_is_only_the_customers_words() -> None:
    assert description(TICKET) == "Seit heute kann ich nicht mehr buchen."
    assert description(TICKET | {"text": " \n"}) == "(no text)"


def test_internal_note_carries_the_assessment_and_starts_with_the_reference() -> None:
    note = internal_note(TICKET).splitlines()
    assert note[0] == "mailbot MB-000007 · customer erika@kunde.example (Erika Muster)"
    assert note[1] == "Severity guess: major ('geht nicht' ohne Umgehung; Kernfunktion Buchung)"
    assert note[2] == "Response due 2026-05-26T11:00:00+02:00, resolution due 2026-05-27T11:00:00+02:00"
    question = internal_note(TICKET | {"severity": None, "response_due": None, "customer_name": ""})
    assert "Severity guess: none" in question and "due" not in question
    assert question.startswith("mailbot MB-000007 · customer erika@kunde.example\n")


@pytest.mark.parametrize(
    ("name", "ctype", "expected"),
    [
        ("Bildschirmfoto 2026-05-26.png", "image/png", "Bildschirmfoto 2026-05-26.png"),
        ("C:\\Users\\erika\\Desktop\\fehler.jpg", "image/jpeg", "fehler.jpg"),
        ("../../etc/passwd", "text/plain", "passwd"),
        ("bad\x00name\r\n.txt", "text/plain", "badname.txt"),
        ("", "image/png", "attachment-3.png"),
        ("", "message/rfc822", "attachment-3.eml"),
        ("", "application/x-unknown-thing", "attachment-3.bin"),
        ("...", "text/plain", "attachment-3.txt"),
    ],
)
def test_file_names_are_plain_and_unnamed_parts_get_one(name: str, ctype: str, expected: str) -> None:
    assert safe_filename(name, ctype, 3) == expected


def test_long_file_names_keep_their_extension() -> None:
    name = safe_filename("x" * 400 + ".pdf", "application/pdf", 1)
    assert len(name) <= 180 and name.endswith(".pdf")


def mail(body: str, files: list[tuple[str, str, bytes]]) -> bytes:
    message = EmailMessage()
    message["From"] = "Erika Muster <erika@kunde.example>"
    message["To"] = "support@example.com"
    message["Subject"] = "Re: [MB-000007] App stürzt ab"
    message.set_content(body)
    for name, ctype, data in files:
        maintype, subtype = ctype.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name or None)
    return message.as_bytes()


def test_reply_text_is_the_customers_own_words_with_a_header_line() -> None:
    raw = mail(
        "Hier der Screenshot.\n\nAm 26.05. schrieb Support:\n> Bitte senden Sie uns einen Screenshot.\n", []
    )
    reply = reply_from_raw(
        raw, datetime(2026, 5, 26, 7, 20, tzinfo=UTC), "MB-000007", BERLIN, 10_000, PrivacySettings()
    )
    header, _, words = reply.text.partition("\n\n")
    assert header == "E-mail from erika@kunde.example · 2026-05-26 09:20 +0200 · MB-000007"
    assert words.startswith("Hier der Screenshot.") and "Bitte senden Sie uns" not in words


def test_reply_is_bounded_in_text_size_number_and_size_of_files() -> None:
    # issue 15: only what [privacy] lets out, so real PNG bytes and a PDF (an .bin is not forwarded at all)
    files = [(f"f{n}.png", "image/png", PNG_HEAD + b"x" * 10) for n in range(MAX_FILES + 2)]
    files += [("gross.pdf", "application/pdf", b"%PDF-" + b"y" * 1995), ("leer.txt", "text/plain", b"")]
    raw = mail("a" * (COMMENT_CHARS + 500), files)
    reply = reply_from_raw(
        raw, datetime(2026, 5, 26, tzinfo=UTC), "MB-000007", BERLIN, 1000, PrivacySettings()
    )
    assert len(reply.text) < COMMENT_CHARS + 200 and "(cut; the whole mail is kept in mailbot)" in reply.text
    assert [f.name for f in reply.files] == [f"f{n}.png" for n in range(MAX_FILES)]
    assert reply.left_out == (
        f"f{MAX_FILES}.png (more than {MAX_FILES} attachments)",
        f"f{MAX_FILES + 1}.png (more than {MAX_FILES} attachments)",
        "gross.pdf (2.0 kB, over [jira] attachment_max_mb: 1.0 kB)",
        "leer.txt (empty)",
    )


def test_attachment_files_returns_the_bytes_parse_mail_only_names() -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    inner = EmailMessage()
    inner["Subject"] = "weitergeleitet"
    inner.set_content("alte Mail")
    message = EmailMessage()
    message["From"] = "erika@kunde.example"
    message.set_content("Text")
    message.add_attachment(png, maintype="image", subtype="png", filename="a.png")
    message.add_attachment("Zeile ü\n".encode(), maintype="text", subtype="plain", filename="log.txt")
    message.add_attachment(inner)
    found = attachment_files(message.as_bytes())
    assert [(f.filename, f.content_type) for f in found] == [
        ("a.png", "image/png"),
        ("log.txt", "text/plain"),
        ("", "message/rfc822"),
    ]
    assert found[0].data == png and found[1].data == "Zeile ü\n".encode()
    assert b"alte Mail" in found[2].data
