"""Incident grouping: reports of the same fault by several customers become children of one parent.

Pure: the caller passes the open tickets of the window. Similarity is the larger of two views:
the cosine of character n-gram TF-IDF vectors fitted on just these texts (typos, word order), and
the overlap of the severity signals that fired (crash, all users, since the update ...), which are
named the same in every language, so a German and an English report of one outage still meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import cosine_similarity


@dataclass(frozen=True)
class Candidate:
    """An open escalated ticket of the grouping window."""

    ticket_id: int
    parent_id: int | None
    severity: str | None
    text: str
    reasons: Sequence[str] = field(default=())  # the severity guess's reasons (signals among them)


MIN_SHARED_SIGNALS = 2  # one shared signal ("crash") is too common to mean "the same incident"
_SIGNAL = re.compile(r"^signal: .*\(([^()]+)\)$")


def signal_names(reasons: Iterable[str]) -> frozenset[str]:
    """The language-independent signal names among a severity guess's reasons."""
    return frozenset(m.group(1) for reason in reasons if (m := _SIGNAL.match(reason)))


def signal_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    shared = a & b
    return len(shared) / len(a | b) if len(shared) >= MIN_SHARED_SIGNALS else 0.0


def similarities(text: str, others: Sequence[str]) -> list[float]:
    if not others or not text.strip():
        return [0.0] * len(others)
    vectoriser = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True, lowercase=True)
    try:
        vectors = vectoriser.fit_transform([text, *others])
    except ValueError:  # nothing but stop characters
        return [0.0] * len(others)
    return [float(value) for value in cosine_similarity(vectors[0], vectors[1:])[0]]


def pick_parent(
    text: str,
    severity: str | None,
    candidates: Sequence[Candidate],
    min_similarity: float,
    reasons: Sequence[str] = (),
) -> tuple[int, float] | None:
    """The ticket a new report joins (the root of the most similar candidate's incident) and the
    similarity, or None. Only faults group: a question (no severity) never does, and severities must
    agree, because one incident has one urgency."""
    if severity is None:
        return None
    same = [c for c in candidates if c.severity == severity]
    if not same:
        return None
    signals = signal_names(reasons)
    texts = similarities(text, [c.text for c in same])
    scores = [
        max(t, signal_overlap(signals, signal_names(c.reasons))) for t, c in zip(texts, same, strict=True)
    ]
    best = max(range(len(same)), key=lambda i: scores[i])
    if scores[best] < min_similarity:
        return None
    chosen = same[best]
    return (chosen.parent_id or chosen.ticket_id), scores[best]
