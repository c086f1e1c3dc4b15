"""Which severity guesses may a customer read? The figures behind `mailbot/classify/disclosure.py`.

For every minimum confidence in a small grid: how many guesses the rule shows, how many of them are
the labelled class, and how many mails without a fault it would tell a class. Two sets: the hand-labelled
`bench/severity/cases.jsonl` (model trained on `knowledge_base/_severity/`) and the examples of
`knowledge_base/_severity/` themselves, 5-fold cross-validated (stratified, fixed seed).

Run: `.venv/bin/python bench/severity/disclosure.py`
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

from mailbot.classify.disclosure import MIN_CONFIDENCE, backing_signals, show_to_customer
from mailbot.classify.normalise import classification_text, normalise
from mailbot.classify.severity import SeverityExample, load_severity_examples, train_severity
from mailbot.domain import SeverityGuess

ROOT = Path(__file__).resolve().parents[2]
KB = ROOT / "knowledge_base"
CASES = ROOT / "bench" / "severity" / "cases.jsonl"
LEVELS = (0.0, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
NONE = "none"


def cases() -> list[tuple[str, str]]:
    """(normalised text, expected class or "none") of the hand-labelled cases."""
    rows = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            text = classification_text(item.get("subject", ""), item["text"])
            rows.append((text, item.get("severity") or NONE))
    return rows


def cross_validated(examples: Sequence[SeverityExample]) -> list[tuple[str, str, SeverityGuess]]:
    texts = [normalise(example.text) for example in examples]
    labels = [example.label for example in examples]
    rows = []
    for train_index, test_index in StratifiedKFold(5, shuffle=True, random_state=0).split(texts, labels):
        model = train_severity([examples[i] for i in train_index])
        guesses = model.guess_texts([texts[i] for i in test_index])
        rows += [(texts[i], labels[i], guess) for i, guess in zip(test_index, guesses, strict=True)]
    return rows


def row(rule: str, shown: Sequence[tuple[str, str, SeverityGuess]], faults: int) -> None:
    right = sum(1 for _, e, g in shown if g.severity and g.severity.value == e)
    wrong_none = sum(1 for _, e, _ in shown if e == NONE)
    print(
        f"| {rule} | {len(shown)} | {right} | {right / max(len(shown), 1):.3f} | "
        f"{len(shown) - wrong_none}/{faults} | {wrong_none} |"
    )


def table(name: str, rows: Sequence[tuple[str, str, SeverityGuess]]) -> None:
    faults = sum(1 for _, expected, _ in rows if expected != NONE)
    print(f"\n{name}: {len(rows)} texts, {faults} faults")
    print("| rule | shown | right | precision | faults shown | non-faults shown |")
    print("| --- | --- | --- | --- | --- | --- |")
    guessed = [(t, e, g) for t, e, g in rows if g.severity is not None]
    row("any fault guess", guessed, faults)
    for level in LEVELS:
        mark = " (shipped)" if level == MIN_CONFIDENCE else ""
        row(
            f"signal + confidence >= {level}{mark}",
            [r for r in rows if show_to_customer(r[2], r[0], level)],
            faults,
        )
    for level in LEVELS:
        row(f"confidence >= {level} alone", [r for r in guessed if r[2].confidence >= level], faults)
    unbacked = [(e, g) for t, e, g in guessed if not backing_signals(g, t)]
    unbacked_right = sum(1 for e, g in unbacked if g.severity and g.severity.value == e)
    print(f"fault guesses without a backing signal: {len(unbacked)}, of them right: {unbacked_right}")
    confidences = sorted(round(g.confidence, 2) for _, e, g in guessed if e == NONE)
    print(f"confidences of fault guesses for mails without a fault: {confidences}")


def main() -> None:
    examples = load_severity_examples(KB)
    model = train_severity(examples)
    labelled = cases()
    guesses = model.guess_texts([text for text, _ in labelled])
    table("bench/severity/cases.jsonl", [(t, e, g) for (t, e), g in zip(labelled, guesses, strict=True)])
    table("knowledge_base/_severity (5-fold CV)", cross_validated(examples))


if __name__ == "__main__":
    main()
