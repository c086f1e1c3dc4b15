"""A review's stored decision reason in the team's language (mailbot.reviews.team_reason): every sentence
decide_review writes has its German, the reviewer's words keep theirs, an unknown text stays as it is."""

from __future__ import annotations

import pytest

from mailbot.domain import Language, Prediction, Severity, SeverityGuess
from mailbot.reviews.decide import ReviewFacts, decide_review
from mailbot.reviews.detect import DetectorHit, Finding
from mailbot.reviews.team_reason import review_reason_for_team
from mailbot.reviews.ticket import ASSUMED_REASON
from mailbot.stores.model import Store

MAJOR = SeverityGuess(Severity.MAJOR, 0.8, ('signal: "stürzt ab" (crash)',))
ARTICLE = Prediction("password-reset", 0.91, 0.6)
UNSURE = Prediction("password-reset", 0.41, 0.6)
ESCALATING = Prediction("app-crash", 0.95, 0.6)


def facts(rating: int, *findings: Finding, **extra: object) -> ReviewFacts:
    hits = tuple(DetectorHit(finding, f'{finding}: "die Worte"') for finding in findings)
    values: dict[str, object] = {"language": Language.DE, "escalating_articles": frozenset({"app-crash"})}
    values |= extra
    return ReviewFacts(Store.APPLE, rating, "", "", hits=hits, **values)  # type: ignore[arg-type]


EVERY_REASON = [
    facts(5, Finding.PRAISE, language=None),
    facts(1, Finding.ABUSE),
    facts(1, Finding.LEGAL),
    facts(2, Finding.REFUND),
    facts(2, edited=True, already_answered=True),
    facts(1, Finding.BUG),
    facts(1, Finding.PAYMENT),
    facts(2, severity=MAJOR),
    facts(2, severity=SeverityGuess(Severity.MINOR, 0.6)),
    facts(3, Finding.QUESTION, prediction=ARTICLE),  # an answer: the team sees it as a draft
    facts(3, Finding.QUESTION, prediction=UNSURE),
    facts(3, Finding.QUESTION, prediction=ESCALATING),
    facts(3, Finding.QUESTION),
    facts(2),
    facts(5, Finding.PRAISE),
]


@pytest.mark.parametrize("case", EVERY_REASON)
def test_every_reason_the_decision_writes_reads_in_german(case: ReviewFacts):
    english = decide_review(case).reason
    german = review_reason_for_team(english, Language.DE)
    if english.startswith(("asks what", "5 stars without", "3 stars with")):
        return  # answers and thanks reach the team as drafts, never with their reason
    assert german != english, f"no German for: {english}"
    assert '"' not in german  # the reviewer's words in German quotes („die Worte“), signals named in German
    assert review_reason_for_team(english, Language.EN) == english


@pytest.mark.parametrize(
    ("english", "german"),
    [
        ('reports a bug (bug: "Stürzt ständig ab")', "meldet einen Fehler („Stürzt ständig ab“)"),
        (
            'reports a bug (bug: signal: "geht nicht mehr" (something fails))',
            "meldet einen Fehler (Etwas funktioniert nicht: „geht nicht mehr“)",
        ),
        (
            'the severity guess names a fault: major (0.80; signal: "stürzt ab" (crash))',
            "die Einstufung erkennt einen Fehler: major (0,80; Absturz: „stürzt ab“)",
        ),
        (
            "the severity guess names a fault: minor (0.60)",
            "die Einstufung erkennt einen Fehler: minor (0,60)",
        ),
        (
            "asks something the knowledge base does not answer with confidence (best: password-reset "
            'at 0.41, threshold 0.60; question: "Wie geht das?")',
            "fragt etwas, das die Wissensdatenbank nicht sicher beantwortet (am ehesten password-reset "
            "mit 0,41, Schwelle 0,60; „Wie geht das?“)",
        ),
        (
            ASSUMED_REASON,
            "Ein Fehler nach den Worten der Bewertung; das Modell nannte keine Einstufung: minor angenommen",
        ),
        ("something mailbot did not write", "something mailbot did not write"),
    ],
)
def test_german_sentences(english: str, german: str):
    assert review_reason_for_team(english, Language.DE) == german
