"""The decision's reason in the team's language."""

from __future__ import annotations

import pytest

from mailbot.decide import decide
from mailbot.domain import Language, Prediction
from mailbot.tickets.team_reason import team_reason


def prediction(article: str | None, confidence: float, *, out_of_scope: bool = False) -> Prediction:
    return Prediction(
        article, confidence, 0.62, ((article or "x", confidence),), "v1", out_of_scope=out_of_scope
    )


@pytest.mark.parametrize(
    ("made", "german"),
    [
        (
            lambda: decide((), prediction("export-csv", 0.4123), None),
            "nicht sicher genug: bester Artikel export-csv mit 0,41 < Schwelle 0,62",
        ),
        (
            lambda: decide((), prediction("app-crash", 0.98), None, {"app-crash"}),
            "laut Artikel app-crash gehört dieses Thema zum 2nd Level",
        ),
        (lambda: decide((), prediction("refund", 0.5, out_of_scope=True), None), "(am nächsten: refund)"),
        (lambda: decide((), None, None), "kein Artikel der Wissensdatenbank zum Vergleich"),
    ],
)
def test_a_german_team_reads_the_reason_in_german(made, german):
    decision = made()
    assert german in team_reason(decision, Language.DE)
    assert team_reason(decision, Language.EN) == decision.reason  # English stays as decided


def test_a_reason_without_a_code_stays_as_written():
    decision = decide((), prediction("refund", 0.99), None)  # an answer: no team mail, no code needed
    assert team_reason(decision, Language.DE) == decision.reason
