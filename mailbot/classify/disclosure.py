"""Whether the customer is told the severity guess, or only the team sees it.

The acknowledgement's "Unsere erste Einschätzung: schwerwiegend" is a statement to the customer; a
wrong one ("major" for a lost pair of headphones, guessed at 0.46 from words like "booked") reads as
careless. So the guess is shown only when

1. it names a fault class (a question or wish has none),
2. a named fault signal of `signals.py` adds to that class: what fails ("stürzt ab", "Schrift
   abgeschnitten"), who is affected, whether there is a workaround. Wishes, questions, thanks,
   "resolved" and "urgent" say nothing about a fault and do not count. So the text model's word
   statistics alone never speak to the customer, and
3. its confidence is at least `MIN_CONFIDENCE`.

Measured with `bench/severity/disclosure.py` (one run, 2026-11-29). On `bench/severity/cases.jsonl`
(100 mails worded apart from the examples, 76 faults): every fault guess shown would be 80 guesses,
65 right, 4 of them to mails without a fault; this rule shows 35, all right, none to a non-fault.
On `knowledge_base/_severity` (5-fold cross-validated, 154 faults): 127 shown, all right. 0.6 is the
lowest level of the grid at which no shown guess is wrong on either set (0.5: 133 shown, 1 wrong).
The mails without a fault that got a fault guess had confidences of 0.26 to 0.37. Confidence alone at
0.6 would show 45 of the cases, also all right: the signal requirement gives up 10 of 76 for text the
model has never seen, where its word statistics are least trustworthy. The team sees every guess.
"""

from __future__ import annotations

from mailbot.classify.signals import QUESTION, RESOLVED, THANKS, URGENT, WISH, find_signals
from mailbot.domain import SeverityGuess

MIN_CONFIDENCE = 0.6
NOT_ABOUT_A_FAULT = frozenset(signal.name for signal in (WISH, QUESTION, THANKS, RESOLVED, URGENT))


def backing_signals(guess: SeverityGuess, text: str) -> tuple[str, ...]:
    """Names of the fault signals in a normalised text that add to the guessed class."""
    if guess.severity is None:
        return ()
    label = guess.severity.value
    return tuple(
        hit.signal.name
        for hit in find_signals(text)
        if hit.signal.name not in NOT_ABOUT_A_FAULT and hit.signal.weights.get(label, 0.0) > 0
    )


def show_to_customer(guess: SeverityGuess, text: str, min_confidence: float = MIN_CONFIDENCE) -> bool:
    """True when the customer may read the guess (the rule and its figures: module docstring).

    `text` is what the guess was made on: `classification_text(subject, body)`.
    """
    return (
        guess.severity is not None
        and guess.confidence >= min_confidence
        and bool(backing_signals(guess, text))
    )
