"""The decision's reason as the team reads it: in the team's language where mailbot knows the words.

`Decision.reason` is English, for the log, `mailbot status` and the stored decision. A team notice is
written in `[team] language`; a German team should not read "not confident: best article ...". The
decision carries what its reason says as a code (`Decision.why`) and values, and this says it in
German; a reason without a code (rare ones, follow-ups) stays as written.
"""

from __future__ import annotations

from mailbot.domain import Decision, Language

_GERMAN = {
    "no_article": "kein Artikel der Wissensdatenbank zum Vergleich",
    "out_of_scope": (
        "ähnelt den Beispielen für Anfragen ohne passenden Artikel mehr als jedem Artikel (am nächsten: "
        "{article})"
    ),
    "not_confident": "nicht sicher genug: bester Artikel {article} mit {confidence} < Schwelle {threshold}",
    "escalating_article": "laut Artikel {article} gehört dieses Thema zum 2nd Level",
    "other_question": (
        "mehrere Fragen: eine davon gehört zu einem anderen Artikel als die Antwort, sie bliebe offen"
    ),
}


_NUMBERS = ("confidence", "threshold")


def team_reason(decision: Decision, language: Language) -> str:
    """The reason in `language` (German from the code and its values; otherwise as written)."""
    text = _GERMAN.get(decision.why) if language is Language.DE else None
    if text is None:
        return decision.reason
    values = {
        key: _german_number(value) if key in _NUMBERS else value for key, value in decision.why_values.items()
    }
    try:
        return text.format(**values)
    except KeyError:  # a code whose values are missing: the English reason says it all
        return decision.reason


def _german_number(value: str) -> str:
    """'0.4123' → '0,41'; anything that is not a number stays as it is."""
    try:
        return f"{float(value):.2f}".replace(".", ",")
    except ValueError:
        return value
