"""bench/learning_replay.py on tiny inputs: the month assignment and the best-coverage figure."""

from __future__ import annotations

import random
from types import SimpleNamespace

from bench.learning_replay import best_coverage, stream


def test_the_stream_is_seeded_and_draws_every_text_at_most_once() -> None:
    pool = {"a": ["a1", "a2", "a3"], "b": ["b1", "b2"]}
    first = stream(pool, ["o1", "o2"], 5, random.Random(14))
    assert first == stream(pool, ["o1", "o2"], 5, random.Random(14))  # the same history every run
    assert len(first) == 5 and len({mail.text for mail in first}) == 5
    assert all(mail.intent == (None if mail.text.startswith("o") else mail.text[0]) for mail in first)
    assert len(stream(pool, ["o1", "o2"], 100, random.Random(14))) == 7  # no text twice


def outcome(confidence: float, predicted: str, expected: str | None) -> SimpleNamespace:
    prediction = SimpleNamespace(confidence=confidence, article_id=predicted)
    return SimpleNamespace(prediction=prediction, case=SimpleNamespace(expected=expected))


def test_best_coverage_is_the_largest_share_answered_at_the_target_precision() -> None:
    outcomes = [outcome(0.99 - i / 100, "a", "a") for i in range(40)]  # 40 right, most confident
    outcomes += [outcome(0.5, "b", "a")]  # then a wrong one: 40/41 = 0.976 still >= 0.97
    outcomes += [outcome(0.4, "a", None), outcome(0.3, "a", "a"), outcome(0.0, "a", "a")]
    # weights 1: after the out-of-scope answer 40/42 < 0.97, with the next right one 41/43 < 0.97
    assert best_coverage(outcomes, 1.0, 1.0) == 41 / 43
