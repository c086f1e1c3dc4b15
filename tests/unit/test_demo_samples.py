"""The sample mails of `mailbot demo` are well-formed, so the demo shows the pipeline, not parse errors."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbot.paths import DEMO_SAMPLES

SAMPLES = sorted(DEMO_SAMPLES.glob("*.eml"))
REQUIRED_HEADERS = ("Message-ID", "Date", "From", "To", "Subject")


def parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def sample(prefix: str) -> EmailMessage:
    [path] = [path for path in SAMPLES if path.name.startswith(prefix)]
    return parse(path)


def test_there_are_eight_to_ten_numbered_samples():
    assert 8 <= len(SAMPLES) <= 10
    assert [path.name[:3] for path in SAMPLES] == [f"{n:02d}-" for n in range(1, len(SAMPLES) + 1)]


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_sample_parses_without_defects(path: Path):
    message = parse(path)

    for part in message.walk():
        assert not part.defects, (part.get_content_type(), part.defects)
        for name, value in part.items():
            assert not getattr(value, "defects", ()), (name, value.defects)
        if not part.is_multipart():
            assert part.get_content().strip()  # decodes with its declared charset and encoding


@pytest.mark.parametrize("path", SAMPLES, ids=lambda path: path.name)
def test_sample_has_the_required_headers(path: Path):
    message = parse(path)

    for name in REQUIRED_HEADERS:
        assert len(message.get_all(name, [])) == 1, name
    assert [address.addr_spec for address in message["To"].addresses] == ["support@example.com"]
    [sender] = message["From"].addresses
    assert sender.domain in ("example.org", "example.net")
    assert message["Message-ID"].startswith("<") and message["Message-ID"].endswith(">")
    assert message["Date"].datetime.tzinfo is not None


def test_html_only_sample_has_a_single_quoted_printable_html_part():
    message = sample("05-")

    assert not message.is_multipart()
    assert message.get_content_type() == "text/html"
    assert message["Content-Transfer-Encoding"] == "quoted-printable"
    assert "Benachrichtigungen" in message.get_content() and "für" in message.get_content()


def test_encoded_subject_sample_decodes_and_quotes_an_earlier_mail():
    message = sample("06-")

    assert "=?utf-8?q?" in message.as_string().split("\n\n", 1)[0]
    assert message["Subject"] == "Wie ändere ich die E-Mail-Adresse für mein Konto?"
    body = message.get_content()
    assert "\n-- \n" in body
    assert "\n> " in body


def test_out_of_office_sample_is_marked_auto_replied():
    message = sample("07-")

    assert message["Auto-Submitted"] == "auto-replied"
    assert "nicht im Büro" in message.get_content()


def test_newsletter_sample_carries_list_headers():
    message = sample("08-")

    assert message["List-Id"] and message["List-Unsubscribe"]
    assert message["Precedence"] == "bulk"
