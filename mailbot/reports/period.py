"""A report's period in the client's own time zone: a month ("2026-11") or any [since, until) range.

The month boundary is the client's midnight, not UTC's: 2026-11-01T00:30+01:00 belongs to November for
a client in Berlin although UTC still says October (a yearly report that lost a month at the DST change
is a known helpdesk bug).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Period:
    """[start, end) as aware datetimes, with the label reports print."""

    label: str
    start: datetime
    end: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end

    def previous(self) -> Period:
        """The month before a month; the range of equal length before any other range."""
        zone = self.start.tzinfo
        if _MONTH.fullmatch(self.label) and isinstance(zone, ZoneInfo):
            first = self.start.date()
            before = date(first.year - 1, 12, 1) if first.month == 1 else date(first.year, first.month - 1, 1)
            return month(before.strftime("%Y-%m"), zone)
        length = self.end - self.start
        return Period(f"before {self.label}", self.start - length, self.start)


def month(text: str, zone: ZoneInfo) -> Period:
    """ "2026-11" in `zone`: from its first day's midnight to the next month's, local time."""
    found = _MONTH.fullmatch(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ValueError(f"period {text!r}: give a month as YYYY-MM, e.g. 2026-11")
    year, number = int(found[1]), int(found[2])
    following = (year + 1, 1) if number == 12 else (year, number + 1)
    start = datetime.combine(date(year, number, 1), time(), tzinfo=zone)
    end = datetime.combine(date(*following, 1), time(), tzinfo=zone)
    return Period(f"{year:04d}-{number:02d}", start, end)


def between(since: date, until: date, zone: ZoneInfo) -> Period:
    """The local days `since` up to and including `until`."""
    if until < since:
        raise ValueError(f"--until {until} is before --since {since}")
    start = datetime.combine(since, time(), tzinfo=zone)
    end = datetime.combine(date.fromordinal(until.toordinal() + 1), time(), tzinfo=zone)
    return Period(f"{since.isoformat()}..{until.isoformat()}", start, end)


def as_utc(at: datetime) -> datetime:
    return at.astimezone(UTC)
