"""`mailbot evaluate` as a newcomer runs it: mistakes in the cases file and a missing matplotlib are
reported before training; predictions and the picture say what they show."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from mailbot.classify.evaluate import Case, Outcome
from mailbot.classify.plot import INSTALL_HINT, plot_title, precision_coverage_figure
from mailbot.cli import main
from mailbot.domain import Prediction
from tests.unit.test_classify import write_kb


def write_cases(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    return path


def test_an_unknown_expected_article_names_its_line_before_training(tmp_path, capsys):
    kb = write_kb(tmp_path / "kb")
    cases = write_cases(
        tmp_path / "cases.jsonl",
        [
            {"text": "I forgot my password", "expected": "password-reset"},
            {"text": "tell me a joke", "expected": None},
            {"text": "cancel my plan", "expected": "cancel-subscripton"},
            {"text": "no alerts", "expected": "notifications"},
        ],
    )
    assert main(["evaluate", "--kb", str(kb), "--cases", str(cases)]) == 2
    err = capsys.readouterr().err
    assert f"{cases}:3: expected article 'cancel-subscripton' is not in the knowledge base {kb}" in err
    assert "did you mean 'cancel-subscription'?" in err
    assert f"{cases}:4: expected article 'notifications'" in err
    assert "or null for a case that must escalate" in err
    assert "training:" not in err  # refused before any training


def test_predictions_carry_the_expected_article(tmp_path, capsys):
    kb = write_kb(tmp_path / "kb")
    rows: list[dict[str, object]] = [
        {"id": "a", "text": "I forgot my password", "expected": "password-reset"},
        {"id": "b", "text": "tell me a joke", "expected": None},
    ]
    cases = write_cases(tmp_path / "cases.jsonl", rows)
    predictions = tmp_path / "predictions.jsonl"
    assert main(["evaluate", "--kb", str(kb), "--cases", str(cases), "--predictions", str(predictions)]) == 0
    lines = [json.loads(line) for line in predictions.read_text(encoding="utf-8").splitlines()]
    assert [(line["id"], line["expected"]) for line in lines] == [("a", "password-reset"), ("b", None)]


def test_a_missing_matplotlib_is_reported_before_training_with_a_hint_for_wheel_users(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed: importing it fails
    kb = write_kb(tmp_path / "kb")
    cases = write_cases(
        tmp_path / "cases.jsonl", [{"text": "I forgot my password", "expected": "password-reset"}]
    )
    plot = tmp_path / "rc.png"
    assert main(["evaluate", "--kb", str(kb), "--cases", str(cases), "--plot", str(plot)]) == 2
    err = capsys.readouterr().err
    assert "--plot needs matplotlib" in err and "pip install 'mailbot[plot]'" in err
    assert "-e" not in INSTALL_HINT and "pip install matplotlib" in INSTALL_HINT
    assert "training:" not in err and not plot.exists()


def test_a_missing_output_folder_is_reported_before_training(tmp_path, capsys):
    kb = write_kb(tmp_path / "kb")
    cases = write_cases(
        tmp_path / "cases.jsonl", [{"text": "I forgot my password", "expected": "password-reset"}]
    )
    target = tmp_path / "no-such-folder" / "p.jsonl"
    assert main(["evaluate", "--kb", str(kb), "--cases", str(cases), "--predictions", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"--predictions {target}: the folder {target.parent} does not exist" in err
    assert "training:" not in err


def outcome(expected: str | None, article: str, confidence: float) -> Outcome:
    return Outcome(
        Case("c", "", "", expected), Prediction(article, confidence, 0.5, ((article, confidence),))
    )


def test_the_picture_shows_the_target_precision_and_says_what_it_shows(tmp_path):
    pytest.importorskip("matplotlib")
    outcomes = [
        outcome("a", "a", 0.9),
        outcome("b", "b", 0.8),
        outcome(None, "a", 0.7),
        outcome("a", "b", 0.6),
    ]
    summary = {"cases": 4, "answered": 2, "coverage": 0.6667, "answered_precision": 1.0, "threshold": 0.75,
               "target_precision": 0.97}  # fmt: skip
    title = plot_title(tmp_path / "parking-kb", tmp_path / "cases.jsonl")
    figure = precision_coverage_figure(outcomes, summary, title)
    [axes] = figure.axes
    assert axes.get_title().startswith("Precision–coverage of the knowledge base 'parking-kb' on cases.jsonl")
    assert "4 cases, 2 answered" in axes.get_title()
    horizontal = [line for line in axes.get_lines() if set(line.get_ydata()) == {0.97}]
    assert len(horizontal) == 1 and "target precision 0.97" in horizontal[0].get_label()
    assert axes.get_ylim()[0] < 0.97 < axes.get_ylim()[1]
