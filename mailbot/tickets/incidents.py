"""Incident grouping: reports of the same fault by several customers become children of one parent.

Pure: the caller passes the open tickets of the window (at most `MAX_CANDIDATES`, the most recent).
Similarity is the larger of two views: the cosine of character n-gram TF-IDF vectors (typos, word
order), and the overlap of the severity signals that fired (crash, all users, since the update ...),
which are named the same in every language, so a German and an English report of one outage still meet.

The text view must not grow with the outage it is meant to catch (issue 13): it used to fit a new
TF-IDF over every open fault of the window for every new escalation, reading every text again. Now
each text is counted once into hashed n-grams (no vocabulary to fit; the counts are remembered by text,
so a candidate's words are read once per process), and the IDF over the report and its candidates is
counted from those hashes: the same values as the fitted TF-IDF (to float precision), at a cost
bounded by `MAX_CANDIDATES`. The hashes are numbered densely as they are first seen, so that counting
and weighting are array look-ups, not sorts: 20 -> 2.6 ms for a full window of 2,000-character mails.
"""

from __future__ import annotations

import functools
import json
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

MAX_CANDIDATES = 100  # open faults compared per escalation: the most recent of the same severity


@dataclass(frozen=True)
class Candidate:
    """An open escalated ticket of the grouping window."""

    ticket_id: int
    parent_id: int | None
    severity: str | None
    text: str
    signals: frozenset[str] = frozenset()  # the names of the signals its severity guess found


MIN_SHARED_SIGNALS = 2  # one shared signal ("crash") is too common to mean "the same incident"
_SIGNAL = re.compile(r"^signal: .*\(([^()]+)\)$")


def signal_names(reasons: Iterable[str]) -> frozenset[str]:
    """The language-independent signal names among a severity guess's reasons."""
    return frozenset(m.group(1) for reason in reasons if (m := _SIGNAL.match(reason)))


@functools.lru_cache(maxsize=1024)
def stored_signal_names(stored_reasons: str | None) -> frozenset[str]:
    """`signal_names` of reasons as the tickets table keeps them (a JSON list), decoded once per text: the
    same open faults are read as candidates for every escalation of the window (issue 13: decoding them
    was 40 % of reading the candidates)."""
    try:
        reasons = json.loads(stored_reasons) if stored_reasons else []
    except ValueError:
        return frozenset()
    if not isinstance(reasons, list):
        return frozenset()
    return signal_names(reason for reason in reasons if isinstance(reason, str))


def signal_overlap(a: frozenset[str], b: frozenset[str]) -> float:
    shared = a & b
    return len(shared) / len(a | b) if len(shared) >= MIN_SHARED_SIGNALS else 0.0


# the features of the TfidfVectorizer this replaces (scikit-learn's `char_wb` analyzer, lowercased)
_NGRAM_SIZES = (3, 4, 5)
_CACHED_TEXTS = 512  # the candidates of every severity and more; a 2,000-character excerpt is ~50 kB
# n-grams numbered at most (then numbering starts again, the texts counted anew): the numbering (16 bytes
# per n-gram) and the dense arrays of a comparison stay at a few MB (~1,000 new n-grams per long mail)
_MAX_NUMBERS = 2**18


@dataclass(frozen=True)
class _Counts:
    """One text's n-grams as small numbers (see _Numbering), with sublinear term frequencies."""

    numbers: np.ndarray
    tf: np.ndarray
    top: int  # the largest number, -1 for a text without n-grams


class _Numbering:
    """Hashed n-grams (64-bit hashes) numbered 0, 1, 2 ... in the order they are first seen, so that a
    comparison can count document frequencies and weight a text by array look-ups (np.bincount,
    indexing) instead of a sort and binary searches over every candidate's n-grams (10x faster for mails
    of 2,000 characters: bench/README.md, "Issue 13 in session 15"). Sorted arrays, 16 bytes per n-gram
    (a dict of Python ints takes ~100); the newest few thousand wait in a dict, so that a text does not
    copy the arrays to add its new n-grams (0.5 ms per text at 200,000 numbers)."""

    MERGE_AT = 32768  # new n-grams kept in the dict (~3 MB) before they go into the arrays

    def __init__(self) -> None:
        self._buckets = np.empty(0, dtype=np.int64)  # sorted
        self._numbers = np.empty(0, dtype=np.intp)  # the number of each bucket above
        self._recent: dict[int, int] = {}

    def __len__(self) -> int:
        return int(self._buckets.size) + len(self._recent)

    def of(self, buckets: np.ndarray) -> np.ndarray:
        """The numbers of `buckets` (each once: one text's), numbering the new ones."""
        at = np.searchsorted(self._buckets, buckets)
        known = np.zeros(buckets.size, dtype=bool)
        inside = at < self._buckets.size
        known[inside] = self._buckets[at[inside]] == buckets[inside]
        numbers = np.empty(buckets.size, dtype=np.intp)
        numbers[known] = self._numbers[at[known]]
        recent, first = self._recent, int(self._buckets.size)
        unknown = np.flatnonzero(~known)
        found = []
        for bucket in buckets[unknown].tolist():
            number = recent.get(bucket)
            if number is None:
                number = recent[bucket] = first + len(recent)
            found.append(number)
        numbers[unknown] = found
        if len(recent) >= self.MERGE_AT:
            self._merge()
        return numbers

    def _merge(self) -> None:
        added = np.fromiter(self._recent, dtype=np.int64, count=len(self._recent))
        order = np.argsort(added)
        added_numbers = np.fromiter(self._recent.values(), dtype=np.intp, count=len(self._recent))[order]
        added = added[order]
        at = np.searchsorted(self._buckets, added)
        self._buckets = np.insert(self._buckets, at, added)
        self._numbers = np.insert(self._numbers, at, added_numbers)
        self._recent = {}


class _CountsCache:
    """Counts by text, least recently used dropped first; keyed by the text itself, so a ticket id that
    a rolled-back transaction gave away (or another database) can never bring back another text. The
    counts of one `get` are always of one numbering: when it is full, every text is counted anew."""

    def __init__(self, size: int, max_numbers: int = _MAX_NUMBERS) -> None:
        self._size = size
        self._max_numbers = max_numbers
        self._items: OrderedDict[str, _Counts] = OrderedDict()
        self._numbering = _Numbering()
        self._lock = threading.Lock()  # clients of one installation decide mail in their own threads

    def get(self, texts: Sequence[str]) -> list[_Counts]:
        with self._lock:  # counting is once per text; holding the lock keeps one numbering per call
            missing = [text for text in dict.fromkeys(texts) if text not in self._items]
            if missing and len(self._numbering) >= self._max_numbers:
                self._items.clear()
                self._numbering = _Numbering()
                missing = list(dict.fromkeys(texts))
            self._items.update(zip(missing, self._count(missing), strict=True))
            for text in texts:
                self._items.move_to_end(text)
            counts = [self._items[text] for text in texts]
            while len(self._items) > self._size:
                self._items.popitem(last=False)
            return counts

    def _count(self, texts: Sequence[str]) -> list[_Counts]:
        rows = []
        for text in texts:
            counted = Counter(char_ngrams(text))
            # Python's string hash: the numbering lives in this process only, where it is one function
            # (the chance of any collision among the 2**18 n-grams numbered at most: ~2**-29)
            hashes = np.fromiter(map(hash, counted), dtype=np.int64, count=len(counted))
            numbers = self._numbering.of(hashes)
            tf = 1.0 + np.log(np.fromiter(counted.values(), dtype=np.float64, count=len(counted)))
            rows.append(_Counts(numbers, tf, int(numbers.max()) if numbers.size else -1))
        return rows


_COUNTS = _CountsCache(_CACHED_TEXTS)


def char_ngrams(text: str) -> list[str]:
    """The n-grams scikit-learn's `char_wb` analyzer makes of `text` (3 to 5 characters, lowercased,
    each word padded with a space; a word shorter than an n-gram counts once, whole).

    Written out rather than asked of scikit-learn: grouping is the only thing a worker deciding a
    backlog needs it for (the models live in the parsing process), and importing it cost the worker
    ~0.9 s of CPU before its first decision and ~70 MB (bench/README.md, session 22); counting without
    it is also faster (0.17 against 0.23 ms per text). The tests hold it to scikit-learn's analyzer."""
    grams: list[str] = []
    add = grams.append
    # scikit-learn first collapses runs of white space (`\s\s+`); `split()` ends words at the same
    # characters (str.isspace is re's `\s`), so the words are the same without that pass
    for word in text.lower().split():
        padded = f" {word} "
        size = len(padded)
        for n in _NGRAM_SIZES:
            if size <= n:
                add(padded)
                break
            for start in range(size - n + 1):
                add(padded[start : start + n])
    return grams


def similarities(text: str, others: Sequence[str]) -> list[float]:
    """The cosine of `text` and each of `others` as character n-gram TF-IDF vectors (char_wb 3-5,
    sublinear tf, smooth IDF over these texts, l2): what a TfidfVectorizer fitted on them gives."""
    if not others or not text.strip():
        return [0.0] * len(others)
    mine, *theirs = _COUNTS.get([text, *others])
    if not mine.numbers.size:
        return [0.0] * len(others)
    n = len(theirs)
    size = 1 + max(mine.top, max(counts.top for counts in theirs))
    lengths = np.fromiter((counts.numbers.size for counts in theirs), dtype=np.intp, count=n)
    rows = np.repeat(np.arange(n), lengths)
    numbers = np.concatenate([counts.numbers for counts in theirs])
    # document frequency: a text holds each n-gram once, so counting numbers over all texts counts texts
    frequency = np.bincount(numbers, minlength=size)
    frequency[mine.numbers] += 1
    idf = np.log((1.0 + n + 1) / (1.0 + np.arange(n + 2))) + 1.0  # by document frequency 0 .. n + 1
    my_weights = mine.tf * idf[frequency[mine.numbers]]
    weights = np.concatenate([counts.tf for counts in theirs]) * idf[frequency[numbers]]
    my_dense = np.zeros(size)
    my_dense[mine.numbers] = my_weights
    dot = np.bincount(rows, weights=weights * my_dense[numbers], minlength=n)
    norms = np.sqrt(np.bincount(rows, weights=weights**2, minlength=n)) * float(np.linalg.norm(my_weights))
    cosine = np.divide(dot, norms, out=np.zeros(n), where=norms > 0)
    return [min(float(value), 1.0) for value in cosine]


def pick_parent(
    text: str,
    severity: str | None,
    candidates: Sequence[Candidate],
    min_similarity: float,
    reasons: Sequence[str] = (),
) -> tuple[int, float] | None:
    """The ticket a new report joins (the root of the most similar candidate's incident) and the
    similarity, or None. Only faults group: a question (no severity) never does, and severities must
    agree, because one incident has one urgency. On equal similarity the earlier candidate wins
    (callers pass them oldest first)."""
    if severity is None:
        return None
    same = [c for c in candidates if c.severity == severity]
    if not same:
        return None
    signals = signal_names(reasons)
    texts = similarities(text, [c.text for c in same])
    scores = [max(t, signal_overlap(signals, c.signals)) for t, c in zip(texts, same, strict=True)]
    best = max(range(len(same)), key=lambda i: scores[i])
    if scores[best] < min_similarity:
        return None
    chosen = same[best]
    return (chosen.parent_id or chosen.ticket_id), scores[best]
