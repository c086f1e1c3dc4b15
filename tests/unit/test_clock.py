"""The business calendar in its time zone: open, closed, closures, next opening across a weekend."""

from datetime import datetime
from zoneinfo import ZoneInfo

from mailbot.clock import BusinessCalendar
from mailbot.config import BusinessHoursSettings

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar.from_settings(
    BusinessHoursSettings(
        timezone="Europe/Berlin",
        monday=["08:00-12:00", "13:00-17:00"],
        friday=["08:00-12:00"],
        closed=["2026-12-07"],
    )
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def test_open_within_a_range_and_closed_at_lunch():
    assert CALENDAR.is_open(at("2026-11-30T08:00"))
    assert not CALENDAR.is_open(at("2026-11-30T12:30"))
    assert not CALENDAR.is_open(at("2026-11-30T17:00"))


def test_time_zone_is_respected():
    utc_morning = datetime.fromisoformat("2026-11-30T07:30+00:00")  # 08:30 in Berlin
    assert CALENDAR.is_open(utc_morning)


def test_next_opening_skips_weekend_and_closure():
    assert CALENDAR.next_opening(at("2026-11-27T12:00")) == at("2026-11-30T08:00")  # Friday noon -> Monday
    assert CALENDAR.next_opening(at("2026-12-04T13:00")) == at("2026-12-11T08:00")  # Monday 7 Dec closed
    assert CALENDAR.next_opening(at("2026-11-30T12:10")) == at("2026-11-30T13:00")


def test_always_open():
    calendar = BusinessCalendar.from_settings(BusinessHoursSettings(always_open=True))
    assert calendar.is_open(at("2026-11-29T03:00"))
