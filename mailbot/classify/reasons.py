"""Why the severity guess came out as it did: the stored form, and the form the team reads.

Stored on the ticket (`severity_reasons`), and so in Jira's internal comment and the webhook: one
English line per reason, stable so that machines can read it (incident grouping compares the signal
names), with the customer's words quoted as written:

    signal: "None of our 40 drivers can" (all users affected)
    signal: all users + core function failing
    model alone: minor
    closest example (major): "The app crashes when I open it" (similarity 0.46)

`for_team` turns them into sentences in the team's language. The raw n-grams that tickets from
before this version carry ('words: "absturz"', 'characters: "e ab"') are left out there: they
explained nothing to a person.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mailbot.classify.signals import ALL_USERS_DOWN, ALL_USERS_DOWN_GERMAN, NONE, SIGNALS, shorten
from mailbot.domain import Language

SHOWN_EXAMPLE = 120  # characters of a closest example quoted in a reason

_SIGNAL = re.compile(r'^signal: "(?P<quote>.*)" \((?P<name>[^()]+)\)$')
_ALL_USERS_DOWN = f"signal: {ALL_USERS_DOWN}"
_MODEL_ALONE = re.compile(r"^model alone: (?P<label>\w+)$")
_CLOSEST = re.compile(
    r'^closest example \((?P<label>\w+)\): "(?P<quote>.*)" \(similarity (?P<score>[0-9.]+)\)$'
)
_RAW_FEATURES = re.compile(r"^(?:words|characters): ")

_GERMAN_SIGNALS = {signal.name: signal.german for signal in SIGNALS}
_GERMAN_CLASSES = {  # as in templates/_severity.de.j2
    "critical": "kritisch",
    "major": "schwerwiegend",
    "minor": "leicht",
    "cosmetic": "Darstellungsfehler",
    NONE: "keine Störung",
}
_ENGLISH_CLASSES = {NONE: "no fault"}


def model_alone(label: str) -> str:
    return f"model alone: {label}"


def closest_example(label: str, example: str, similarity: float) -> str:
    return f'closest example ({label}): "{shorten(example, SHOWN_EXAMPLE)}" (similarity {similarity:.2f})'


def for_team(reasons: Iterable[str], language: Language) -> list[str]:
    """The stored reasons as the team reads them, in `language`; unknown lines stay as they are."""
    shown = []
    for reason in reasons:
        if _RAW_FEATURES.match(reason):
            continue
        shown.append(_sentence(reason, Language(language)))
    return shown


def _sentence(reason: str, language: Language) -> str:
    german = language is Language.DE
    if reason == _ALL_USERS_DOWN:
        if german:
            return f"{_capital(ALL_USERS_DOWN_GERMAN)}: spricht für kritisch"
        return "All users affected and a core function failing: points to critical"
    if match := _SIGNAL.match(reason):
        name, quote = match["name"], match["quote"]
        if german:
            return f"{_capital(_GERMAN_SIGNALS.get(name, name))}: „{quote}“"
        return f'{_capital(name)}: "{quote}"'
    if match := _MODEL_ALONE.match(reason):
        label = match["label"]
        if german:
            return f"Das Textmodell allein hätte „{_GERMAN_CLASSES.get(label, label)}“ gewählt"
        return f"The text model alone would have chosen {_ENGLISH_CLASSES.get(label, label)}"
    if match := _CLOSEST.match(reason):
        label, quote, score = match["label"], match["quote"], match["score"]
        if german:
            return (
                f"Ähnlichstes Beispiel für „{_GERMAN_CLASSES.get(label, label)}“ (Textmodell): "
                f"„{quote}“ (Ähnlichkeit {score.replace('.', ',')})"
            )
        label = _ENGLISH_CLASSES.get(label, label)
        return f'Closest example of {label} (text model): "{quote}" (similarity {score})'
    return reason


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
