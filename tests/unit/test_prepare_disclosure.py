"""Whether the customer may read the severity guess is worked out where the guess is made (the parsing
process), with the signals just found for it, and the decision uses that answer (issue 13: the
worker searched every escalation's text for the signals a second time). Pure: no servers."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mailbot.classify.disclosure import show_to_customer
from mailbot.classify.model import Classifier, train
from mailbot.classify.normalise import classification_text, identity
from mailbot.classify.severity import SeverityModel, load_severity_examples, train_severity
from mailbot.classify.signals import find_signals
from mailbot.domain import Severity, SeverityGuess
from mailbot.kb import load_knowledge_base
from mailbot.parse import parse_mail
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.pipeline.prepare import Prepared, Stored, prepare_batch, shown_to_customer

REPORTS = [
    ("Absturz", "Seit dem Update stürzt die App bei allen Nutzern beim Start ab, niemand kann buchen."),
    ("Problem", "Der Button ist verrutscht und die Farbe stimmt nicht."),
    ("Issue", "Since the latest update all our data is gone, for everyone in the team!"),
    ("Frage", "Wie ändere ich meine E-Mail-Adresse?"),
    ("Dringend", "Die Zahlung schlägt fehl, ich bekomme immer einen Fehler 500. Bitte schnell helfen!!!"),
    ("Issue", "Push notifications stopped working on my phone after the update."),
    ("Problem", "Irgendwas stimmt mit der App nicht."),  # a guess no signal backs: the team only
    ("Problem", "Beim Export fehlt die letzte Spalte."),
]


@pytest.fixture(scope="module")
def app() -> SimpleNamespace:
    classifier: Classifier = train(load_knowledge_base(SHIPPED_KNOWLEDGE_BASE))
    severity: SeverityModel = train_severity(load_severity_examples(SHIPPED_KNOWLEDGE_BASE))
    settings = SimpleNamespace(support=SimpleNamespace(default_language="de"))
    return SimpleNamespace(
        classifier=classifier,
        severity=severity,
        kb=load_knowledge_base(SHIPPED_KNOWLEDGE_BASE),
        settings=settings,
    )


def raw(subject: str, body: str) -> bytes:
    return (
        f"From: Kunde <kunde@example.org>\r\nTo: support@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{abs(hash(body))}@example.org>\r\nMIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def test_the_batch_says_for_its_guesses_what_the_decision_would_have_worked_out(app: SimpleNamespace) -> None:
    stored = [Stored(number, raw(*report), 0) for number, report in enumerate(REPORTS)]
    prepared = prepare_batch(app, stored)  # type: ignore[arg-type]
    guessed = [item for item in prepared.values() if item.severity is not None]
    assert {item.severity_shown for item in guessed} == {True, False}  # both answers occur
    for item in guessed:
        assert item.mail is not None and item.severity is not None
        expected = show_to_customer(item.severity, classification_text(item.mail.subject, item.mail.body))
        assert item.severity_shown is expected
        assert shown_to_customer(item, item.severity, item.mail) is expected
    for item in prepared.values():
        if item.severity is None:
            assert item.severity_shown is None


def test_a_guess_made_later_is_judged_then_not_by_the_batch_s_answer() -> None:
    mail = parse_mail(raw("Frage", "Wie ändere ich meine E-Mail-Adresse?"), default_language="de")
    batch_guess = SeverityGuess(Severity.MAJOR, 0.99)
    prepared = Prepared(mail, severity=batch_guess, severity_shown=True)
    assert shown_to_customer(prepared, batch_guess, mail) is True  # the batch's answer, as given
    later = SeverityGuess(Severity.MAJOR, 0.99)  # equal, but not the batch's guess
    assert shown_to_customer(prepared, later, mail) is False  # no signal backs it in this text
    assert shown_to_customer(None, later, mail) is False


@pytest.mark.parametrize("report", REPORTS)
def test_signals_found_in_plain_text_are_those_found_through_an_identity_map(report: tuple[str, str]) -> None:
    text = classification_text(*report)
    assert find_signals(text) == find_signals(identity(text))
