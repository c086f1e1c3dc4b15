"""The report's charts as PNG bytes, drawn from the report dict with matplotlib (Agg, no display).

Four pictures: requests per day, arrivals by weekday and hour, what became of the automatic answers,
and SLA compliance per severity class. Each is about 600 px wide (4 in at 150 dpi), the width of a
mail, and has an alt text; the numbers behind them are in the tables above them, so a mail read with
images blocked loses nothing. A chart with nothing to show is left out. The PNG carries no time stamp
or version, so the same dict gives the same bytes (the mail is composed deterministically).

matplotlib is imported when a chart is drawn, not when mailbot starts: every CLI command would pay
for it otherwise.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from mailbot.reports.formats import WEEKDAY_KEYS, day, percent, period_title, weekday
from mailbot.reports.view import SEVERITIES, TARGETS, pick

if TYPE_CHECKING:
    from matplotlib.figure import Figure

DPI = 150
WIDTH_IN = 4.0  # 600 px at DPI
ACCENT = "#2f6feb"
COLOURS = {"confirmed": "#1a7f37", "assumed": "#57ab5a", "failed": "#cf222e", "pending": "#bf8700"}
GREY = "#8c959f"

LABELS: dict[str, dict[str, str]] = {
    "de": {
        "per_day": "Anfragen pro Tag",
        "per_day_alt": "Säulendiagramm: Anfragen pro Tag, {period}; die Zahlen stehen in der Tabelle "
        "Volumen.",
        "heatmap": "Anfragen nach Wochentag und Uhrzeit",
        "heatmap_alt": "Wärmebild: Anfragen nach Wochentag (Zeilen) und Stunde der Ortszeit (Spalten), "
        "{period}.",
        "hour": "Uhrzeit (Ortszeit)",
        "requests": "Anfragen",
        "outcomes": "Ergebnis der automatischen Antworten",
        "outcomes_alt": "Balkendiagramm: bestätigt {confirmed}, angenommen {assumed}, gescheitert {failed}, "
        "offen {pending}, an den 2nd Level {escalated}.",
        "confirmed": "bestätigt",
        "assumed": "angenommen",
        "failed": "gescheitert",
        "pending": "offen",
        "escalated": "2nd Level",
        "sla": "SLA-Einhaltung je Schweregrad",
        "sla_alt": "Balkendiagramm: Anteil der eingehaltenen Reaktions- und Lösungsziele je Schweregrad; "
        "die Zahlen stehen in der Tabelle SLA.",
        "response": "Reaktion",
        "resolution": "Lösung",
        "critical": "kritisch",
        "major": "schwerwiegend",
        "minor": "leicht",
        "cosmetic": "Darstellung",
        "n/a": "n/a",
    },
    "en": {
        "per_day": "Requests per day",
        "per_day_alt": "Column chart: requests per day, {period}; the numbers are in the volume table.",
        "heatmap": "Requests by weekday and hour",
        "heatmap_alt": "Heat map: requests by weekday (rows) and local hour (columns), {period}.",
        "hour": "hour (local time)",
        "requests": "requests",
        "outcomes": "What became of the automatic answers",
        "outcomes_alt": "Bar chart: confirmed {confirmed}, assumed {assumed}, failed {failed}, "
        "pending {pending}, escalated {escalated}.",
        "confirmed": "confirmed",
        "assumed": "assumed",
        "failed": "failed",
        "pending": "pending",
        "escalated": "escalated",
        "sla": "SLA compliance per severity",
        "sla_alt": "Bar chart: share of response and resolution targets met per severity class; the "
        "numbers are in the SLA table.",
        "response": "response",
        "resolution": "resolution",
        "critical": "critical",
        "major": "major",
        "minor": "minor",
        "cosmetic": "cosmetic",
        "n/a": "n/a",
    },
}


@dataclass(frozen=True)
class Chart:
    name: str  # also the file name stem and the cid's first part
    title: str
    alt: str
    png: bytes
    width: int
    height: int


def _pyplot_free_figure(height_in: float) -> Figure:
    """A figure on the Agg canvas, outside pyplot's global state (safe in a worker's threads)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_IN, height_in), dpi=DPI)
    FigureCanvasAgg(figure)
    return figure


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def _style(axes: Any) -> None:
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=7)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)


def _chart(name: str, title: str, alt: str, figure: Figure) -> Chart:
    figure.tight_layout(pad=0.6)
    width, height = (round(v * DPI) for v in figure.get_size_inches())
    return Chart(name, title, alt, _png(figure), width, height)


def per_day(report: Mapping[str, Any], lang: str) -> Chart | None:
    words = LABELS[lang]
    counts: Mapping[str, int] = pick(report, "volume.by_day") or {}
    days = [row["day"] for row in pick(report, "backlog.daily") or []] or sorted(counts)
    if not any(counts.values()):
        return None
    figure = _pyplot_free_figure(2.0)
    axes = figure.add_subplot()
    values = [counts.get(d, 0) for d in days]
    weekend = [date.fromisoformat(d).weekday() >= 5 for d in days]
    axes.bar(range(len(days)), values, color=[GREY if w else ACCENT for w in weekend], width=0.8)
    step = max(1, -(-len(days) // 7))
    ticks = list(range(0, len(days), step))
    axes.set_xticks(ticks, [day(days[i], lang, "d.M." if lang == "de" else "d MMM") for i in ticks])
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_ylabel(words["requests"], fontsize=7)
    axes.set_title(words["per_day"], fontsize=9)
    _style(axes)
    period = period_title(report["period"], lang)
    return _chart("per_day", words["per_day"], words["per_day_alt"].format(period=period), figure)


def heatmap(report: Mapping[str, Any], lang: str) -> Chart | None:
    words = LABELS[lang]
    grid: Mapping[str, list[int]] = pick(report, "volume.weekday_hour") or {}
    rows = [list(grid.get(key, [0] * 24)) for key in WEEKDAY_KEYS]
    if not any(any(row) for row in rows):
        return None
    figure = _pyplot_free_figure(2.2)
    axes = figure.add_subplot()
    image = axes.imshow(rows, aspect="auto", cmap="Blues", vmin=0, interpolation="nearest")
    axes.set_yticks(range(7), [weekday(key, lang) for key in WEEKDAY_KEYS])
    axes.set_xticks(range(0, 24, 2), [str(h) for h in range(0, 24, 2)])
    axes.set_xlabel(words["hour"], fontsize=7)
    axes.tick_params(labelsize=7, length=0)
    axes.set_title(words["heatmap"], fontsize=9)
    bar = figure.colorbar(image, ax=axes, pad=0.02)
    bar.ax.tick_params(labelsize=6)
    bar.ax.yaxis.get_major_locator().set_params(integer=True)
    period = period_title(report["period"], lang)
    return _chart("heatmap", words["heatmap"], words["heatmap_alt"].format(period=period), figure)


def outcomes(report: Mapping[str, Any], lang: str) -> Chart | None:
    words = LABELS[lang]
    answers: Mapping[str, int] = pick(report, "automation.answers") or {}
    escalated = pick(report, "automation.outcomes.escalated") or 0
    keys = ["confirmed", "assumed", "failed", "pending"]
    values = [int(answers.get(k, 0)) for k in keys] + [int(escalated)]
    if not any(values):
        return None
    figure = _pyplot_free_figure(1.9)
    axes = figure.add_subplot()
    names = [words[k] for k in [*keys, "escalated"]]
    colours = [COLOURS[k] for k in keys] + [GREY]
    positions = list(range(len(values)))[::-1]
    axes.barh(positions, values, color=colours, height=0.7)
    axes.set_yticks(positions, names)
    for position, value in zip(positions, values, strict=True):
        axes.text(value, position, f" {value}", va="center", fontsize=7)
    axes.set_xlim(0, max(values) * 1.15)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_title(words["outcomes"], fontsize=9)
    _style(axes)
    axes.grid(axis="y", visible=False)
    axes.grid(axis="x", alpha=0.3)
    alt = words["outcomes_alt"].format(**dict(zip([*keys, "escalated"], values, strict=True)))
    return _chart("outcomes", words["outcomes"], alt, figure)


def sla(report: Mapping[str, Any], lang: str) -> Chart | None:
    words = LABELS[lang]
    table = pick(report, "sla.by_severity") or {}
    shown = [s for s in SEVERITIES if any(pick(table, f"{s}.{t}.compliance.whole") for t in TARGETS)]
    if not shown:
        return None
    figure = _pyplot_free_figure(2.2)
    axes = figure.add_subplot()
    width = 0.38
    for offset, target, colour in ((-width / 2, "response", ACCENT), (width / 2, "resolution", "#8250df")):
        for index, severity in enumerate(shown):
            ratio = pick(table, f"{severity}.{target}.compliance") or {}
            value = ratio.get("value")
            x = index + offset
            label = words[target] if index == 0 else None
            if value is None:
                axes.bar(x, 0, width, color=colour, label=label)
                axes.text(x, 2, words["n/a"], ha="center", fontsize=6, color=GREY)
                continue
            axes.bar(x, value * 100, width, color=colour, label=label)
            text = f"{percent(value, lang)}\nn={ratio.get('whole')}"
            axes.text(x, value * 100 + 2, text, ha="center", fontsize=5.5)
    axes.set_xticks(range(len(shown)), [words[s] for s in shown])
    axes.set_ylim(0, 125)
    axes.set_yticks([0, 25, 50, 75, 100], ["0", "25", "50", "75", "100 %" if lang == "de" else "100%"])
    axes.legend(fontsize=6, loc="upper right", ncols=2, frameon=False)
    axes.set_title(words["sla"], fontsize=9)
    _style(axes)
    return _chart("sla", words["sla"], words["sla_alt"], figure)


CHARTS = (per_day, heatmap, outcomes, sla)


def draw_charts(report: Mapping[str, Any], lang: str) -> dict[str, Chart]:
    """Every chart that has something to show, by name (in reading order)."""
    if lang not in LABELS:
        raise ValueError(f"report language {lang!r}: use one of {', '.join(LABELS)}")
    found = (make(report, lang) for make in CHARTS)
    return {chart.name: chart for chart in found if chart is not None}
