"""The report for people: an HTML page (and the text and subject of the report mail) in German or
English, rendered from the report dict alone.

The dict (`mailbot.reports.report`, = report.json) is the source of truth: every number on the page is
one of its values, formatted (`mailbot.reports.formats`); nothing is recomputed here, except the
difference to the previous period next to a headline figure (`mailbot.reports.view`).

Templates: ``report/report.<lang>.{html,txt,subject}.j2`` and their partials in the shipped
``templates/`` folder, found along the same search path as the mail templates (a client's override
folder, `[templates] path`, then the shipped set, which is always last so an old copy of the mail
templates without ``report/`` still works), in the same sandboxed Jinja2 environment as the mails
(`mailbot.reply.render`): HTML autoescaped, StrictUndefined. Article ids and ticket references are
data, escaped like any customer text.

Images: the page gets each chart as a mapping name -> `Image`; the file embeds them as ``data:`` PNGs
(`report_page`), the mail as ``cid:`` parts (`mailbot.reports.render_mail`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.reply.branding import DEFAULT_ACCENT, accent_colour, text_on
from mailbot.reply.render import template_environment
from mailbot.reply.subject import one_line
from mailbot.reports import formats
from mailbot.reports.charts import Chart, draw_charts
from mailbot.reports.view import SEVERITIES, TARGETS, Headline, has_data, headlines, pick, time_rows

LANGUAGES = ("de", "en")
SHOWN_ROWS = 15  # breaches and near misses listed (worst first); all of them are in report.json
_NUMBER = re.compile(r"[0-9+\u2212\u00b1]|n/a$|\u2013$|$")  # a cell that reads as a number (or none)


@dataclass(frozen=True)
class Image:
    """A chart as the page shows it: `src` is a data: URI (file) or cid: URL (mail)."""

    src: str
    alt: str
    title: str
    width: int
    height: int


def report_search_path(directories: Sequence[Path] = ()) -> list[Path]:
    """The mail templates' search path with the shipped set last (see the module docstring)."""
    path = [Path(d) for d in directories]
    if not any(d.resolve() == SHIPPED_TEMPLATES.resolve() for d in path):
        path.append(SHIPPED_TEMPLATES)
    return path


def _lang(context: Context) -> str:
    return str(context["lang"])


@pass_context
def _count(context: Context, value: Any) -> str:
    return formats.count(value, _lang(context))


@pass_context
def _pct(context: Context, value: Any) -> str:
    return formats.percent(value, _lang(context))


@pass_context
def _rate(context: Context, ratio: Any) -> str:
    """A {part, whole, value} dict of the report as its percentage ("n/a" for value None)."""
    return formats.percent(ratio.get("value") if isinstance(ratio, Mapping) else None, _lang(context))


@pass_context
def _hours(context: Context, minutes: Any) -> str:
    return formats.hours_from_minutes(minutes, _lang(context))


@pass_context
def _minutes(context: Context, value: Any) -> str:
    return formats.decimal(value, _lang(context))


@pass_context
def _decimal(context: Context, value: Any, places: int = 1) -> str:
    return formats.decimal(value, _lang(context), places)


@pass_context
def _day(context: Context, value: Any) -> str:
    return formats.day(value, _lang(context))


@pass_context
def _when(context: Context, text: Any) -> str:
    return formats.moment(text, _lang(context), context.get("zone"))


@pass_context
def _weekday(context: Context, key: str) -> str:
    return formats.weekday(key, _lang(context))


@pass_context
def _value(context: Context, headline: Headline, previous: bool = False) -> str:
    """A headline figure (or its previous period's) as shown on a card."""
    lang = _lang(context)
    value = headline.previous_value if previous else headline.value
    if headline.kind == "rate":
        return formats.percent(value, lang)
    if headline.kind == "minutes":
        return formats.hours_from_minutes(value, lang)
    return formats.count(value, lang)


@pass_context
def _delta(context: Context, headline: Headline, points: str = "pp") -> str:
    """The difference to the previous period: "+3,2 Pp.", "−4", "+1,5 h"."""
    lang, delta = _lang(context), headline.delta
    if delta is None:
        return ""
    if headline.kind == "rate":
        return formats.signed(delta, lang, 1, f"\u00a0{points}")
    if headline.kind == "minutes":
        return formats.signed(delta / 60, lang, 1, "\u00a0h")
    return formats.signed(delta, lang, 0)


def text_table(rows: Sequence[Sequence[object]]) -> str:
    """Rows (the first is the header) as a plain-text table; columns of numbers right-aligned."""
    cells = [[str(cell) for cell in row] for row in rows]
    if not cells:
        return ""
    columns = range(len(cells[0]))
    widths = [max(len(row[i]) for row in cells) for i in columns]
    right = [all(_NUMBER.match(row[i]) for row in cells[1:]) and len(cells) > 1 for i in columns]
    lines = []
    for number, row in enumerate(cells):
        parts = [cell.rjust(widths[i]) if right[i] else cell.ljust(widths[i]) for i, cell in enumerate(row)]
        lines.append("  ".join(parts).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def _report_environment(directories: Sequence[Path], *, html: bool) -> ImmutableSandboxedEnvironment:
    env = template_environment(FileSystemLoader(report_search_path(directories), encoding="utf-8"), html=html)
    env.filters.update(
        count=_count,
        pct=_pct,
        rate=_rate,
        hours=_hours,
        minutes=_minutes,
        when=_when,
        day=_day,
        decimal=_decimal,
        weekday=_weekday,
        value=_value,
        delta=_delta,
        table=text_table,
    )
    return env


def _context(
    report: Mapping[str, Any], lang: str, client_name: str, zone: tzinfo | None
) -> dict[str, object]:
    if lang not in LANGUAGES:
        raise ValueError(f"report language {lang!r}: use one of {', '.join(LANGUAGES)}")
    by_severity = pick(report, "sla.by_severity") or {}
    sla_rows = [
        (severity, by_severity[severity])
        for severity in SEVERITIES
        if severity in by_severity
        and any(pick(by_severity, f"{severity}.{t}.compliance.whole") for t in TARGETS)
    ]
    label = str(pick(report, "period.label") or "")
    return {
        "r": report,
        "lang": lang,
        "zone": zone,
        "client_name": one_line(client_name),
        "period_title": formats.period_title(report["period"], lang),
        "period_days": formats.period_days(report["period"], lang),
        "period_is_month": len(label) == 7 and label[4:5] == "-",
        "has_previous": isinstance(report.get("previous"), Mapping),
        "headlines": headlines(report),
        "data": has_data(report),
        "sla_rows": sla_rows,
        "shown_rows": SHOWN_ROWS,
        "first_response_rows": time_rows(report, "response_times.first_response"),
        "first_resolution_rows": time_rows(report, "resolution_times.first_resolution"),
        "full_resolution_rows": time_rows(report, "resolution_times.full_resolution"),
    }


def render_report_html(
    report: Mapping[str, Any],
    lang: str,
    *,
    client_name: str,
    images: Mapping[str, Image],
    zone: tzinfo | None = None,
    accent: str = DEFAULT_ACCENT,
    for_mail: bool = False,
    directories: Sequence[Path] = (),
) -> str:
    """The report page. `zone`: the client's (times are shown in it; UTC with its name without).
    `accent`: the `[branding] accent_color`. `for_mail`: mention the attachments."""
    accent = accent_colour(accent)
    values = _context(report, lang, client_name, zone) | {
        "images": dict(images),
        "accent": accent,
        "on_accent": text_on(accent),
        "for_mail": for_mail,
    }
    env = _report_environment(directories, html=True)
    return env.get_template(f"report/report.{lang}.html.j2").render(values)


def render_report_text(
    report: Mapping[str, Any],
    lang: str,
    *,
    client_name: str,
    zone: tzinfo | None = None,
    directories: Sequence[Path] = (),
) -> str:
    """The report as plain text: the headline figures and the key tables (the mail's text part)."""
    env = _report_environment(directories, html=False)
    return env.get_template(f"report/report.{lang}.txt.j2").render(_context(report, lang, client_name, zone))


def render_report_subject(
    report: Mapping[str, Any], lang: str, *, client_name: str, directories: Sequence[Path] = ()
) -> str:
    """ "Support-Bericht November 2026 – Aktivo" / "Support report November 2026 – Aktivo"."""
    env = _report_environment(directories, html=False)
    template = env.get_template(f"report/report.{lang}.subject.j2")
    return one_line(template.render(_context(report, lang, client_name, None)))


def data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def file_images(charts: Mapping[str, Chart]) -> dict[str, Image]:
    return {name: Image(data_uri(c.png), c.alt, c.title, c.width, c.height) for name, c in charts.items()}


def report_page(
    report: Mapping[str, Any],
    lang: str,
    *,
    client_name: str,
    zone: tzinfo | None = None,
    accent: str = DEFAULT_ACCENT,
    directories: Sequence[Path] = (),
) -> str:
    """report.html: the page with its charts as data: PNGs, one file that opens in any browser."""
    images = file_images(draw_charts(report, lang))
    return render_report_html(
        report,
        lang,
        client_name=client_name,
        images=images,
        zone=zone,
        accent=accent,
        directories=directories,
    )
