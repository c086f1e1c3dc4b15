"""Issue 15: which attachments leave mailbot (the policy), the team's copy of a mail, and the stored mail
without its attachments for the retention job, on hand-made hostile shapes and the real raw mails."""

from __future__ import annotations

from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path

import pytest

from mailbot.config import PrivacySettings
from mailbot.domain import Language
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail
from mailbot.privacy.attachments import forwardable, forwarded_copy, withheld_note, without_attachments
from mailbot.privacy.mime_tree import leaves, read_tree

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
PDF = b"%PDF-1.7\n" + b"0" * 4000
ZIP = b"PK\x03\x04" + b"z" * 500
DATA = Path("/work/shared/data")
CORPUS = sorted((DATA / "raw_emails_python_testdata/eml").glob("*.eml")) + sorted(
    (DATA / "raw_emails_spamassassin/eml").glob("*.eml")
)
DEFAULT = PrivacySettings()


# --- the policy -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ctype", "size", "head", "filename", "ok"),
    [
        ("image/png", 100, PNG, "a.png", True),
        ('IMAGE/PNG; name="a.png"', 100, PNG, "a.png", True),  # case and parameters ignored
        ("image/heic", 100, None, "a.heic", True),  # "image/*"
        ("image/svg+xml", 100, None, "a.svg", False),  # never through the wildcard
        ("application/zip", 100, ZIP, "a.zip", False),
        ("application/pdf", 11 * 1024 * 1024, PDF, "a.pdf", False),  # over 10 MB
        ("application/pdf", 100, PDF, "a.pdf", True),
        ("image/png", 100, b"MZ\x90\x00rest", "a.png", False),  # a program calling itself an image
        ("image/jpeg", 100, PNG, "a.jpg", False),  # the bytes are not what the type says
        ("text/plain", 100, ZIP, "log.txt", False),  # an archive calling itself text
        ("text/plain", 100, b"log line", "run.exe", False),  # a program's name
        ("", 100, b"x", "x", False),  # no type: application/octet-stream, not allowed
    ],
)
def test_policy_decides_by_type_size_name_and_first_bytes(
    ctype: str, size: int, head: bytes | None, filename: str, ok: bool
) -> None:
    allowed, why = forwardable(ctype, size, DEFAULT, filename=filename, head=head)
    assert allowed is ok
    assert (why == "") is ok


def test_policy_follows_the_configured_list_and_limit_and_says_why_in_the_teams_language() -> None:
    settings = PrivacySettings(forward_attachment_types=["application/PDF"], forward_attachment_max_mb=0.001)
    assert forwardable("image/png", 10, settings) == (
        False, "type image/png is not in [privacy] forward_attachment_types",
    )  # fmt: skip
    allowed, why = forwardable("application/pdf", 5000, settings, language=Language.DE)
    assert not allowed and why == "4,9 kB ist größer als [privacy] forward_attachment_max_mb (1,0 kB)"
    assert forwardable("*/*", 10, PrivacySettings(forward_attachment_types=["*/*"]))[0]


# --- the team's copy ------------------------------------------------------------------------------


def nested(levels: int) -> bytes:
    head = b"Content-Type: multipart/mixed; boundary=b0\r\n\r\n"
    return head + b"".join(
        b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (n, n + 1) for n in range(levels)
    )


def customer_mail(*files: tuple[str, str, bytes]) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Erika Muster <erika@kunde.example>"
    mail["To"] = "support@example.com"
    mail["Subject"] = "App stürzt ab"
    mail.set_content("Die App stürzt beim Öffnen ab. Anbei Screenshot und Log.\n")
    for name, ctype, data in files:
        maintype, subtype = ctype.split("/")
        mail.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return mail.as_bytes(policy=SMTP)


def test_team_copy_keeps_allowed_parts_byte_for_byte_and_names_what_it_removed() -> None:
    raw = customer_mail(("bild.png", "image/png", PNG), ("tool.zip", "application/zip", ZIP))
    copy = forwarded_copy(raw, DEFAULT, Language.DE)
    assert copy.raw is not None and copy.failure is None
    assert [(r.name, r.content_type) for r in copy.removed] == [("tool.zip", "application/zip")]
    parsed = message_from_bytes(copy.raw)
    parts = parsed.get_payload()[1:]  # the text, then the attachments in order
    assert parts[0].get_payload(decode=True) == PNG
    note = parts[1].get_payload(decode=True).decode()
    assert note.startswith("Anhang entfernt: tool.zip (application/zip, 0,5 kB), Dateityp application/zip")
    assert "bis 14 Tage nach der Lösung des Tickets" in note
    # everything outside the removed part is the customer's bytes, unchanged
    png_start = raw.index(b"Content-Type: image/png")
    zip_start = raw.index(b"Content-Type: application/zip")
    assert copy.raw.startswith(raw[:zip_start]) and raw[png_start:zip_start] in copy.raw
    assert forwarded_copy(copy.raw, DEFAULT, Language.DE).raw == copy.raw  # nothing left to remove


def test_team_copy_of_a_mail_with_nothing_to_remove_is_the_mail_itself() -> None:
    raw = customer_mail(("bild.png", "image/png", PNG))
    assert forwarded_copy(raw, DEFAULT, Language.EN).raw == raw


@pytest.mark.parametrize(
    "raw",
    [
        nested(5000) + ZIP,
        b"Subject: x\r\nX-Big: " + b"a" * 2_000_000 + b"\r\nContent-Type: image/png\r\n\r\n" + PNG,
        b"Content-Type: multipart/mixed\r\n\r\n--x\r\nContent-Type: application/zip\r\n\r\n"
        + ZIP
        + b"\r\n--x--",
        b"\xff\xfe\x00garbage without any header",
    ],
    ids=["deep", "megabyte-header", "no-boundary", "garbage"],
)
def test_hostile_shapes_never_raise(raw: bytes) -> None:
    copy = forwarded_copy(raw, DEFAULT, Language.EN)
    assert copy.raw is not None or copy.failure
    if copy.raw is not None:
        assert b"PK\x03\x04" not in copy.raw and (b"\x89PNG" not in copy.raw or b"image/png" not in raw[:100])
    stripped = without_attachments(raw, "retention")
    assert without_attachments(stripped, "retention") == stripped


def test_nesting_too_deep_is_a_failure_with_a_reason_and_retention_still_strips() -> None:
    copy = forwarded_copy(nested(100), DEFAULT, Language.EN)
    assert copy.raw is None and copy.failure == "MIME parts nested deeper than 16 levels"
    assert forwarded_copy(nested(10), DEFAULT, Language.EN).failure is None
    stripped = without_attachments(nested(100) + PNG, "retention")
    assert PNG not in stripped and b"could not be split into parts (MIME parts nested deeper" in stripped
    assert without_attachments(stripped, "retention") == stripped


def test_a_mail_that_cannot_be_split_is_replaced_by_a_note_saying_why() -> None:
    note = message_from_bytes(withheld_note("MIME parts nested deeper than 16 levels", Language.EN))
    assert note.get_content_type() == "text/plain"
    text = note.get_payload(decode=True).decode()
    assert text.startswith("The original mail is not attached: MIME parts nested deeper than 16 levels.")


# --- the stored mail without its attachments (retention) ------------------------------------------


def html_mail_with_inline_image() -> bytes:
    mail = EmailMessage()
    mail["From"] = "erika@kunde.example"
    mail["Subject"] = "Fehler"
    mail.set_content("Siehe Bild.\n")
    mail.add_alternative('<p>Siehe Bild:</p><img src="cid:bild1">\n', subtype="html")
    html = mail.get_payload()[1]
    html.add_related(PNG, maintype="image", subtype="png", cid="<bild1>")
    mail.add_attachment(
        b"From: a@b\r\nSubject: alt\r\n\r\nalte Mail\r\n", maintype="message", subtype="rfc822"
    )
    return mail.as_bytes(policy=SMTP)


def test_retention_removes_inline_images_and_attached_mails_and_keeps_the_text_parts() -> None:
    raw = html_mail_with_inline_image()
    stripped = without_attachments(raw, "removed 14 days after the ticket was solved")
    assert PNG[:8] not in stripped and b"alte Mail" not in stripped
    assert parse_mail(stripped).body == parse_mail(raw).body
    html_part = raw[raw.index(b"Content-Type: text/html") : raw.index(b"Content-Type: image/png")]
    assert html_part in stripped  # the HTML (and its cid reference) byte for byte
    notes = [a for a in parse_mail(stripped).attachments]
    assert [a.filename for a in notes] == ["attachment-removed.txt"] * 2
    text = message_from_bytes(stripped).get_payload()[1].get_payload(decode=True)  # type: ignore[index]
    assert text.startswith(b"Attachment removed: (unnamed) (message/rfc822, ")
    assert without_attachments(stripped, "removed 14 days after the ticket was solved") == stripped


def test_retention_of_a_mail_that_forwards_another_as_its_only_text_keeps_that_text() -> None:
    inner = customer_mail(("tool.zip", "application/zip", ZIP))
    raw = b"From: x@y\r\nSubject: Fwd\r\nMIME-Version: 1.0\r\nContent-Type: message/rfc822\r\n\r\n" + inner
    stripped = without_attachments(raw, "retention")
    assert ZIP not in stripped and b"Die App st" in parse_mail(stripped).text.encode()
    assert without_attachments(stripped, "retention") == stripped


@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_retention_on_real_mails_keeps_their_text_and_no_attachment(path: Path) -> None:
    raw = path.read_bytes()
    stripped = without_attachments(raw, "retention")
    assert without_attachments(stripped, "retention") == stripped
    try:
        before = parse_mail(raw)
    except Quarantine:
        return
    after = parse_mail(stripped)
    assert after.body == before.body
    own_text = any(leaf.is_body_text for leaf in leaves(read_tree(raw)))
    for attachment in after.attachments:
        # a mail without text of its own keeps its text attachments and forwarded mails: they are its text
        its_text = not own_text and attachment.content_type.startswith(("text/", "message/"))
        assert attachment.filename == "attachment-removed.txt" or its_text, attachment
    assert forwarded_copy(raw, DEFAULT, Language.DE).raw is not None
