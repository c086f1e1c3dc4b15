"""Precision–coverage picture: how precise the automatic answers are at each share of questions answered.

It shows one knowledge base on one set of cases: the curve (every possible threshold, most confident
case first), the chosen operating point, and the target precision the threshold was chosen for.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailbot.classify.evaluate import Outcome
from mailbot.errors import ConfigError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

# for an installed wheel as well as a checkout (`pip install -e '.[plot]'` only works in the latter)
INSTALL_HINT = "pip install 'mailbot[plot]' (or: pip install matplotlib)"


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


def require_matplotlib() -> Any:
    """matplotlib's pyplot (drawing to files only); a ConfigError with the install hint without it.

    Called before training, so that a missing library is reported at once, not after minutes.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ConfigError(f"--plot needs matplotlib, which is not installed: {INSTALL_HINT}") from None
    return plt


def precision_coverage_figure(outcomes: Sequence[Outcome], summary: dict[str, Any], title: str) -> Figure:
    plt = require_matplotlib()
    coverage, precision = curve(outcomes)
    figure, axes = plt.subplots(figsize=(6.4, 4.8))
    axes.plot(coverage, precision, label="answered precision at each threshold")
    target = summary.get("target_precision")
    if isinstance(target, float | int):
        axes.axhline(float(target), color="grey", linestyle="--", label=f"target precision {target:g}")
    point_x, point_y = summary.get("coverage"), summary.get("answered_precision")
    threshold = summary.get("threshold")
    if isinstance(point_x, float | int) and isinstance(point_y, float | int):
        shown = f"{threshold:.3f}" if isinstance(threshold, float | int) else "?"
        axes.scatter(
            [point_x], [point_y], color="red", zorder=3, label=f"operating point (threshold {shown})"
        )
    axes.set_xlabel("coverage (share of in-scope cases answered)")
    axes.set_ylabel("answered precision (share of answers that are right)")
    axes.set_xlim(0, 1)
    lowest = min([*precision, float(target) if isinstance(target, float | int) else 1.0], default=0.0)
    axes.set_ylim(max(0.0, lowest - 0.02), 1.005)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower left")
    axes.set_title(f"{title}\n{summary.get('cases')} cases, {summary.get('answered')} answered", fontsize=10)
    figure.tight_layout()
    return figure


def write_plot(outcomes: Sequence[Outcome], summary: dict[str, Any], path: Path, title: str) -> None:
    plt = require_matplotlib()
    figure = precision_coverage_figure(outcomes, summary, title)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def plot_title(kb_dir: Path, cases_path: Path) -> str:
    """What the picture shows: which knowledge base, measured on which cases."""
    return f"Precision–coverage of the knowledge base {kb_dir.resolve().name!r} on {cases_path.name}"
