"""Answer quality over time: weekly automation and confidence, the drift of predicted topics, and
markers where the model changed (a retrain after a knowledge-base change).

Prediction drift needs no labels: the population stability index (PSI) of the predicted-article mix of
the period against the period before, sum over articles of (p - q) * ln(p / q), with a small epsilon
for an article one side never saw. Above 0.2 is the usual line for "the mail has changed": the
report flags it.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import timedelta

from mailbot.clock import BusinessCalendar
from mailbot.reports.facts import RequestFact
from mailbot.reports.period import Period
from mailbot.reports.stats import Ratio, median, nearest_rank

PSI_ALERT = 0.2
EPSILON = 1e-4


def psi(reference: Mapping[str, float], current: Mapping[str, float]) -> float:
    """Population stability index of two distributions over the same labels (missing = 0)."""
    total = 0.0
    for label in reference.keys() | current.keys():
        p, q = max(current.get(label, 0.0), EPSILON), max(reference.get(label, 0.0), EPSILON)
        total += (p - q) * math.log(p / q)
    return total


def shares(counts: Mapping[str, int]) -> dict[str, float]:
    whole = sum(counts.values())
    return {label: count / whole for label, count in counts.items()} if whole else {}


def _mix(requests: Sequence[RequestFact], period: Period) -> Counter[str]:
    return Counter(f.article_id or "(none)" for f in requests if f.is_request and f.arrived_at in period)


def drift(
    requests: Sequence[RequestFact], period: Period, previous: Period, calendar: BusinessCalendar
) -> dict[str, object]:
    """Weekly figures of `period`, the PSI of its predicted-article mix against `previous`, and the
    model versions that answered in it (first seen: a marker in the charts)."""
    zone = calendar.zone
    weeks: dict[str, list[RequestFact]] = {}
    for fact in requests:
        if fact.is_request and fact.arrived_at in period:
            local = fact.arrived_at.astimezone(zone).date()
            monday = local - timedelta(days=local.weekday())
            weeks.setdefault(monday.isoformat(), []).append(fact)
    weekly = []
    for monday, facts in sorted(weeks.items()):
        scores = [f.confidence for f in facts if f.confidence is not None]
        below = sum(
            1
            for f in facts
            if f.confidence is not None and f.threshold is not None and f.confidence < f.threshold
        )
        weekly.append(
            {
                "week": monday,
                "requests": len(facts),
                "answer_rate": Ratio(sum(f.outcome == "answered" for f in facts), len(facts)).as_dict(),
                "confidence_median": median(scores),
                "confidence_p10": nearest_rank(scores, 10),
                "below_threshold": Ratio(below, len(scores)).as_dict(),
            }
        )
    now_mix, before_mix = _mix(requests, period), _mix(requests, previous)
    index = psi(shares(before_mix), shares(now_mix)) if now_mix and before_mix else None
    models: dict[str, str] = {}
    for fact in sorted(requests, key=lambda f: f.arrived_at):
        if fact.model_version and fact.arrived_at in period and fact.model_version not in models:
            models[fact.model_version] = fact.arrived_at.isoformat()
    return {
        "weekly": weekly,
        "psi": None if index is None else round(index, 4),
        "psi_alert": index is not None and index > PSI_ALERT,
        "mix": dict(now_mix.most_common()),
        "mix_before": dict(before_mix.most_common()),
        "models": [{"version": version, "first_seen": seen} for version, seen in models.items()],
    }
