"""Quoted history and signature stripping: ParsedMail.body and mailbot.parse.reply."""

from pathlib import Path

import pytest

from mailbot.parse import parse_mail
from mailbot.parse.reply import extract_body, split_reply, strip_quotes

FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "email_reply_fixtures"
TALON = FIXTURES / "talon" / "standard_replies"

REPLY = "Die Rechnung 4711 ist doppelt gebucht worden.\nBitte korrigieren Sie das."


def body_of(text: str) -> str:
    raw = b"From: Kunde <kunde@example.com>\r\nSubject: Re: Rechnung\r\n"
    raw += b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + text.replace("\n", "\r\n").encode()
    return parse_mail(raw).body


@pytest.mark.parametrize(
    "history",
    [
        # German Gmail / Thunderbird
        "Am Mo., 4. März 2024 um 10:15 Uhr schrieb Support <support@example.com>:\n> Guten Tag,\n> wie ...",
        # the same, wrapped by the client
        "Am Mo., 4. März 2024 um 10:15 Uhr schrieb Support <\nsupport@example.com>:\n\n> Guten Tag,",
        "Am 04.03.2024 10:15, schrieb Support:\n> Guten Tag,",
        # English Gmail / Apple Mail
        "On Mon, Mar 4, 2024 at 10:15 AM Support <support@example.com> wrote:\n> Hello,\n> how ...",
        "> On 4 Mar 2024, at 10:15, Support <support@example.com> wrote:\n>\n> Hello,",
        # Outlook, German
        "-----Ursprüngliche Nachricht-----\nVon: Support <support@example.com>\n"
        "Gesendet: Montag, 4. März 2024 10:15\nAn: Kunde <kunde@example.com>\nBetreff: Rechnung\n\n"
        "Guten Tag,\nwie besprochen ...",
        "________________________________\nVon: Support <support@example.com>\nGesendet: Montag, 4. März"
        " 2024 10:15\nAn: kunde@example.com\nBetreff: Rechnung\n\nGuten Tag,",
        # Outlook, English
        "-----Original Message-----\nFrom: Support [mailto:support@example.com]\nSent: Monday, March 04,"
        " 2024 10:15 AM\nTo: kunde@example.com\nSubject: Invoice\n\nHello,",
        "From: Support <support@example.com>\nSent: Monday, March 4, 2024 10:15\nTo: kunde@example.com\n"
        "Subject: Invoice\n\nHello,",
        # only quoted lines
        "> Guten Tag,\n> wie besprochen ...\n>> noch älter",
    ],
)
def test_quoted_history_is_removed(history):
    assert body_of(f"{REPLY}\n\n{history}\n") == REPLY


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nErika Mustermann\nACME GmbH, Musterstraße 1, 12345 Musterstadt",
        "Sent from my iPhone",
        "Von meinem iPhone gesendet",
        "Gesendet von meinem Samsung Galaxy Smartphone.",
        "Mit freundlichen Grüßen\n\nErika Mustermann\nACME GmbH\nTel. +49 30 1234567",
        "Mit freundlichen Grüßen / Best regards,\nErika Mustermann",
        "Viele Grüße\nErika",
        "Freundliche Grüße, Erika Mustermann",
        "LG Erika",
        "Best regards,\nJohn Smith\nHead of IT, Example Ltd.",
        "Kind regards, John",
        "Thanks,\nJohn",
        "Cheers\nJohn",
    ],
)
def test_signature_is_removed(signature):
    assert body_of(f"{REPLY}\n\n{signature}\n") == REPLY


def test_signature_and_history_together():
    text = (
        f"{REPLY}\n\nViele Grüße\nErika\n\nAm 04.03.2024 um 10:15 schrieb Support <s@example.com>:\n> Hallo"
    )
    assert body_of(text) == REPLY


@pytest.mark.parametrize(
    "text",
    [
        # a closer-looking sentence followed by real text is not a signature
        "Thanks, but the export still fails with error 500 after the update.\n"
        "The log says the disk is full although there are 20 GB free, what can I do?",
        "Grüße gehen raus an das ganze Team, die neue Version läuft sehr gut.\n"
        "Nur der Export nach Excel stürzt ab, sobald mehr als 1000 Zeilen exportiert werden.",
        # hyphen lists are content, not a "-Name" signature
        "folgende Fehler treten auf:\n- Export bricht ab\n- Login dauert 30 Sekunden",
        # "--" inside a line is no delimiter
        "der Wert -- laut Anzeige -- ist falsch.",
        # "Sent from my desk" with more words is a sentence
        "the report attached.\n\nSent from my desk, which is much easier than my phone.",
        # a lone "Thanks" at the end is the customer's words, not a signature
        "the export works again.\n\nThanks",
        # a name after a colon is an address the customer gives, not a signature
        "Bitte schicken Sie die Rechnung an:\n\nErika Mustermann\nMusterstraße 1\n12345 Musterstadt",
        # one-word answers are no names
        "Did the update help?\n\nYes",
    ],
)
def test_customer_text_is_kept(text):
    assert body_of(f"Hallo,\n\n{text}") == text


def test_bottom_posting_keeps_the_answer_below_the_quote():
    text = "On 04/02/2012 06:26 PM, Support wrote:\n> Did the update help?\nYes, it works now."
    assert body_of(text) == "Yes, it works now."


def test_interleaved_answers_are_kept():
    text = "Hallo,\n> Welche Version nutzen Sie?\nVersion 2.3\n> Seit wann?\nSeit gestern."
    assert body_of(text) == "Version 2.3\nSeit gestern."  # the greeting goes too


def test_greeting_above_a_bottom_posted_quote():
    text = "Hi,\nOn Tue, 2011-03-01 at 18:02 +0530, Support wrote:\n> Question?\n\nMy answer is below."
    assert body_of(text) == "My answer is below."


def test_reply_header_in_another_language():
    text = 'Hello\n02.04.2012 14:20 пользователь "bob@example.org" <\nbob@example.org> написал:\n\n> Hi'
    assert body_of(text) == "Hello"


@pytest.mark.parametrize(
    "text",
    [
        "> nur zitiert\n> nichts Neues",
        "-- \nErika Mustermann",
        "Am 04.03.2024 um 10:15 schrieb Support <s@example.com>:\n\nGuten Tag",
        "-----Ursprüngliche Nachricht-----\nVon: a@example.com\nGesendet: heute\n\nText",
    ],
)
def test_body_is_never_empty_when_the_text_has_content(text):
    assert extract_body(text).strip()
    assert body_of(text).strip()


def test_empty_text_gives_empty_body():
    assert extract_body("") == ""
    assert extract_body(" \n\n ") == ""


def test_split_reply_keeps_the_signature_in_text_and_drops_it_from_body():
    reply = split_reply("Hello\n\nSent from my iPhone\n\nOn Apr 3, 2012, at 4:19 PM, bob wrote:\n\n> Hi")
    assert reply.text == "Hello\n\nSent from my iPhone"
    assert reply.body == "Hello"


def test_huge_input_is_cut_not_slow():
    text = "Hallo,\n" + "\n" * 200_000 + "> quote\n\n" * 50_000 + "Thanks\n\n" * 50_000
    assert extract_body(text).startswith("Hallo,")


# --- talon: for X.eml the reply is X_reply_text.txt when present, else exactly "Hello" -------------
def _talon_cases() -> list[Path]:
    return sorted(TALON.glob("*.eml")) if TALON.is_dir() else []


def _normalise(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.skipif(not TALON.is_dir(), reason=f"talon fixtures not found at {TALON}")
@pytest.mark.parametrize("path", _talon_cases(), ids=lambda p: p.name)
def test_talon_standard_replies(path):
    """talon strips quotations only, so the comparison is with strip_quotes; body also drops the
    signature ("Sent from my iPhone", Sparrow's "-- " block)."""
    expected_file = path.with_name(f"{path.stem}_reply_text.txt")
    expected = expected_file.read_text() if expected_file.exists() else "Hello"
    mail = parse_mail(path.read_bytes())
    assert _normalise(strip_quotes(mail.text)) == _normalise(expected)
    assert mail.body == "Hello"
