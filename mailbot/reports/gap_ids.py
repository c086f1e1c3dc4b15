"""Stable gap ids: this run's clusters matched to the gaps earlier runs found. Pure.

A cluster keeps the id of an earlier gap when they share mails (Jaccard of inbound ids at least
`MIN_OVERLAP`: a run a week later over a shifted range still holds most of the same mails) or, when
the mails are all new, when their top terms agree (cosine of the c-TF-IDF weights at least
`MIN_TERMS`). Pairs are taken best first, one earlier gap per cluster; every other cluster gets the
next number. Ids are never reused: numbering continues after the highest id ever given.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from mailbot.reports.gap_model import Cluster

MIN_OVERLAP = 0.3
MIN_TERMS = 0.8
PREFIX = "gap-"
_NUMBER = re.compile(r"gap-(\d+)")


@dataclass(frozen=True)
class KnownGap:
    """A gap as an earlier run left it."""

    gap_id: str
    members: frozenset[int]
    terms: Mapping[str, float]


def jaccard(first: frozenset[int], second: frozenset[int]) -> float:
    union = first | second
    return len(first & second) / len(union) if union else 0.0


def terms_cosine(first: Mapping[str, float], second: Mapping[str, float]) -> float:
    dot = sum(weight * second.get(term, 0.0) for term, weight in first.items())
    norms = math.sqrt(sum(w * w for w in first.values())) * math.sqrt(sum(w * w for w in second.values()))
    return dot / norms if norms else 0.0


def assign_ids(clusters: Sequence[Cluster], known: Sequence[KnownGap]) -> list[str]:
    """The gap id of each cluster, in the clusters' order."""
    candidates = []
    for index, cluster in enumerate(clusters):
        members = frozenset(cluster.members)
        terms = dict(cluster.terms)
        for gap in known:
            overlap = jaccard(members, gap.members)
            agreement = terms_cosine(terms, gap.terms)
            if overlap >= MIN_OVERLAP or agreement >= MIN_TERMS:
                candidates.append((max(overlap, agreement), overlap, index, gap.gap_id))
    candidates.sort(key=lambda item: (-round(item[0], 9), -round(item[1], 9), item[2], item[3]))
    ids: dict[int, str] = {}
    taken: set[str] = set()
    for _, _, index, gap_id in candidates:
        if index not in ids and gap_id not in taken:
            ids[index] = gap_id
            taken.add(gap_id)
    number = max((_number(gap.gap_id) for gap in known), default=0)
    for index in range(len(clusters)):
        if index not in ids:
            number += 1
            ids[index] = f"{PREFIX}{number:04d}"
    return [ids[index] for index in range(len(clusters))]


def _number(gap_id: str) -> int:
    found = _NUMBER.fullmatch(gap_id)
    return int(found[1]) if found else 0
