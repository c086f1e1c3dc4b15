"""What the report templates show, picked from the report dict: headline figures with the previous
period, and which sections have data.

Every number here is a value of the dict, looked up by its path; nothing is recomputed. The one thing
added is the *difference* to the previous period next to a headline figure (the reader's first
question: better or worse?), shown only when the dict has `previous`. A rate's arrow is drawn only when
both periods have at least `TREND_MIN_N` in the denominator (docs: "flag trends only at n >= 20"), so
a swing of two requests is not sold as a trend.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

TREND_MIN_N = 20
SEVERITIES = ("critical", "major", "minor", "cosmetic")
TARGETS = ("response", "resolution")


def pick(report: Mapping[str, Any] | None, path: str) -> Any:
    """The value at a dotted path ("automation.precision"), or None where the dict has none."""
    node: Any = report
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return None
        node = node[key]
    return node


@dataclass(frozen=True)
class Headline:
    """One figure of the summary. `kind`: "count", "rate" (a {part, whole, value} dict) or "minutes".
    `better`: "up", "down" or None (neither is good: the volume)."""

    key: str
    kind: str
    current: Any
    previous: Any
    better: str | None

    @property
    def value(self) -> Any:
        return self.current["value"] if self.kind == "rate" and self.current else self.current

    @property
    def previous_value(self) -> Any:
        if self.kind == "rate":
            return self.previous["value"] if isinstance(self.previous, Mapping) else None
        return self.previous

    @property
    def delta(self) -> float | None:
        """Current minus previous (percentage points for a rate), None without both."""
        now, before = self.value, self.previous_value
        if now is None or before is None:
            return None
        difference = float(now) - float(before)
        return difference * 100 if self.kind == "rate" else difference

    @property
    def trend(self) -> str | None:
        """ "up", "down" or "flat" when the difference may be read as a trend, else None."""
        delta = self.delta
        if delta is None:
            return None
        if self.kind == "rate" and min(self.current["whole"], self.previous["whole"]) < TREND_MIN_N:
            return None
        if abs(delta) < 0.05:
            return "flat"
        return "up" if delta > 0 else "down"

    @property
    def verdict(self) -> str | None:
        """ "good", "bad" or None: whether the trend is the wanted direction."""
        trend = self.trend
        if trend in (None, "flat") or self.better is None:
            return None
        return "good" if trend == self.better else "bad"


HEADLINES = (
    ("requests", "count", "volume.requests", None),
    ("automation_rate", "rate", "automation.automation_rate", "up"),
    ("precision", "rate", "automation.precision", "up"),
    ("first_response", "minutes", "response_times.first_response.all.business_minutes.median", "down"),
    ("open", "count", "backlog.open", "down"),
)


def headlines(report: Mapping[str, Any]) -> list[Headline]:
    previous = report.get("previous")
    return [
        Headline(key, kind, pick(report, path), pick(previous, path) if previous else None, better)
        for key, kind, path, better in HEADLINES
    ]


def has_data(report: Mapping[str, Any]) -> dict[str, bool]:
    """Per section: whether it has anything to show (else the templates say "keine Daten" / "no data")."""
    volume = report.get("volume") or {}
    automation = report.get("automation") or {}
    times = [
        pick(report, f"{group}.{figure}.all.business_minutes.n") or 0
        for group, figure in (
            ("response_times", "first_response"),
            ("resolution_times", "first_resolution"),
            ("resolution_times", "full_resolution"),
        )
    ]
    sla_n = [
        pick(report, f"sla.by_severity.{severity}.{target}.compliance.whole") or 0
        for severity in SEVERITIES
        for target in TARGETS
    ]
    backlog = report.get("backlog") or {}
    return {
        "volume": bool(volume.get("requests") or volume.get("follow_ups") or volume.get("by_outcome")),
        "automation": bool(automation.get("requests")),
        "articles": bool(report.get("articles")),
        "times": any(times) or bool(pick(report, "response_times.first_automatic_reply_minutes.n")),
        "sla": any(sla_n),
        "backlog": bool(backlog.get("open") or pick(backlog, "flow.in") or pick(backlog, "flow.solved")),
        "reopens": bool(pick(report, "reopens.solved")),
    }


def time_rows(report: Mapping[str, Any], path: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(group, business-minute summary) of a time figure: "all" first, then the classes as they come."""
    groups = pick(report, path) or {}
    order = ["all", *SEVERITIES, "none"]
    names = sorted(groups, key=lambda name: order.index(name) if name in order else len(order))
    return [(name, groups[name]["business_minutes"]) for name in names]
