"""The few statistics a support report needs, written out so their definitions are the documented ones.

Times are reported as median and 90th percentile by the nearest-rank method (never the mean alone: one
old ticket skews it), rates as a count over a denominator that may be empty ("n/a", never 0 %), and an
article's precision with the Wilson score interval, so an article used four times does not top a list
on luck. Definitions and formulas: docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95 %


@dataclass(frozen=True)
class Ratio:
    """`part` of `whole`; `value` is None when `whole` is 0 (shown as "n/a")."""

    part: int
    whole: int

    @property
    def value(self) -> float | None:
        return self.part / self.whole if self.whole else None

    def as_dict(self) -> dict[str, object]:
        return {"part": self.part, "whole": self.whole, "value": self.value}


def nearest_rank(values: Sequence[float], percent: float) -> float | None:
    """The nearest-rank percentile: the smallest value with at least `percent` % of the values at or
    below it (p90 of 1..10 is 9). None for no values."""
    if not values:
        return None
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent!r}")
    ordered = sorted(values)
    rank = math.ceil(percent / 100 * len(ordered))
    return ordered[max(rank, 1) - 1]


def median(values: Sequence[float]) -> float | None:
    """The middle value, or the mean of the two middle values (median of 10, 20, 30, 40 is 25)."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (None for no trials): 6 of 10 gives (0.313, 0.832)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"successes must be within 0..{trials}, got {successes}")
    share = successes / trials
    denominator = 1 + z * z / trials
    centre = (share + z * z / (2 * trials)) / denominator
    spread = z * math.sqrt(share * (1 - share) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - spread), min(1.0, centre + spread)


def summary(values: Sequence[float]) -> dict[str, float | int | None]:
    """n, median and p90 of durations, as a report shows them."""
    return {"n": len(values), "median": median(values), "p90": nearest_rank(values, 90)}
