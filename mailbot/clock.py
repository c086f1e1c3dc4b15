"""Time: an injectable clock and the business calendar of the service contract.

Everything that depends on "now" takes a `Clock`, so tests and replays run at a fixed instant and no
test ever sleeps. Opening hours are wall-clock times in the calendar's time zone; business time (SLA
budgets) is real elapsed time, so an open day on which DST changes lasts 23 or 25 hours.

Wall times made odd by a DST change are read like this (they never raise):
- a time that does not exist (spring forward, e.g. 02:30 in Berlin on 2026-03-29) means the instant
  the clocks jump, the first instant that shows a later time: "02:00-03:00" is empty that day and
  "02:30-04:00" opens at 03:00 CEST;
- a time that exists twice (fall back) means its first occurrence (fold=0, Python's default):
  "02:00-03:00" on 2026-10-25 lasts two real hours, "01:00-02:30" ends at the first 02:30.

Every datetime returned is aware and in the calendar's zone. Aware datetimes that share a ZoneInfo
compare and subtract by wall clock, so this module converts to UTC before it measures anything, and
callers that subtract results should do the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from holidays import HolidayBase, country_holidays

from mailbot.config import WEEKDAYS, BusinessHoursSettings, parse_hours_range

Clock = Callable[[], datetime]
Interval = tuple[datetime, datetime]  # [start, end) of open time, both aware

_HORIZON_DAYS = 3 * 366  # a calendar without any opening this long after a point in time never opens
_FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)  # the end of "always open", far enough for any budget
_MIDNIGHT = time(0)


def system_clock() -> datetime:
    return datetime.now(UTC)


def fixed_clock(at: datetime) -> Clock:
    if at.tzinfo is None:
        raise ValueError("a fixed clock needs an aware datetime, e.g. 2026-05-22T17:56+02:00")
    return lambda: at


def _hours(begin: time, end: time) -> float:
    """Length of a wall-clock range of one day; `time.max` is '24:00'."""
    minutes = (24 * 60 if end == time.max else end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)
    return minutes / 60


def _utc(at: datetime) -> datetime:
    """The instant as UTC; a naive datetime is refused because its instant is a guess."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"the business calendar needs aware datetimes, got naive {at.isoformat()}")
    return at.astimezone(UTC)


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours per weekday, company closures and public holidays in one time zone."""

    zone: ZoneInfo
    weekly: tuple[tuple[tuple[time, time], ...], ...]  # Monday first; empty tuple = closed that day
    closed: frozenset[date]
    always_open: bool = False
    holiday_country: str | None = None  # e.g. "DE"; None: no public holidays
    holiday_subdivision: str | None = None  # e.g. "BY"
    # built from the two fields above; it adds years lazily on `day in ...`, which is why it is no field
    # of equality or hash
    _holidays: HolidayBase | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.holiday_country is not None:
            table = country_holidays(self.holiday_country, subdiv=self.holiday_subdivision)
            object.__setattr__(self, "_holidays", table)

    @classmethod
    def from_settings(cls, settings: BusinessHoursSettings) -> BusinessCalendar:
        weekly = tuple(
            tuple(sorted(parse_hours_range(text) for text in getattr(settings, day))) for day in WEEKDAYS
        )
        closed = frozenset(date.fromisoformat(text) for text in settings.closed)
        country = settings.holidays.country if settings.holidays is not None else None
        subdivision = settings.holidays.subdivision if settings.holidays is not None else None
        return cls(ZoneInfo(settings.timezone), weekly, closed, settings.always_open, country, subdivision)

    def around_the_clock(self) -> BusinessCalendar:
        """Always open, in the same zone: the calendar of SLA classes "handled without delay" (24/7),
        which counts nights, weekends and holidays, while due times still read in local time."""
        return BusinessCalendar(self.zone, ((),) * len(WEEKDAYS), frozenset(), always_open=True)

    # --- days -------------------------------------------------------------------------------------

    def holiday_name(self, day: date) -> str | None:
        """The public holiday on `day` (for messages like "closed for Whit Monday"), else None."""
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def is_closed_day(self, day: date) -> bool:
        """A company closure or a public holiday: closed all day whatever the weekday says."""
        return day in self.closed or self.holiday_name(day) is not None

    def _instant(self, day: date, wall: time) -> datetime:
        """The UTC instant of a wall time on `day` ('24:00' = next midnight); DST rules: module doc."""
        if wall == time.max:
            day, wall = day + timedelta(days=1), _MIDNIGHT
        local = datetime.combine(day, wall, tzinfo=self.zone)  # fold=0: first occurrence if ambiguous
        instant = local.astimezone(UTC)
        if instant.astimezone(self.zone).replace(tzinfo=None) == local.replace(tzinfo=None):
            return instant
        # in a spring-forward gap: fold=1 reads it with the new offset (before the jump), fold=0 with
        # the old one (after the jump); bisect for the jump itself, to the microsecond
        before, after = local.replace(fold=1).astimezone(UTC), instant
        old_offset = before.astimezone(self.zone).utcoffset()
        while after - before > timedelta(microseconds=1):
            middle = before + (after - before) // 2
            if middle.astimezone(self.zone).utcoffset() == old_offset:
                before = middle
            else:
                after = middle
        return after

    def _day_intervals(self, day: date) -> list[Interval]:
        """The open intervals of one calendar day in UTC, sorted, merged, none empty."""
        if self.is_closed_day(day):
            return []
        found = sorted(
            (self._instant(day, start), self._instant(day, end)) for start, end in self.weekly[day.weekday()]
        )
        merged: list[Interval] = []
        for start, end in found:
            if end <= start:
                continue  # a range inside a spring-forward gap
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        return merged

    # --- intervals --------------------------------------------------------------------------------

    def _intervals(self, start: datetime, end: datetime | None) -> Iterator[Interval]:
        """Maximal open intervals within [start, end) in UTC, in order; `end` None: without end.

        Intervals that touch (a day open until 24:00 and the next from 00:00) come out as one.
        Without an end, raises ValueError when nothing opens for _HORIZON_DAYS days, instead of
        searching forever.
        """
        if self.always_open:
            yield start, _FAR_FUTURE if end is None else end
            return
        day = start.astimezone(self.zone).date() - timedelta(days=1)  # its hours may reach past midnight
        last_day = None if end is None else end.astimezone(self.zone).date() + timedelta(days=1)
        pending: Interval | None = None
        idle_days = 0
        while last_day is None or day <= last_day:
            found = self._day_intervals(day)
            idle_days = 0 if found else idle_days + 1
            if end is None and idle_days > _HORIZON_DAYS:
                raise ValueError(
                    f"the business calendar never opens: no opening hours in the {_HORIZON_DAYS} days "
                    f"before {day.isoformat()} (every day closed by weekday, closure or holiday?)"
                )
            for opens, closes in found:
                opens, closes = max(opens, start), closes if end is None else min(closes, end)
                if closes <= opens:
                    continue
                if pending is not None and opens <= pending[1]:
                    pending = (pending[0], max(pending[1], closes))
                else:
                    if pending is not None:
                        yield pending
                    pending = (opens, closes)
            day += timedelta(days=1)
            if pending is not None and pending[1] < self._instant(day, _MIDNIGHT):
                yield pending  # the next day starts later, so nothing can extend it
                pending = None
        if pending is not None:
            yield pending

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[Interval]:
        """The open intervals within [start, end), clipped to it, in the calendar's zone."""
        for opens, closes in self._intervals(_utc(start), _utc(end)):
            yield opens.astimezone(self.zone), closes.astimezone(self.zone)

    # --- questions --------------------------------------------------------------------------------

    def is_business_day(self, day: date) -> bool:
        """The calendar opens on `day` (a local date) at all."""
        return self.always_open or bool(self._day_intervals(day))

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """The same local wall time `days` business days after `start` (a window such as "three
        business days after the answer"): Friday 10:00 + 3 is Wednesday 10:00, and a holiday in
        between adds a day. Raises ValueError when the calendar has no such days within a year."""
        local = start.astimezone(self.zone)
        day, counted = local.date(), 0
        limit = day + timedelta(days=366 + 7 * days)
        while counted < days:
            day += timedelta(days=1)
            if day > limit:
                raise ValueError(f"the business calendar has no {days} business days after {local.date()}")
            counted += self.is_business_day(day)
        return datetime.combine(day, local.time(), tzinfo=self.zone)

    def standard_day_hours(self) -> float:
        """The hours of the longest opening of a weekday (24 around the clock): one "business day"
        when an age in business hours is told in days."""
        if self.always_open:
            return 24.0
        longest = max((sum(_hours(begin, end) for begin, end in ranges) for ranges in self.weekly), default=0)
        return longest or 24.0

    def is_open(self, at: datetime) -> bool:
        if self.always_open:
            return True
        instant = _utc(at)
        local_day = instant.astimezone(self.zone).date()
        return any(
            opens <= instant < closes
            for offset in (-1, 0, 1)  # a neighbour day's hours may cover the instant around DST
            for opens, closes in self._day_intervals(local_day + timedelta(days=offset))
        )

    def _first_opening(self, at: datetime) -> datetime:
        """`at` when open, else the next opening, in UTC; ValueError when the calendar never opens."""
        return next(self._intervals(_utc(at), None))[0]

    def next_opening(self, at: datetime) -> datetime | None:
        """`at` itself when open, else the start of the next opening range (None: never opens)."""
        try:
            return self._first_opening(at).astimezone(self.zone)
        except ValueError:
            return None

    def sla_start(self, received: datetime) -> datetime:
        """When an SLA clock starts for mail received at `received`: then if open, else at the next opening.

        Raises ValueError when the calendar never opens.
        """
        return self._first_opening(received).astimezone(self.zone)

    def add_business_hours(self, start: datetime, hours: float) -> datetime:
        """The instant at which `hours` of business time have passed since `start`.

        Counting begins at the next opening when `start` is closed. A budget that runs out exactly at
        the end of a range returns that end, not the next opening, so "due 17:00" reads as such; hence
        `hours` = 0 returns `sla_start(start)`. Raises ValueError for a negative budget or a calendar
        that never opens.
        """
        if not math.isfinite(hours) or hours < 0:
            raise ValueError(f"business hours to add must be a finite number >= 0, got {hours!r}")
        remaining = timedelta(hours=hours)
        for opens, closes in self._intervals(_utc(start), None):
            if remaining <= closes - opens:
                return (opens + remaining).astimezone(self.zone)
            remaining -= closes - opens
        raise AssertionError("unreachable: _intervals without an end never stops")  # pragma: no cover

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Business time in hours from `start` to `end` (0 when `end` is not after `start`)."""
        begin, finish = _utc(start), _utc(end)
        if finish <= begin:
            return 0.0
        total = sum((closes - opens for opens, closes in self._intervals(begin, finish)), timedelta())
        return total / timedelta(hours=1)
