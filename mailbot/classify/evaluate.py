"""`mailbot evaluate`: train on a KB exactly as the worker does, run cases through the worker's text
pipeline, and report how often it answers, how often it is right, and how well it refuses.

Cases are JSON Lines (docs/architecture.md, "Evaluation cases"): subject, text, expected (an article
id of the KB, or null = must escalate), optional language, severity and eml (a raw message, relative
to the cases file, which then goes through parse_mail like a real mail: MIME, HTML-only bodies, quoted
history, signatures). An expected id that the KB does not have is an error naming its line, before
any training: it would otherwise count as a wrong answer every time.

Severity: every case gets the worker's severity guess (trained on `<kb>/_severity/`, see severity.py);
when cases carry a `severity` key ("critical", "major", "minor", "cosmetic", or "none"/null for no
fault), the summary adds `severity_macro_f1`: macro F1 over every class that is expected or guessed,
"none" included. A KB without `_severity/` is measured too, with the signals alone (`severity_model`
says which), because that is exactly what the worker would guess for it.
"""

from __future__ import annotations

import difflib
import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sklearn.metrics import f1_score

from mailbot.classify import DEFAULT_OUT_OF_SCOPE_SHARE
from mailbot.classify.model import Classifier, train
from mailbot.classify.normalise import classification_text
from mailbot.classify.severity import SeverityModel, load_severity_examples, train_severity
from mailbot.classify.signals import LABELS, NONE
from mailbot.classify.store import serialise
from mailbot.domain import Prediction, SeverityGuess
from mailbot.errors import ConfigError, Quarantine
from mailbot.kb import KnowledgeBase, load_knowledge_base
from mailbot.parse import parse_mail
from mailbot.parse.reply import extract_body

BATCH = 512


@dataclass(frozen=True)
class Case:
    id: str
    subject: str
    text: str
    expected: str | None
    language: str | None = None
    severity: str | None = None  # None: not labelled; "none": labelled as no fault
    eml: Path | None = None
    line: int = 0  # in the cases file, for errors


@dataclass(frozen=True)
class Outcome:
    case: Case
    prediction: Prediction
    quarantined: str | None = None  # an eml case the parser refused: it escalates, like in the worker
    severity: SeverityGuess | None = None

    @property
    def guessed_severity(self) -> str:
        """The guessed class as a label: a Severity value, or "none" for no fault (or no guess)."""
        return self.severity.severity.value if self.severity and self.severity.severity else NONE

    @property
    def predicted(self) -> str | None:
        """The article answered with, or None when the mail would escalate."""
        return self.prediction.article_id if self.prediction.confident and not self.quarantined else None


def load_cases(path: Path) -> list[Case]:
    cases: list[Case] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the cases file ({exc.strerror})") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            eml = item.get("eml")
            cases.append(
                Case(
                    id=str(item.get("id", f"line-{number}")),
                    subject=item.get("subject") or "",
                    text=item.get("text") or "",
                    expected=item["expected"],
                    language=item.get("language"),
                    severity=_severity_label(item, path, number),
                    eml=(path.parent / eml) if eml else None,
                    line=number,
                )
            )
        except (json.JSONDecodeError, KeyError, TypeError, AttributeError) as exc:
            raise ConfigError(
                f"{path}:{number}: not a case ({exc}); write one JSON object per line with at least "
                '"text" (or "eml") and "expected" (an article id or null)'
            ) from None
    return cases


def check_expected(cases: Sequence[Case], kb: KnowledgeBase, path: Path) -> None:
    """Raise ConfigError naming every line whose expected article the KB does not have."""
    known = kb.topic_ids()
    problems = []
    for case in cases:
        if case.expected is None or case.expected in known:
            continue
        close = difflib.get_close_matches(case.expected, known, n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        problems.append(
            f"{path}:{case.line}: expected article '{case.expected}' is not in the knowledge base {kb.root}"
            f" — fix: {hint}write an article id of the knowledge base, or null for a case that must escalate"
        )
    if problems:
        raise ConfigError("\n".join(problems))


def _severity_label(item: dict[str, Any], path: Path, number: int) -> str | None:
    """The labelled class; JSON null means "no fault" ("none"), an absent key means not labelled."""
    if "severity" not in item:
        return None
    value = item["severity"] if item["severity"] is not None else NONE
    if value not in LABELS:
        allowed = ", ".join(f'"{label}"' for label in reversed(LABELS))
        raise ConfigError(
            f"{path}:{number}: severity {value!r} is not a class; write one of {allowed} or null"
        )
    return str(value)


def case_text(case: Case) -> tuple[str, str | None]:
    """What the classifier reads of a case, as the worker reads a mail; plus a quarantine reason."""
    if case.eml is not None:
        try:
            mail = parse_mail(case.eml.read_bytes())
        except Quarantine as exc:
            return classification_text(case.subject, case.text), exc.reason
        return classification_text(mail.subject, mail.body), None
    return classification_text(case.subject, extract_body(case.text) if case.text else ""), None


@dataclass(frozen=True)
class Evaluation:
    summary: dict[str, Any]
    outcomes: list[Outcome]
    classifier: Classifier


def evaluate(
    kb_dir: Path,
    cases_path: Path,
    *,
    target_precision: float = 0.97,
    out_of_scope_share: float = DEFAULT_OUT_OF_SCOPE_SHARE,
    threshold: float | None = None,
    progress: Callable[[Iterable[Any], int, str], Iterable[Any]] | None = None,
    say: Callable[[str], None] | None = None,
) -> Evaluation:
    kb = load_knowledge_base(kb_dir)
    cases = load_cases(cases_path)
    check_expected(cases, kb, cases_path)
    started = time.perf_counter()
    classifier = train(kb, target_precision, out_of_scope_share, progress=say)
    train_seconds = time.perf_counter() - started
    if threshold is not None:
        classifier = replace(classifier, threshold=threshold)
    wrap = progress or (lambda items, _total, _label: items)
    parse_started = time.perf_counter()
    texts_and_reasons = [case_text(case) for case in wrap(cases, len(cases), "reading cases")]
    parse_seconds = time.perf_counter() - parse_started
    predictions: list[Prediction] = []
    predict_started = time.perf_counter()
    batches = range(0, len(cases), BATCH)
    for start in wrap(batches, len(batches), "classifying"):
        predictions.extend(
            classifier.predict_texts([text for text, _ in texts_and_reasons[start : start + BATCH]])
        )
    predict_seconds = time.perf_counter() - predict_started
    severity_started = time.perf_counter()
    severity_model = train_severity(load_severity_examples(kb_dir))
    severity_train_seconds = time.perf_counter() - severity_started
    guesses = severity_model.guess_texts([text for text, _ in texts_and_reasons])
    outcomes = [
        Outcome(case, prediction, reason, guess)
        for case, prediction, (_, reason), guess in zip(
            cases, predictions, texts_and_reasons, guesses, strict=True
        )
    ]
    summary = summarise(outcomes)
    if "severity_macro_f1" in summary:
        summary["severity_model"] = describe(severity_model)
        summary["severity_train_seconds"] = round(severity_train_seconds, 3)
    summary |= {
        "threshold": round(classifier.threshold, 6),
        "target_precision": target_precision,
        "out_of_scope_share": out_of_scope_share,
        "train_seconds": round(train_seconds, 3),
        "predict_ms_per_case": round(1000 * predict_seconds / max(1, len(cases)), 4),
        "read_ms_per_case": round(1000 * parse_seconds / max(1, len(cases)), 4),
        "model": classifier.version,
        "model_bytes": len(serialise(classifier.pipeline)) if classifier.pipeline is not None else 0,
        "model_validation": classifier.validation,
    }
    return Evaluation(summary, outcomes, classifier)


def summarise(outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The figures of the issue's contract, from outcomes alone (pure arithmetic, tested on its own)."""
    in_scope = [o for o in outcomes if o.case.expected is not None]
    out_of_scope = [o for o in outcomes if o.case.expected is None]
    answered = [o for o in outcomes if o.predicted is not None]
    right = [o for o in answered if o.predicted == o.case.expected]
    argmax_right = [o for o in in_scope if o.prediction.article_id == o.case.expected]
    summary: dict[str, Any] = {
        "cases": len(outcomes),
        "in_scope": len(in_scope),
        "out_of_scope": len(out_of_scope),
        "argmax_accuracy": _ratio(len(argmax_right), len(in_scope)),
        "in_scope_accuracy": _ratio(len(right), len(in_scope)),
        "coverage": _ratio(sum(1 for o in in_scope if o.predicted is not None), len(in_scope)),
        "oos_recall": _ratio(sum(1 for o in out_of_scope if o.predicted is None), len(out_of_scope)),
        "answered": len(answered),
        "answered_precision": _ratio(len(right), len(answered)),
        "quarantined": sum(1 for o in outcomes if o.quarantined),
    }
    labelled = [o for o in outcomes if o.case.severity is not None]
    if labelled:
        summary["severity_cases"] = len(labelled)
        guessed = all(o.severity is not None for o in labelled)  # hand-made outcomes may lack guesses
        expected = [str(o.case.severity) for o in labelled]
        predicted = [o.guessed_severity for o in labelled]
        summary["severity_macro_f1"] = severity_macro_f1(expected, predicted) if guessed else None
        summary["severity_f1"] = per_class_f1(expected, predicted) if guessed else None
    return summary


def severity_macro_f1(expected: Sequence[str], predicted: Sequence[str]) -> float:
    """Macro F1 over the classes that occur in either list ("none" counts as a class)."""
    labels = sorted(set(expected) | set(predicted))
    return round(float(f1_score(expected, predicted, labels=labels, average="macro", zero_division=0)), 4)


def per_class_f1(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, float]:
    """F1 per class, most urgent first: where the macro figure comes from."""
    labels = [label for label in reversed(LABELS) if label in set(expected) | set(predicted)]
    scores = f1_score(expected, predicted, labels=labels, average=None, zero_division=0)
    return {label: round(float(score), 4) for label, score in zip(labels, scores, strict=True)}


def describe(model: SeverityModel) -> str:
    """What the severity figures were measured with, for the summary."""
    if model.pipeline is None:
        found = f"{model.examples} examples of one class" if model.examples else "no examples"
        return f"{model.version}: signals only ({found} in _severity/; the text model needs two classes)"
    return f"{model.version}: {model.examples} examples"


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def prediction_rows(outcomes: Sequence[Outcome]) -> Iterable[dict[str, Any]]:
    for outcome in outcomes:
        yield {
            "id": outcome.case.id,
            "expected": outcome.case.expected,
            "predicted": outcome.predicted,
            "top_article": outcome.prediction.article_id,
            "confidence": round(outcome.prediction.confidence, 6),
            "out_of_scope_class": outcome.prediction.out_of_scope,
            "severity": None if outcome.guessed_severity == NONE else outcome.guessed_severity,
            "severity_confidence": outcome.severity.confidence if outcome.severity else None,
            "severity_reasons": list(outcome.severity.reasons) if outcome.severity else [],
        }


def format_summary(summary: dict[str, Any]) -> str:
    keys = [
        "cases",
        "in_scope",
        "out_of_scope",
        "argmax_accuracy",
        "in_scope_accuracy",
        "coverage",
        "oos_recall",
        "answered",
        "answered_precision",
        "quarantined",
        "severity_cases",
        "severity_macro_f1",
        "severity_f1",
        "severity_model",
        "threshold",
        "target_precision",
        "out_of_scope_share",
        "train_seconds",
        "predict_ms_per_case",
        "read_ms_per_case",
        "model",
    ]
    return "\n".join(f"{key:<20} {summary[key]}" for key in keys if key in summary)
