"""The business calendar: open/closed, closures, holidays, business-time arithmetic across DST."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.clock import BusinessCalendar
from mailbot.config import WEEKDAYS, BusinessHoursSettings, HolidaySettings

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


# --- public holidays, closures, business-time arithmetic ---------------------------------------------

WORKDAY = ["08:00-12:00", "13:00-17:00"]
BAVARIA = BusinessCalendar.from_settings(
    BusinessHoursSettings(
        monday=WORKDAY,
        tuesday=WORKDAY,
        wednesday=WORKDAY,
        thursday=WORKDAY,
        friday=WORKDAY,
        holidays=HolidaySettings(country="DE", subdivision="BY"),
        closed=["2026-12-24"],
    )
)
SUNDAY_ROUND_THE_CLOCK = BusinessCalendar.from_settings(BusinessHoursSettings(sunday=["00:00-24:00"]))


def iso(value: datetime) -> str:
    """Compare by ISO text: it shows the offset, so the two 02:30 of a fall-back night differ."""
    return value.isoformat()


def utc(value: datetime) -> datetime:
    """Order and equality by instant: datetimes sharing a ZoneInfo compare by wall clock, ignoring fold."""
    return value.astimezone(UTC)


def test_bavarian_holidays_are_closed_and_named():
    assert BAVARIA.holiday_name(date(2026, 1, 6))  # Epiphany, a holiday in Bavaria only
    assert BAVARIA.holiday_name(date(2026, 5, 25))  # Whit Monday
    assert BAVARIA.holiday_name(date(2026, 5, 26)) is None
    assert not BAVARIA.is_open(at("2026-01-06T09:00"))
    assert BAVARIA.is_open(at("2026-01-07T09:00"))
    assert BAVARIA.next_opening(at("2026-05-22T17:55")) == at("2026-05-26T08:00")


def test_holidays_depend_on_the_subdivision():
    berlin = BusinessCalendar.from_settings(
        BusinessHoursSettings(monday=WORKDAY, tuesday=WORKDAY, holidays=HolidaySettings(country="DE"))
    )
    assert berlin.is_open(at("2026-01-06T09:00"))  # Epiphany is no nationwide holiday
    assert not berlin.is_open(at("2026-05-25T09:00"))  # Whit Monday is


def test_company_closure_is_closed_all_day():
    assert not BAVARIA.is_open(at("2026-12-24T09:00"))
    assert BAVARIA.holiday_name(date(2026, 12, 24)) is None  # closed, but no public holiday
    assert BAVARIA.add_business_hours(at("2026-12-23T16:00"), 2) == at("2026-12-28T09:00")  # 25/26 holidays


def test_reference_case_friday_evening_before_whit_monday():
    received = datetime.fromisoformat("2026-05-22T17:55+02:00")
    start = BAVARIA.sla_start(received)
    assert iso(start) == "2026-05-26T08:00:00+02:00"
    assert iso(BAVARIA.add_business_hours(start, 2)) == "2026-05-26T10:00:00+02:00"
    assert iso(BAVARIA.add_business_hours(start, 8)) == "2026-05-26T17:00:00+02:00"  # range end, not Wed
    assert iso(BAVARIA.add_business_hours(received, 8)) == "2026-05-26T17:00:00+02:00"


def test_add_business_hours_skips_lunch_and_counts_from_inside_a_range():
    assert BAVARIA.add_business_hours(at("2026-05-26T11:00"), 2) == at("2026-05-26T14:00")
    assert BAVARIA.add_business_hours(at("2026-05-26T12:00"), 0) == at("2026-05-26T13:00")
    assert BAVARIA.add_business_hours(at("2026-05-26T10:00"), 0) == at("2026-05-26T10:00")
    assert BAVARIA.add_business_hours(at("2026-05-26T08:00"), 4) == at("2026-05-26T12:00")


def test_results_are_in_the_calendar_zone():
    result = BAVARIA.add_business_hours(datetime.fromisoformat("2026-05-26T06:00+00:00"), 1)
    assert result.tzinfo == BERLIN and iso(result) == "2026-05-26T09:00:00+02:00"
    assert BAVARIA.sla_start(datetime.fromisoformat("2026-05-26T06:30+00:00")).tzinfo == BERLIN


def test_business_hours_between():
    assert BAVARIA.business_hours_between(at("2026-05-22T16:00"), at("2026-05-26T09:30")) == 2.5
    assert BAVARIA.business_hours_between(at("2026-05-26T09:00"), at("2026-05-26T08:00")) == 0
    assert BAVARIA.business_hours_between(at("2026-05-23T00:00"), at("2026-05-26T00:00")) == 0  # weekend


def test_negative_budget_and_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match=">= 0"):
        BAVARIA.add_business_hours(at("2026-05-26T09:00"), -1)
    with pytest.raises(ValueError, match="aware"):
        BAVARIA.add_business_hours(datetime(2026, 5, 26, 9), 1)


def test_spring_forward_day_has_23_hours():
    day = SUNDAY_ROUND_THE_CLOCK
    assert day.business_hours_between(at("2026-03-29T00:00"), at("2026-03-30T00:00")) == 23
    assert iso(day.add_business_hours(at("2026-03-28T12:00"), 3)) == "2026-03-29T04:00:00+02:00"
    assert iso(day.add_business_hours(at("2026-03-28T12:00"), 23)) == "2026-03-30T00:00:00+02:00"
    assert iso(day.add_business_hours(at("2026-03-28T12:00"), 24)) == "2026-04-05T01:00:00+02:00"


def test_fall_back_day_has_25_hours():
    day = SUNDAY_ROUND_THE_CLOCK
    assert day.business_hours_between(at("2026-10-25T00:00"), at("2026-10-26T00:00")) == 25
    assert iso(day.add_business_hours(at("2026-10-24T12:00"), 2)) == "2026-10-25T02:00:00+02:00"
    assert iso(day.add_business_hours(at("2026-10-24T12:00"), 3)) == "2026-10-25T02:00:00+01:00"
    assert iso(day.add_business_hours(at("2026-10-24T12:00"), 25)) == "2026-10-26T00:00:00+01:00"


def test_ranges_inside_the_dst_change_hour():
    night = BusinessCalendar.from_settings(BusinessHoursSettings(sunday=["02:00-03:00"]))
    # spring forward: 02:00-03:00 does not exist, so the range is empty that day
    assert night.business_hours_between(at("2026-03-29T00:00"), at("2026-03-30T00:00")) == 0
    assert iso(night.sla_start(at("2026-03-28T12:00"))) == "2026-04-05T02:00:00+02:00"
    # fall back: from the first 02:00 to 03:00 is two real hours
    assert night.business_hours_between(at("2026-10-25T00:00"), at("2026-10-26T00:00")) == 2
    assert iso(night.add_business_hours(at("2026-10-25T00:00"), 1.5)) == "2026-10-25T02:30:00+01:00"

    late = BusinessCalendar.from_settings(BusinessHoursSettings(sunday=["02:30-04:00"]))
    # a start in the gap means the jump: open from 03:00 CEST, one hour
    assert iso(late.sla_start(at("2026-03-29T00:00"))) == "2026-03-29T03:00:00+02:00"
    assert late.business_hours_between(at("2026-03-29T00:00"), at("2026-03-30T00:00")) == 1

    early = BusinessCalendar.from_settings(BusinessHoursSettings(sunday=["01:00-02:30"]))
    # an ambiguous end means its first occurrence: the repeated 02:00-02:30 stays closed
    assert early.business_hours_between(at("2026-10-25T00:00"), at("2026-10-26T00:00")) == 1.5
    assert early.is_open(datetime.fromisoformat("2026-10-25T02:15+02:00"))
    assert not early.is_open(datetime.fromisoformat("2026-10-25T02:15+01:00"))


def test_range_until_midnight_joins_the_next_morning():
    calendar = BusinessCalendar.from_settings(
        BusinessHoursSettings(monday=["20:00-24:00"], tuesday=["00:00-02:00", "08:00-09:00"])
    )
    assert calendar.is_open(at("2026-06-01T23:59:59"))
    assert calendar.is_open(at("2026-06-02T00:00"))
    assert calendar.add_business_hours(at("2026-06-01T20:00"), 4) == at("2026-06-02T00:00")
    assert calendar.add_business_hours(at("2026-06-01T21:00"), 4) == at("2026-06-02T01:00")
    intervals = list(calendar.open_intervals(at("2026-06-01T00:00"), at("2026-06-03T00:00")))
    assert intervals == [
        (at("2026-06-01T20:00"), at("2026-06-02T02:00")),
        (at("2026-06-02T08:00"), at("2026-06-02T09:00")),
    ]


def test_always_open_is_plain_arithmetic():
    calendar = BusinessCalendar.from_settings(BusinessHoursSettings(always_open=True))
    start = at("2026-10-24T23:00")
    assert calendar.add_business_hours(start, 5).astimezone(UTC) == start.astimezone(UTC) + timedelta(hours=5)
    assert calendar.business_hours_between(start, at("2026-10-25T23:00")) == 25
    assert calendar.sla_start(start) == start


def test_a_calendar_that_never_opens_raises_instead_of_looping():
    never = BusinessCalendar(BERLIN, ((),) * 7, frozenset())
    with pytest.raises(ValueError, match="never opens"):
        never.add_business_hours(at("2026-05-26T09:00"), 1)
    with pytest.raises(ValueError, match="never opens"):
        never.sla_start(at("2026-05-26T09:00"))
    assert never.next_opening(at("2026-05-26T09:00")) is None
    assert never.business_hours_between(at("2026-05-26T09:00"), at("2026-06-26T09:00")) == 0


def test_closures_for_years_count_as_never_opening():
    mondays = [(date(2026, 6, 1) + timedelta(weeks=week)).isoformat() for week in range(170)]
    calendar = BusinessCalendar.from_settings(BusinessHoursSettings(monday=["08:00-09:00"], closed=mondays))
    with pytest.raises(ValueError, match="never opens"):
        calendar.add_business_hours(at("2026-05-30T09:00"), 1)


# --- properties ----------------------------------------------------------------------------------------

ZONES = [ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York"), ZoneInfo("UTC")]


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    """Random weekly hours (ranges of at least 30 minutes, some until 24:00) in a random zone."""
    days: dict[str, list[str]] = {}
    for day in WEEKDAYS:
        marks = sorted(draw(st.sets(st.integers(0, 48), max_size=6)))  # half hours, 48 = 24:00
        marks = marks[: len(marks) // 2 * 2]
        days[day] = [
            f"{start // 2:02d}:{start % 2 * 30:02d}-{end // 2:02d}:{end % 2 * 30:02d}"
            for start, end in zip(marks[::2], marks[1::2], strict=True)
        ]
    if not any(days.values()):
        days["wednesday"] = ["09:00-17:00"]
    zone = draw(st.sampled_from(ZONES))
    return BusinessCalendar.from_settings(BusinessHoursSettings(timezone=zone.key, **days))


starts = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.sampled_from(ZONES)
)
budgets = st.integers(0, 80 * 60).map(lambda minutes: minutes / 60)  # whole minutes: exact as microseconds
positive_budgets = st.integers(1, 80 * 60).map(lambda minutes: minutes / 60)
TOLERANCE = 1e-6  # hours


def ends_a_range(calendar: BusinessCalendar, instant: datetime) -> bool:
    return not calendar.is_open(instant) and calendar.is_open(utc(instant) - timedelta(microseconds=1))


@settings(max_examples=150, deadline=None)
@given(calendars(), starts, budgets)
def test_property_add_then_measure(calendar, start, hours):
    result = calendar.add_business_hours(start, hours)
    assert utc(result) >= utc(start)
    assert result.tzinfo == calendar.zone
    assert abs(calendar.business_hours_between(start, result) - hours) < TOLERANCE
    assert calendar.is_open(result) or ends_a_range(calendar, result)


@settings(max_examples=100, deadline=None)
@given(calendars(), starts, budgets, budgets)
def test_property_monotone_in_the_budget(calendar, start, first, second):
    low, high = sorted((first, second))
    assert utc(calendar.add_business_hours(start, low)) <= utc(calendar.add_business_hours(start, high))


@settings(max_examples=100, deadline=None)
@given(calendars(), starts, budgets, positive_budgets)
def test_property_adding_twice_is_adding_the_sum(calendar, start, first, second):
    """Exact for a positive second budget: a range end reached first is left at once by the next minute."""
    twice = calendar.add_business_hours(calendar.add_business_hours(start, first), second)
    assert utc(twice) == utc(calendar.add_business_hours(start, first + second))


@settings(max_examples=100, deadline=None)
@given(calendars(), starts, budgets)
def test_property_adding_nothing_moves_only_from_a_range_end(calendar, start, hours):
    """Adding 0 is `sla_start`: it stays put when open, and leaves a range end for the next opening."""
    result = calendar.add_business_hours(start, hours)
    again = calendar.add_business_hours(result, 0)
    assert utc(again) == utc(calendar.sla_start(result))
    if calendar.is_open(result):
        assert utc(again) == utc(result)
    else:
        assert ends_a_range(calendar, result) and utc(again) > utc(result)


@settings(max_examples=100, deadline=None)
@given(calendars(), starts, starts)
def test_property_between_is_additive(calendar, first, second):
    low, high = sorted((first, second), key=utc)
    middle = utc(low) + (utc(high) - utc(low)) / 3
    whole = calendar.business_hours_between(low, high)
    parts = calendar.business_hours_between(low, middle) + calendar.business_hours_between(middle, high)
    assert abs(whole - parts) < TOLERANCE
    assert calendar.business_hours_between(high, low) == 0


# --- around the clock (SLA classes "handled without delay") ---------------------------------------------


def test_around_the_clock_keeps_the_zone_and_ignores_hours_holidays_and_closures():
    easter = BusinessCalendar.from_settings(
        BusinessHoursSettings(
            monday=["08:00-17:00"],
            closed=["2026-04-02"],
            holidays=HolidaySettings(country="DE", subdivision="BY"),
        )
    )
    nonstop = easter.around_the_clock()
    assert nonstop.zone == easter.zone and nonstop.always_open
    good_friday_night = at("2026-04-03T03:00")
    assert not easter.is_open(good_friday_night) and nonstop.is_open(good_friday_night)
    assert nonstop.add_business_hours(at("2026-04-02T18:30"), 2) == at("2026-04-02T20:30")
    assert nonstop.business_hours_between(at("2026-04-02T18:00"), at("2026-04-06T18:00")) == 96


@settings(max_examples=150, deadline=None)
@given(calendars(), starts, budgets)
def test_property_around_the_clock_is_elapsed_time_and_never_later(calendar, start, hours):
    """Real elapsed time across DST, in the calendar's zone, and never later than business time."""
    nonstop = calendar.around_the_clock()
    result = nonstop.add_business_hours(start, hours)
    assert result.tzinfo == calendar.zone
    assert utc(result) == utc(start) + timedelta(hours=hours)
    assert abs(nonstop.business_hours_between(start, result) - hours) < TOLERANCE
    assert utc(result) <= utc(calendar.add_business_hours(start, hours))
