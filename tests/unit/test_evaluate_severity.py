"""Severity in `mailbot evaluate`: reading the labels of cases and the macro-F1 arithmetic."""

from __future__ import annotations

import json

import pytest

from mailbot.classify.evaluate import Case, Outcome, load_cases, per_class_f1, severity_macro_f1, summarise
from mailbot.domain import Prediction, Severity, SeverityGuess
from mailbot.errors import ConfigError


def test_null_severity_means_no_fault_and_a_missing_key_means_unlabelled(tmp_path):
    cases = tmp_path / "cases.jsonl"
    rows = [
        {"text": "a", "expected": None, "severity": "major"},
        {"text": "b", "expected": None, "severity": None},
        {"text": "c", "expected": None, "severity": "none"},
        {"text": "d", "expected": None},
    ]
    cases.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    assert [case.severity for case in load_cases(cases)] == ["major", "none", "none", None]


def test_an_unknown_severity_names_file_line_and_the_classes(tmp_path):
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "a", "expected": null}\n{"text": "b", "expected": null, "severity": "high"}\n')
    with pytest.raises(ConfigError) as raised:
        load_cases(cases)
    message = str(raised.value)
    assert f"{cases}:2:" in message and "'high'" in message and '"critical"' in message and "null" in message


def outcome(label: str | None, guessed: Severity | None) -> Outcome:
    case = Case(id="x", subject="", text="t", expected=None, severity=label)
    prediction = Prediction(None, 0.0, 0.5)
    return Outcome(case, prediction, severity=SeverityGuess(guessed, 0.9))


def test_macro_f1_counts_every_class_expected_or_guessed_including_none():
    outcomes = [
        outcome("critical", Severity.CRITICAL),
        outcome("critical", Severity.MAJOR),
        outcome("minor", Severity.MINOR),
        outcome("minor", None),
        outcome("none", None),
        outcome(None, Severity.COSMETIC),  # unlabelled: ignored
    ]
    summary = summarise(outcomes)
    # critical: P 1, R 1/2 -> 2/3; major: P 0 -> 0; minor: P 1, R 1/2 -> 2/3; none: P 1/2, R 1 -> 2/3
    assert summary["severity_cases"] == 5
    assert summary["severity_macro_f1"] == pytest.approx((2 / 3 + 0 + 2 / 3 + 2 / 3) / 4, abs=1e-4)
    assert summary["severity_f1"] == {"critical": 0.6667, "major": 0.0, "minor": 0.6667, "none": 0.6667}


def test_outcomes_without_guesses_give_no_figure_rather_than_a_wrong_one():
    case = Case(id="x", subject="", text="t", expected=None, severity="major")
    summary = summarise([Outcome(case, Prediction(None, 0.0, 0.5))])
    assert summary["severity_cases"] == 1 and summary["severity_macro_f1"] is None


def test_the_f1_helpers_on_their_own():
    assert severity_macro_f1(["major", "none"], ["major", "none"]) == 1.0
    assert severity_macro_f1(["major"], ["minor"]) == 0.0
    assert list(per_class_f1(["none", "minor", "critical"], ["none", "minor", "critical"])) == [
        "critical",
        "minor",
        "none",
    ]
