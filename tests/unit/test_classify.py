"""The classifier: normalisation, calibration, threshold choice, training, persistence, evaluation."""

from __future__ import annotations

import hashlib
import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mailbot.app import load_or_train
from mailbot.classify import store
from mailbot.classify.calibrate import (
    choose_threshold,
    fit_calibration,
    precision_lower_bound,
    traffic_weights,
)
from mailbot.classify.evaluate import Case, Outcome, summarise
from mailbot.classify.model import train
from mailbot.classify.normalise import classification_text, normalise
from mailbot.cli import main
from mailbot.config import ClassifierSettings
from mailbot.domain import Prediction
from mailbot.kb import load_knowledge_base

TOPICS = {
    "password-reset": [
        "I forgot my password",
        "how do I reset my password",
        "password reset link does not work",
        "cannot log in, forgot password",
        "change my password please",
        "my password is not accepted",
        "reset password email never arrived",
        "locked out after wrong password",
    ],
    "cancel-subscription": [
        "how do I cancel my subscription",
        "cancel my plan",
        "stop my monthly payment",
        "I want to end my membership",
        "unsubscribe from the paid plan",
        "terminate my subscription now",
        "please cancel the renewal",
        "how to quit the premium plan",
    ],
    "push-notifications": [
        "I get no notifications",
        "push messages do not arrive",
        "notifications are not showing",
        "how do I turn on notifications",
        "no alerts on my phone",
        "reminders never pop up",
        "notification sound is missing",
        "enable push notifications",
    ],
}
OUT_OF_SCOPE = [
    "what is the weather tomorrow",
    "tell me a joke",
    "who won the football game",
    "book a table at a restaurant",
    "what time is it in tokyo",
    "play some music",
]


def write_kb(root: Path, with_oos: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for topic, examples in TOPICS.items():
        lines = "\n".join(f"  - {example}" for example in examples)
        title = topic.replace("-", " ")
        (root / f"{topic}.md").write_text(
            f"---\nid: {topic}\ntitle: {title}\nlanguage: en\nexamples:\n{lines}\n---\nAnswer.\n"
        )
    if with_oos:
        lines = "\n".join(f"  - {example}" for example in OUT_OF_SCOPE)
        (root / "_out_of_scope.md").write_text(
            f"---\nid: _out_of_scope\ntitle: never\nlanguage: en\nexamples:\n{lines}\n---\n"
        )
    return root


def test_normalise_keeps_umlauts_and_flattens_noise():
    assert normalise("  Passwort  VERGESSEN für ÄÖÜ ß ") == "passwort vergessen für äöü ss"
    assert (
        normalise("see https://x.example/a?b=1 or mail a@b.de, order 12345")
        == "see url or mail email order 0"
    )


@pytest.mark.parametrize(
    ("subject", "body", "expected"),
    [
        ("Passwort", "ich komme nicht rein", "passwort\nich komme nicht rein"),
        ("AW: Frage [MB-000012]", "Wie kündige ich?", "wie kündige ich?"),  # generic words only
        ("Re: Question", "how do I cancel", "how do i cancel"),
        ("whats the travel time to", "whats the travel time to redmond", "whats the travel time to redmond"),
        ("", "hello", "hello"),
    ],
)
def test_subject_counts_only_when_it_adds_a_topic(subject, body, expected):
    assert classification_text(subject, body) == expected


def test_threshold_is_the_lowest_whose_assured_precision_meets_the_target():
    # 100 right answers, then one wrong, then 19 right, then out of scope
    confidence = np.concatenate([np.linspace(0.99, 0.6, 100), [0.55], np.linspace(0.5, 0.3, 19), [-np.inf]])
    correct = np.concatenate([np.ones(100, bool), [False], np.ones(19, bool), [False]])
    in_scope = np.concatenate([np.ones(120, bool), [False]])
    point = choose_threshold(confidence, correct, in_scope, target_precision=0.95)
    # 119/120 right: the Wilson lower bound (z=1) is 0.978 >= 0.95, so everything is answered
    assert point.threshold == pytest.approx(0.3)
    assert point.precision == pytest.approx(119 / 120) and point.coverage == pytest.approx(1.0)
    strict = choose_threshold(confidence, correct, in_scope, target_precision=0.985)
    # the wrong answer pulls the bound below 0.985 for every cut after it: only the first 100 remain (0.990)
    assert strict.threshold == pytest.approx(0.6) and strict.coverage == pytest.approx(100 / 120)


def test_few_right_answers_are_no_proof_of_precision():
    assert precision_lower_bound(np.array([1.0]), np.array([3.0]))[0] == pytest.approx(0.75)
    assert precision_lower_bound(np.array([1.0]), np.array([300.0]))[0] > 0.996
    point = choose_threshold(np.array([0.9, 0.8, 0.7]), np.ones(3, bool), np.ones(3, bool), 0.97)
    assert point.coverage == 0.0


def test_out_of_scope_examples_count_as_their_share_of_the_mail():
    in_scope = np.array([True] * 8 + [False] * 2)
    weights = traffic_weights(in_scope, 0.2)
    # 2 out-of-scope examples stand for a quarter of the in-scope mail (0.2 / 0.8): 2 each
    assert weights[in_scope].tolist() == [1.0] * 8 and weights[~in_scope].tolist() == [1.0, 1.0]
    weights = traffic_weights(np.array([True] * 40 + [False] * 2), 0.2)
    assert weights[-2:].tolist() == [5.0, 5.0] and weights[:40].sum() == 40
    # never counted less than the KB has them, and nothing to weight without them
    assert traffic_weights(np.array([True, False, False]), 0.2).tolist() == [1.0, 1.0, 1.0]
    assert traffic_weights(np.array([True, True]), 0.5).tolist() == [1.0, 1.0]


def test_a_heavy_out_of_scope_answer_moves_the_threshold():
    # 60 right in-scope answers, one answered out-of-scope example in the middle, then 39 right ones
    confidence = np.concatenate([np.linspace(0.99, 0.7, 60), [0.65], np.linspace(0.6, 0.3, 39)])
    correct = np.concatenate([np.ones(60, bool), [False], np.ones(39, bool)])
    in_scope = np.concatenate([np.ones(60, bool), [False], np.ones(39, bool)])
    plain = choose_threshold(confidence, correct, in_scope, target_precision=0.95)
    assert plain.threshold == pytest.approx(0.3)  # 99/100 right
    weights = np.where(in_scope, 1.0, 10.0)
    weighted = choose_threshold(confidence, correct, in_scope, 0.95, weights)
    # counted as ten mails it makes 99/109 = 0.91 below it: only the answers above it remain
    assert weighted.threshold == pytest.approx(0.7) and weighted.coverage == pytest.approx(60 / 99)
    assert weighted.precision == 1.0


def test_no_threshold_meets_the_target_means_answer_nothing():
    point = choose_threshold(np.array([0.9, 0.8]), np.array([False, False]), np.array([True, True]), 0.97)
    assert point.threshold > 0.9 and point.coverage == 0.0


def test_calibration_is_monotone_and_falls_back_on_one_sided_data():
    scores = np.array([-1.0, -0.5, 0.0, 0.2, 0.5, 1.0, 1.5, 2.0])
    correct = np.array([False, False, False, True, False, True, True, True])
    calibration = fit_calibration(scores, correct)
    assert calibration.slope > 0
    values = calibration(scores)
    assert np.all(np.diff(values) > 0) and values[0] < 0.5 < values[-1]
    assert fit_calibration(scores, np.ones(8, dtype=bool)).slope > 0


def test_training_twice_gives_the_same_predictions(tmp_path):
    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    first, second = train(kb), train(kb)
    texts = [normalise(t) for t in ("my password is gone", "no push messages", "weather in paris", "")]
    assert first.predict_texts(texts) == second.predict_texts(texts)
    assert first.threshold == second.threshold


def test_out_of_scope_examples_form_a_class_that_never_answers(tmp_path):
    classifier = train(load_knowledge_base(write_kb(tmp_path / "kb")))
    assert "_out_of_scope" not in classifier.labels
    assert classifier.predict("", "tell me a joke about football").out_of_scope
    prediction = classifier.predict("", "I forgot my password and cannot log in")
    assert prediction.article_id == "password-reset" and not prediction.out_of_scope
    assert all(article != "_out_of_scope" for article, _ in prediction.ranking)


def test_model_round_trip_through_skops_and_card(tmp_path):
    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    classifier = train(kb)
    card = store.save(classifier, tmp_path / "model", kb.digest)
    assert card["kb_digest"] == kb.digest and card["model_bytes"] > 0
    assert set(card["libraries"]) >= {"scikit-learn", "skops", "numpy"}
    loaded = store.load(tmp_path / "model", kb.digest, 0.97)
    assert loaded is not None
    texts = [normalise("reset my password"), normalise("notifications broken")]
    assert loaded.predict_texts(texts) == classifier.predict_texts(texts)
    assert not list((tmp_path / "model").glob("*.pkl"))
    # the vocabularies are one array each, not a file or a node per term (what made loading slow)
    with zipfile.ZipFile(tmp_path / "model" / store.MODEL_FILE) as saved:
        assert len(saved.namelist()) < 20
        schema = json.loads(saved.read("schema.json"))
    assert '"vocabulary_": {"__class__": "ndarray"' in json.dumps(schema)
    assert classifier.pipeline is not None  # and the model in use keeps its dicts
    for _, vectoriser in classifier.pipeline.named_steps["features"].transformer_list:
        assert isinstance(vectoriser.vocabulary_, dict)
    assert loaded.pipeline is not None
    for (_, used), (_, read) in zip(
        classifier.pipeline.named_steps["features"].transformer_list,
        loaded.pipeline.named_steps["features"].transformer_list,
        strict=True,
    ):
        assert read.vocabulary_ == used.vocabulary_
        assert all(type(column) is int for column in read.vocabulary_.values())


def test_a_model_saved_with_its_vocabularies_as_dicts_is_still_read_and_saved_again(tmp_path):
    """Card format 1, as mailbot wrote models before session 26: loaded as it is, not retrained, and
    written again in the current format by the start that loads it."""
    import skops.io as sio

    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    classifier = train(kb)
    store.save(classifier, tmp_path / "model", kb.digest)
    assert classifier.pipeline is not None
    old = sio.dumps(classifier.pipeline)  # the vocabularies as dicts of numpy integers
    (tmp_path / "model" / store.MODEL_FILE).write_bytes(old)
    card_path = tmp_path / "model" / store.CARD_FILE
    card = json.loads(card_path.read_text())
    card["format"], card["model_sha256"] = 1, hashlib.sha256(old).hexdigest()
    card["created_at"] = "2026-01-02T03:04:05+00:00"
    card_path.write_text(json.dumps(card))
    loaded = store.load(tmp_path / "model", kb.digest, 0.97)
    assert loaded is not None
    texts = [normalise("reset my password"), normalise("notifications broken")]
    assert loaded.predict_texts(texts) == classifier.predict_texts(texts)

    started = load_or_train(kb, ClassifierSettings(model_dir=tmp_path / "model"))
    assert started.version == classifier.version  # loaded, not trained
    card = json.loads(card_path.read_text())
    assert card["format"] == store.CARD_FORMAT and card["created_at"] == "2026-01-02T03:04:05+00:00"
    again = store.load(tmp_path / "model", kb.digest, 0.97)
    assert again is not None and again.predict_texts(texts) == classifier.predict_texts(texts)


def test_a_vocabulary_numpy_would_not_give_back_whole_stays_a_dict():
    assert list(store._as_terms({"b": 1, "a ": 0})) == ["a ", "b"]  # trailing blanks survive
    kept = store._as_terms({"a\0": 0, "b": 1})  # numpy strips a trailing NUL
    assert kept == {"a\0": 0, "b": 1}
    assert store._as_terms({"a": 0, "c": 2}) == {"a": 0, "c": 2}  # columns with a gap


def test_a_changed_kb_or_tampered_model_is_not_loaded(tmp_path):
    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    store.save(train(kb), tmp_path / "model", kb.digest)
    assert store.load(tmp_path / "model", "other-digest", 0.97) is None
    assert store.load(tmp_path / "model", kb.digest, 0.9) is None  # another target precision
    model = tmp_path / "model" / store.MODEL_FILE
    model.write_bytes(model.read_bytes() + b"x")
    assert store.load(tmp_path / "model", kb.digest, 0.97) is None


def test_load_or_train_retrains_when_the_kb_changes(tmp_path):
    root = write_kb(tmp_path / "kb")
    settings = ClassifierSettings(model_dir=tmp_path / "model")
    first = load_or_train(load_knowledge_base(root), settings)
    again = load_or_train(load_knowledge_base(root), settings)  # loaded, not retrained
    assert again.version == first.version
    article = root / "push-notifications.md"
    article.write_text(article.read_text().replace("  - enable push notifications", "  - turn alerts on"))
    changed = load_or_train(load_knowledge_base(root), settings)
    assert changed.version != first.version
    card = json.loads((tmp_path / "model" / store.CARD_FILE).read_text())
    assert card["kb_digest"] == load_knowledge_base(root).digest


def test_a_kb_without_out_of_scope_examples_is_trained_with_a_warning(tmp_path, caplog):
    settings = ClassifierSettings(model_dir=tmp_path / "model")
    with caplog.at_level(logging.WARNING, logger="mailbot.app"):
        load_or_train(load_knowledge_base(write_kb(tmp_path / "kb", with_oos=False)), settings)
    assert "has no _out_of_scope.md" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="mailbot.app"):
        load_or_train(load_knowledge_base(write_kb(tmp_path / "kb2")), settings)
    assert "_out_of_scope" not in caplog.text


def outcome(expected: str | None, article: str, confidence: float, threshold: float = 0.5) -> Outcome:
    prediction = Prediction(article, confidence, threshold, ((article, confidence),), "m")
    return Outcome(Case("c", "", "", expected), prediction)


def test_summary_arithmetic():
    outcomes = [
        outcome("a", "a", 0.9),  # answered right
        outcome("a", "b", 0.8),  # answered wrong
        outcome("b", "b", 0.3),  # escalated, argmax right
        outcome(None, "a", 0.7),  # out of scope, answered: wrong
        outcome(None, "b", 0.2),  # out of scope, escalated: right
    ]
    summary = summarise(outcomes)
    assert summary["cases"] == 5 and summary["in_scope"] == 3 and summary["out_of_scope"] == 2
    assert summary["argmax_accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["in_scope_accuracy"] == pytest.approx(1 / 3, abs=1e-4)
    assert summary["coverage"] == pytest.approx(2 / 3, abs=1e-4)
    assert summary["oos_recall"] == 0.5
    assert summary["answered"] == 3 and summary["answered_precision"] == pytest.approx(1 / 3, abs=1e-4)


def test_evaluate_json_on_a_tiny_kb(tmp_path, capsys):
    kb = write_kb(tmp_path / "kb")
    cases = tmp_path / "cases.jsonl"
    rows = [
        {"id": "1", "subject": "", "text": "I forgot my password", "expected": "password-reset"},
        {"id": "2", "subject": "Abo", "text": "cancel my plan", "expected": "cancel-subscription"},
        {"id": "3", "subject": "", "text": "tell me a joke", "expected": None},
    ]
    cases.write_text("\n".join(json.dumps(row) for row in rows) + "\n")
    predictions = tmp_path / "predictions.jsonl"
    assert (
        main(
            [
                "evaluate",
                "--kb",
                str(kb),
                "--cases",
                str(cases),
                "--json",
                "--threshold",
                "0.5",
                "--predictions",
                str(predictions),
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    for key in (
        "cases",
        "in_scope",
        "out_of_scope",
        "argmax_accuracy",
        "in_scope_accuracy",
        "coverage",
        "oos_recall",
        "answered",
        "answered_precision",
        "threshold",
        "train_seconds",
        "predict_ms_per_case",
    ):
        assert key in summary, key
    assert (summary["cases"], summary["in_scope"], summary["out_of_scope"]) == (3, 2, 1)
    assert summary["threshold"] == 0.5
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["1", "2", "3"]
    assert set(lines[0]) >= {"id", "predicted", "top_article", "confidence", "severity"}
    assert lines[0]["top_article"] == "password-reset"
    answered = [line for line in lines if line["predicted"] is not None]
    right = [
        line
        for line, row in zip(lines, rows, strict=True)
        if line["predicted"] == row["expected"] and line["predicted"] is not None
    ]
    assert summary["answered"] == len(answered)
    assert summary["answered_precision"] == (round(len(right) / len(answered), 4) if answered else None)


def test_evaluate_reads_eml_cases_through_the_mail_parser(tmp_path, capsys):
    kb = write_kb(tmp_path / "kb")
    (tmp_path / "mail.eml").write_bytes(
        b"From: a@example.org\r\nTo: s@example.com\r\nSubject: Hilfe\r\nMessage-ID: <1@x>\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Hello,</p><p>how do I reset my password</p>"
        b"<p>Best regards<br>Anna</p>"
    )
    cases = tmp_path / "cases.jsonl"
    cases.write_text(json.dumps({"id": "e", "eml": "mail.eml", "expected": "password-reset"}) + "\n")
    assert main(["evaluate", "--kb", str(kb), "--cases", str(cases), "--json", "--threshold", "0.01"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["argmax_accuracy"] == 1.0 and summary["quarantined"] == 0


def test_bad_case_line_names_file_and_line(tmp_path, capsys):
    kb = write_kb(tmp_path / "kb")
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"text": "x", "expected": null}\n{"text": "y"}\n')
    assert main(["evaluate", "--kb", str(kb), "--cases", str(cases)]) == 2
    assert f"{cases}:2:" in capsys.readouterr().err


BUILT: list[str] = []


class Planted:
    """A type no model of ours contains: loading a file with it must build nothing."""

    def __init__(self) -> None:
        self.value = "planted"

    def __setstate__(self, state: dict[str, str]) -> None:
        BUILT.append(state["value"])
        self.__dict__.update(state)


def test_a_model_file_with_a_type_we_do_not_trust_is_not_loaded(tmp_path, caplog):
    """Its card and checksum fit (someone who can write the model folder rewrote both): the file is
    refused by its types, with a warning, and nothing in it is built."""
    import skops.io as sio

    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    store.save(train(kb), tmp_path / "model", kb.digest)
    planted = sio.dumps({"pipeline": Planted()})
    (tmp_path / "model" / store.MODEL_FILE).write_bytes(planted)
    card_path = tmp_path / "model" / store.CARD_FILE
    card = json.loads(card_path.read_text())
    card["model_sha256"] = hashlib.sha256(planted).hexdigest()
    card_path.write_text(json.dumps(card))
    with caplog.at_level(logging.WARNING, logger="mailbot.classify.store"):
        assert store.load(tmp_path / "model", kb.digest, 0.97) is None
    assert "contains types we do not load" in caplog.text and "Planted" in caplog.text
    assert BUILT == []
