"""Severity reasons as the team reads them (issue 10): the customer's words, no raw n-grams, de and en."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.classify.normalise import (
    classification_mapped,
    classification_text,
    normalise,
    normalise_mapped,
)
from mailbot.classify.reasons import closest_example, for_team
from mailbot.classify.severity import SeverityModel, load_severity_examples, train_severity
from mailbot.classify.signals import SHOWN_MATCH, SIGNALS, find_signals
from mailbot.domain import Language
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.tickets.incidents import signal_names


@pytest.fixture(scope="module")
def shipped() -> SeverityModel:
    return train_severity(load_severity_examples(SHIPPED_KNOWLEDGE_BASE))


# --- quotes in the customer's words -------------------------------------------------------------------


def test_a_signal_quotes_the_customers_words_not_the_normalised_ones(shipped):
    guess = shipped.guess("Drivers locked out", "Hello,\nNone of our 40 drivers can log in since 7:30 today.")
    assert 'signal: "None of our 40 drivers can" (all users affected)' in guess.reasons
    assert not any("0 drivers" in reason and "40 drivers" not in reason for reason in guess.reasons)


@pytest.mark.parametrize(
    ("subject", "body", "reason"),
    [
        ("", "Seit dem Update 4.2.1 stürzt die App ab", 'signal: "Seit dem Update" (since the update)'),
        ("", "Die App STÜRZT ab.", 'signal: "STÜRZT ab" (crash)'),
        ("", "Die App schließt sich sofort wieder", 'signal: "schließt sich sofort wieder" (crash)'),
        ("", "Payment failed 3 times!", 'signal: "Payment failed" (payment failing)'),
        (
            "",
            "Kein einziger   Mitarbeiter\nkann sich anmelden",
            'signal: "Kein einziger Mitarbeiter kann" (all users affected)',
        ),
        ("AW: Login  geht nicht [MB-000012]", "Hallo", 'signal: "Login geht nicht" (login impossible)'),
        (
            "",
            "Login https://app.example.com/x fails",
            'signal: "Login https://app.example.com/x fails" (login impossible)',
        ),
    ],
)
def test_quotes_map_back_through_case_digits_umlauts_urls_and_spaces(subject, body, reason):
    assert reason in {hit.reason for hit in find_signals(classification_mapped(subject, body))}


def test_a_long_quote_is_cut_at_a_word():
    body = "Meine Daten sämtlicher Trainingsaufzeichnungen des vergangenen Kalenderjahres verschwunden"
    (hit,) = [hit for hit in find_signals(classification_mapped("", body)) if hit.signal.name == "data loss"]
    quoted = hit.reason.split('"')[1]
    assert len(quoted) <= SHOWN_MATCH and quoted.endswith("…") and quoted.startswith("Daten sämtlicher")
    assert quoted[:-1] in body and body[body.index(quoted[:-1]) + len(quoted) - 1] == " "


def test_a_plain_normalised_text_still_quotes_itself():
    assert [hit.reason for hit in find_signals("none of our 0 drivers can log in")][-1] == (
        'signal: "none of our 0 drivers can" (all users affected)'
    )


def test_quoting_does_not_change_the_guess(shipped):
    mails = [
        ("Störung", "Seit heute Mittag kommt bei allen 250 Nutzern nur noch ein Serverfehler 502"),
        ("", "The export button sometimes fails, but it works on the 2nd try"),
        ("AW: Frage [MB-000012]", "Wie kann ich mein Abo pausieren?"),
    ]
    for subject, body in mails:
        quoted = shipped.guess(subject, body)
        plain = shipped.guess_texts([classification_text(subject, body)])[0]
        assert (quoted.severity, quoted.confidence) == (plain.severity, plain.confidence)
        assert signal_names(quoted.reasons) == signal_names(plain.reasons)


PIECES = [
    *"aZß ÄöÜ\u0301\n\t0123456789.-@:/!ﬁⅫİǅ가",
    "https://x.example/a",
    "www.x",
    "a@b.c",
    "Re:",
    "[MB-1]",
]
TEXT = st.lists(st.sampled_from(PIECES), max_size=30).map("".join) | st.text(max_size=30)


@given(TEXT)
def test_the_mapped_normalisation_is_the_normalisation(text):
    mapped = normalise_mapped(text)
    assert mapped.text == normalise(text)
    assert len(mapped.starts) == len(mapped.ends) == len(mapped.text)
    assert all(0 <= a < b <= len(mapped.original) for a, b in zip(mapped.starts, mapped.ends, strict=True))


def test_a_text_that_folds_only_as_a_whole_quotes_its_folded_form():
    text = "\u1100\u1161 Login 42 fails"  # Hangul jamo compose across two base characters under NFKC
    mapped = normalise_mapped(text)
    assert mapped.text == normalise(text) == "\uac00 login 0 fails"
    assert [hit.reason for hit in find_signals(mapped)] == ['signal: "login 42 fails" (login impossible)']


@given(TEXT, TEXT)
def test_the_mapped_classification_text_is_the_classification_text(subject, body):
    assert classification_mapped(subject, body).text == classification_text(subject, body)


# --- the team's language ------------------------------------------------------------------------------

STORED = [
    'signal: "None of our 40 drivers can" (all users affected)',
    "signal: all users + core function failing",
    "model alone: minor",
    'closest example (major): "Die App stürzt beim Öffnen ab" (similarity 0.46)',
    'words: "absturz", "stürzt"',  # raw n-grams stored by earlier versions
    'characters: "e ab", "bsturz"',
    "something a later version writes",
]


def test_reasons_in_german_for_a_german_team():
    assert for_team(STORED, Language.DE) == [
        "Alle Nutzer betroffen: „None of our 40 drivers can“",
        "Alle Nutzer betroffen und eine Kernfunktion fällt aus: spricht für kritisch",
        "Das Textmodell allein hätte „leicht“ gewählt",
        "Ähnlichstes Beispiel für „schwerwiegend“ (Textmodell): „Die App stürzt beim Öffnen ab“"
        " (Ähnlichkeit 0,46)",
        "something a later version writes",
    ]


def test_reasons_in_english_for_an_english_team():
    assert for_team(STORED, Language.EN) == [
        'All users affected: "None of our 40 drivers can"',
        "All users affected and a core function failing: points to critical",
        "The text model alone would have chosen minor",
        'Closest example of major (text model): "Die App stürzt beim Öffnen ab" (similarity 0.46)',
        "something a later version writes",
    ]


def test_no_fault_reads_as_words():
    assert for_team(["model alone: none"], Language.DE) == [
        "Das Textmodell allein hätte „keine Störung“ gewählt"
    ]
    assert for_team(['closest example (none): "Wie geht das?" (similarity 0.50)'], Language.EN) == [
        'Closest example of no fault (text model): "Wie geht das?" (similarity 0.50)'
    ]


def test_every_signal_has_a_german_name_in_team_mails():
    for signal in SIGNALS:
        reason = f'signal: "x" ({signal.name})'
        (german,) = for_team([reason], Language.DE)
        assert german.lower().startswith(signal.german.lower()) and signal.german != signal.name


def test_a_closest_example_is_bounded():
    reason = closest_example("major", "sehr " * 100 + "lang", 0.5)
    assert len(reason) < 200 and "…" in reason
    (shown,) = for_team([reason], Language.EN)
    assert shown.startswith('Closest example of major (text model): "sehr sehr')


def test_a_quote_starts_with_the_customers_words_not_the_previous_sentences_full_stop():
    from mailbot.classify.normalise import classification_mapped
    from mailbot.classify.signals import find_signals

    hits = find_signals(classification_mapped("", "I lost my headphones. Is there a lost and found?"))
    [question] = [hit for hit in hits if hit.signal.name == "question"]
    assert question.matched == "Is there"
