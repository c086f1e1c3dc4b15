"""Risk–coverage picture: how precise the automatic answers are at each share of questions answered."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mailbot.classify.evaluate import Outcome
from mailbot.errors import ConfigError


def curve(outcomes: Sequence[Outcome]) -> tuple[list[float], list[float]]:
    """(coverage, answered precision) for every threshold, from the most confident case down."""
    answerable = [o for o in outcomes if not o.prediction.out_of_scope and not o.quarantined]
    order = sorted(answerable, key=lambda o: -o.prediction.confidence)
    in_scope = max(1, sum(1 for o in outcomes if o.case.expected is not None))
    coverage, precision = [], []
    right = answered_in_scope = 0
    for answered, outcome in enumerate(order, start=1):
        answered_in_scope += outcome.case.expected is not None
        right += outcome.prediction.article_id == outcome.case.expected
        coverage.append(answered_in_scope / in_scope)
        precision.append(right / answered)
    return coverage, precision


def write_plot(outcomes: Sequence[Outcome], summary: dict[str, object], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    coverage, precision = curve(outcomes)
    figure, axes = plt.subplots(figsize=(6, 4.5))
    axes.plot(coverage, precision, label="answered precision")
    point_x, point_y = summary.get("coverage"), summary.get("answered_precision")
    if isinstance(point_x, float) and isinstance(point_y, float):
        axes.scatter(
            [point_x],
            [point_y],
            color="red",
            zorder=3,
            label=f"operating point (threshold {summary.get('threshold')})",
        )
    axes.set_xlabel("coverage (share of in-scope cases answered)")
    axes.set_ylabel("answered precision")
    axes.set_xlim(0, 1)
    axes.set_ylim(max(0.0, float(np.min(precision)) - 0.02) if precision else 0, 1.005)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    axes.set_title(f"Risk–coverage, {summary.get('cases')} cases")
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
