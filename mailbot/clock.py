"""Time: an injectable clock and the business calendar.

Everything that depends on "now" takes a `Clock`, so tests and replays run at a fixed instant and no
test ever sleeps. Opening hours are wall-clock times in the calendar's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.config import WEEKDAYS, BusinessHoursSettings, parse_hours_range

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime, e.g. 2026-05-22T17:56+02:00")
    return lambda: at


@dataclass(frozen=True)
class BusinessCalendar:
    zone: ZoneInfo
    weekly: tuple[tuple[tuple[time, time], ...], ...]  # Monday first; empty tuple = closed that day
    closed: frozenset[date]
    always_open: bool = False

    @classmethod
    def from_settings(cls, settings: BusinessHoursSettings) -> BusinessCalendar:
        weekly = tuple(
            tuple(sorted(parse_hours_range(text) for text in getattr(settings, day))) for day in WEEKDAYS
        )
        closed = frozenset(date.fromisoformat(text) for text in settings.closed)
        return cls(ZoneInfo(settings.timezone), weekly, closed, settings.always_open)

    def _ranges(self, day: date) -> tuple[tuple[time, time], ...]:
        if day in self.closed:
            return ()
        return self.weekly[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        local = at.astimezone(self.zone)
        wall = local.time().replace(tzinfo=None)
        return any(start <= wall < end for start, end in self._ranges(local.date()))

    def next_opening(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the start of the next opening range (None: never opens)."""
        if self.is_open(at):
            return at
        local = at.astimezone(self.zone)
        for offset in range(0, 400):
            day = local.date() + timedelta(days=offset)
            for start, _end in self._ranges(day):
                opening = datetime.combine(day, start, tzinfo=self.zone)
                if opening > local:
                    return opening
        return None
