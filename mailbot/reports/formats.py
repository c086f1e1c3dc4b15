"""Numbers, rates, durations and dates of a report as a German or English reader writes them.

The report dict (`mailbot.reports.report`) is the source of truth: these functions only *format* its
values ("87,7 %", "1.234", "12,5 h"), they never compute a figure. A rate whose value is None (its
denominator is 0) is "n/a", never "0 %". Babel does the locale rules (already a dependency for the due
times of mails), so German gets "87,7 %" with a non-breaking space and "1.234", English "87.7%" and
"1,234".
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from babel.dates import format_date, format_datetime, get_day_names
from babel.numbers import format_decimal, format_percent

NOT_AVAILABLE = "n/a"
_LOCALES = {"de": "de_DE", "en": "en_GB"}
WEEKDAY_KEYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # as mailbot.reports.backlog names them


def locale_of(lang: str) -> str:
    try:
        return _LOCALES[lang]
    except KeyError:
        raise ValueError(f"report language {lang!r}: use one of {', '.join(_LOCALES)}") from None


def count(value: Any, lang: str) -> str:
    """An integer count: de "1.234", en "1,234"."""
    if value is None:
        return NOT_AVAILABLE
    return format_decimal(int(value), locale=locale_of(lang))


def percent(value: Any, lang: str) -> str:
    """A share in [0, 1] with one decimal: de "87,7 %", en "87.7%"; None is "n/a"."""
    if value is None:
        return NOT_AVAILABLE
    pattern = "#,##0.0\u00a0%" if lang == "de" else "#,##0.0%"  # no line break inside "87,7 %"
    return format_percent(float(value), pattern, locale=locale_of(lang))


def decimal(value: Any, lang: str, places: int = 1) -> str:
    if value is None:
        return NOT_AVAILABLE
    pattern = "#,##0" + ("." + "0" * places if places else "")
    return format_decimal(float(value), pattern, locale=locale_of(lang))


def hours_from_minutes(minutes: Any, lang: str) -> str:
    """Business or calendar minutes as hours with one decimal: "12,5 h" (a unit, not a new figure)."""
    if minutes is None:
        return NOT_AVAILABLE
    return f"{decimal(float(minutes) / 60, lang)}\u00a0h"


def signed(value: float, lang: str, places: int = 1, unit: str = "") -> str:
    """A difference with its sign: "+3,2", "−1", "±0" (the typographic minus)."""
    if round(value, places) == 0:
        return f"±{decimal(0, lang, places)}{unit}"
    text = decimal(abs(value), lang, places)
    return f"{'+' if value > 0 else '−'}{text}{unit}"


def moment(text: str | None, lang: str, zone: tzinfo | None = None) -> str:
    """An ISO instant of the dict as local date and time: de "10.11.2026, 18:00", en "10 Nov 2026, 18:00"."""
    if not text:
        return "–"
    at = datetime.fromisoformat(text)
    if zone is not None:
        at = at.astimezone(zone)
    pattern = "dd.MM.yyyy, HH:mm" if lang == "de" else "d MMM yyyy, HH:mm"
    shown = format_datetime(at, pattern, locale=locale_of(lang))
    return shown if zone is not None else f"{shown} {at.tzname() or ''}".rstrip()


def day(value: str | date, lang: str, pattern: str | None = None) -> str:
    """A local day ("2026-11-05") as de "05.11.2026", en "5 Nov 2026"."""
    when = date.fromisoformat(value) if isinstance(value, str) else value
    pattern = pattern or ("dd.MM.yyyy" if lang == "de" else "d MMM yyyy")
    return format_date(when, pattern, locale=locale_of(lang))


def weekday(key: str, lang: str, width: str = "abbreviated") -> str:
    """The dict's weekday key ("Mon") in the reader's language ("Mo." / "Mon")."""
    names = get_day_names(width, locale=locale_of(lang))
    return str(names[WEEKDAY_KEYS.index(key)])


def period_title(period: dict[str, Any], lang: str) -> str:
    """The period as a title: a month "November 2026", a range "03.11.2026 – 20.11.2026"."""
    start = datetime.fromisoformat(str(period["start"]))
    label = str(period.get("label", ""))
    if len(label) == 7 and label[4] == "-":  # YYYY-MM
        return format_date(start.date(), "LLLL y", locale=locale_of(lang))
    return period_days(period, lang)


def period_days(period: dict[str, Any], lang: str) -> str:
    """First and last local day of [start, end) (end a midnight): "01.11.2026 – 30.11.2026"."""
    start = datetime.fromisoformat(str(period["start"]))
    end = datetime.fromisoformat(str(period["end"]))
    last = date.fromordinal(end.date().toordinal() - 1) if end.time() == datetime.min.time() else end.date()
    return f"{day(start.date(), lang)} – {day(last, lang)}"
