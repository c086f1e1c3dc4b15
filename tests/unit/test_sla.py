"""SLA due times per severity in business time, and the ok/warn/breached state of the response target."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailbot.clock import BusinessCalendar
from mailbot.config import BusinessHoursSettings, HolidaySettings, SlaSettings, SlaTarget
from mailbot.domain import Severity
from mailbot.tickets.sla import (
    SlaDue,
    SlaState,
    clock_start,
    due_times,
    response_state,
    share_used,
    sla_calendar,
)

BERLIN = ZoneInfo("Europe/Berlin")
WORKDAY = ["08:00-12:00", "13:00-17:00"]
CALENDAR = BusinessCalendar.from_settings(
    BusinessHoursSettings(
        monday=WORKDAY,
        tuesday=WORKDAY,
        wednesday=WORKDAY,
        thursday=WORKDAY,
        friday=WORKDAY,
        holidays=HolidaySettings(country="DE", subdivision="BY"),
    )
)
SLA = SlaSettings()
FRIDAY_EVENING = datetime.fromisoformat("2026-05-22T17:55+02:00")  # Monday 25 May is Whit Monday


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def test_questions_carry_no_sla():
    assert due_times(FRIDAY_EVENING, None, CALENDAR, SLA) is None


def test_reference_case_critical_after_hours_before_whit_monday():
    due = due_times(FRIDAY_EVENING, Severity.CRITICAL, CALENDAR, SLA)
    assert due is not None
    assert due.started_at.isoformat() == "2026-05-26T08:00:00+02:00"
    assert due.response_due.isoformat() == "2026-05-26T10:00:00+02:00"
    assert due.resolution_due.isoformat() == "2026-05-26T17:00:00+02:00"


@pytest.mark.parametrize(
    ("severity", "response", "resolution"),
    [
        (Severity.MAJOR, "2026-05-26T17:00", "2026-05-28T17:00"),  # 8 h = one day, 24 h = three days
        (Severity.MINOR, "2026-05-28T17:00", "2026-06-09T17:00"),  # 80 h = ten days, Corpus Christi 4 June
        (Severity.COSMETIC, "2026-06-01T17:00", "2026-06-30T17:00"),  # 40 h = five days, 200 h = 25 days
    ],
)
def test_default_targets_per_severity(severity, response, resolution):
    due = due_times(FRIDAY_EVENING, severity, CALENDAR, SLA)
    assert due is not None
    assert (due.response_due, due.resolution_due) == (at(response), at(resolution))


def test_mail_received_while_open_starts_the_clock_at_once():
    received = datetime.fromisoformat("2026-05-26T09:15+00:00")  # 11:15 in Berlin
    due = due_times(received, Severity.CRITICAL, CALENDAR, SLA)
    assert due is not None
    assert due.started_at == received and due.started_at.tzinfo == BERLIN
    assert due.response_due == at("2026-05-26T14:15")  # 45 min before lunch, 75 min after


def test_custom_targets_are_used():
    sla = SlaSettings(critical=SlaTarget(response_hours=0.5, resolution_hours=4))
    due = due_times(FRIDAY_EVENING, Severity.CRITICAL, CALENDAR, sla)
    assert due is not None
    assert (due.response_due, due.resolution_due) == (at("2026-05-26T08:30"), at("2026-05-26T12:00"))


def test_share_used_counts_business_time_only():
    started, due = at("2026-05-26T08:00"), at("2026-05-26T17:00")  # 8 business hours
    assert share_used(at("2026-05-26T08:00"), started, due, CALENDAR) == 0
    assert share_used(at("2026-05-26T12:45"), started, due, CALENDAR) == 0.5  # lunch uses nothing
    assert share_used(at("2026-05-26T17:00"), started, due, CALENDAR) == 1
    assert share_used(at("2026-05-27T12:00"), started, due, CALENDAR) == 1.5  # overdue by half the target
    assert share_used(at("2026-05-25T10:00"), started, due, CALENDAR) == 0  # before the start


def test_share_used_of_an_empty_budget():
    start = at("2026-05-26T12:30")  # lunch: no business time up to 13:00
    assert share_used(at("2026-05-26T12:40"), start, at("2026-05-26T13:00"), CALENDAR) == 0
    assert share_used(at("2026-05-26T13:00"), start, at("2026-05-26T13:00"), CALENDAR) == 1


@pytest.mark.parametrize(
    ("now", "state"),
    [
        ("2026-05-22T18:00", SlaState.OK),  # the SLA clock has not started
        ("2026-05-26T09:00", SlaState.OK),  # half used
        ("2026-05-26T09:30", SlaState.WARN),  # exactly 75 %
        ("2026-05-26T10:00", SlaState.WARN),  # due now: still met
        ("2026-05-26T10:00:01", SlaState.BREACHED),
        ("2026-05-26T12:30", SlaState.BREACHED),
    ],
)
def test_response_state(now, state):
    due = due_times(FRIDAY_EVENING, Severity.CRITICAL, CALENDAR, SLA)
    assert due is not None
    assert response_state(at(now), due, CALENDAR, SLA.warn_at) == state


def test_breach_is_decided_by_the_instant_even_while_closed():
    due = SlaDue(at("2026-05-26T15:00"), at("2026-05-26T17:00"), at("2026-05-27T17:00"))
    assert share_used(at("2026-05-26T18:00"), due.started_at, due.response_due, CALENDAR) == 1
    assert response_state(at("2026-05-26T18:00"), due, CALENDAR, 0.75) == SlaState.BREACHED


def test_a_calendar_that_never_opens_is_an_error_not_a_hang():
    never = BusinessCalendar(BERLIN, ((),) * 7, frozenset())
    with pytest.raises(ValueError, match="never opens"):
        due_times(FRIDAY_EVENING, Severity.MINOR, never, SLA)


@settings(max_examples=100, deadline=None)
@given(
    received=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(BERLIN)
    ),
    severity=st.sampled_from(Severity),
)
def test_property_due_times_are_ordered_and_exact(received, severity):
    due = due_times(received, severity, CALENDAR, SLA)
    assert due is not None
    target = SLA.target(severity)
    started, response, resolution = (
        value.astimezone(UTC) for value in (due.started_at, due.response_due, due.resolution_due)
    )
    assert received.astimezone(UTC) <= started <= response <= resolution
    assert CALENDAR.is_open(started)
    hours = CALENDAR.business_hours_between(started, resolution)
    assert abs(CALENDAR.business_hours_between(started, response) - target.response_hours) < 1e-6
    assert abs(hours - target.resolution_hours) < 1e-6
    just_after = response + timedelta(microseconds=1)
    assert response_state(just_after, due, CALENDAR, SLA.warn_at) == SlaState.BREACHED


# --- a calendar per class: critical faults "handled without delay" ------------------------------------

NONSTOP = SlaSettings.model_validate({"critical": {"calendar": "24/7"}})
MAUNDY_THURSDAY_EVENING = at("2026-04-02T18:30")  # Good Friday 3 April and Easter Monday 6 April are closed


def test_outage_before_easter_is_not_promised_for_tuesday():
    business = due_times(MAUNDY_THURSDAY_EVENING, Severity.CRITICAL, CALENDAR, SLA)
    nonstop = due_times(MAUNDY_THURSDAY_EVENING, Severity.CRITICAL, CALENDAR, NONSTOP)
    assert business is not None and nonstop is not None
    assert business.response_due == at("2026-04-07T10:00")  # the promise the issue calls wrong
    assert nonstop.started_at == MAUNDY_THURSDAY_EVENING
    assert (nonstop.response_due, nonstop.resolution_due) == (at("2026-04-02T20:30"), at("2026-04-03T02:30"))
    assert nonstop.response_due.tzinfo == BERLIN  # read as local time in the acknowledgement


def test_only_the_24_7_class_runs_around_the_clock():
    assert NONSTOP.critical.response_hours == 2 and NONSTOP.critical.resolution_hours == 8  # defaults kept
    assert NONSTOP.around_the_clock() == {Severity.CRITICAL}
    for severity in (Severity.MAJOR, Severity.MINOR, Severity.COSMETIC):
        assert due_times(MAUNDY_THURSDAY_EVENING, severity, CALENDAR, NONSTOP) == due_times(
            MAUNDY_THURSDAY_EVENING, severity, CALENDAR, SLA
        )
        assert sla_calendar(severity, CALENDAR, NONSTOP) is CALENDAR
    assert sla_calendar(None, CALENDAR, NONSTOP) is CALENDAR
    assert sla_calendar(Severity.CRITICAL, CALENDAR, NONSTOP).always_open


def test_a_24_7_ticket_uses_up_its_time_at_night():
    due = due_times(MAUNDY_THURSDAY_EVENING, Severity.CRITICAL, CALENDAR, NONSTOP)
    assert due is not None
    nonstop = sla_calendar(Severity.CRITICAL, CALENDAR, NONSTOP)
    assert response_state(at("2026-04-02T19:00"), due, nonstop, NONSTOP.warn_at) == SlaState.OK
    assert response_state(at("2026-04-02T20:00"), due, nonstop, NONSTOP.warn_at) == SlaState.WARN
    assert response_state(at("2026-04-02T20:31"), due, nonstop, NONSTOP.warn_at) == SlaState.BREACHED
    # measured on the business calendar the night would use nothing: the watch must not do that
    assert response_state(at("2026-04-02T20:00"), due, CALENDAR, NONSTOP.warn_at) == SlaState.OK


@settings(max_examples=100, deadline=None)
@given(
    received=st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(BERLIN)
    ),
    severity=st.sampled_from(Severity),
)
def test_property_24_7_due_times_are_elapsed_time_and_never_later(received, severity):
    sla = SlaSettings.model_validate({severity.value: {"calendar": "24/7"}})
    due, business = due_times(received, severity, CALENDAR, sla), due_times(received, severity, CALENDAR, SLA)
    assert due is not None and business is not None
    target = sla.target(severity)
    start = received.astimezone(UTC)
    assert due.started_at.astimezone(UTC) == start
    assert due.response_due.astimezone(UTC) - start == timedelta(hours=target.response_hours)
    assert due.resolution_due.astimezone(UTC) - start == timedelta(hours=target.resolution_hours)
    assert due.response_due.astimezone(UTC) <= business.response_due.astimezone(UTC)
    assert due.resolution_due.astimezone(UTC) <= business.resolution_due.astimezone(UTC)


# --- when the clock starts (issue 11) ------------------------------------------------------------


SKEW = timedelta(minutes=15)


@pytest.mark.parametrize(
    ("received", "ingested", "expected", "why"),
    [
        ("2026-05-26T09:00", "2026-05-26T09:01", "2026-05-26T09:00", "fetched at once: the delivery time"),
        ("2026-05-26T08:46", "2026-05-26T09:01", "2026-05-26T08:46", "within the skew: the delivery time"),
        ("2025-01-10T10:00", "2026-05-26T09:00", "2026-05-26T08:45", "re-filed from an archive"),
        ("2026-05-22T17:55", "2026-05-26T10:30", "2026-05-26T10:15", "waited while mailbot was not fetching"),
        ("2033-01-01T00:00", "2026-05-26T09:00", "2026-05-26T09:00", "a future date: never after we took it"),
    ],
)
def test_clock_start_is_the_delivery_time_but_not_long_before_we_took_the_mail(
    received, ingested, expected, why
):
    assert clock_start(at(received), at(ingested), SKEW) == at(expected), why


def test_without_skew_the_clock_starts_when_the_mail_was_taken():
    assert clock_start(at("2026-05-26T08:00"), at("2026-05-26T09:00"), timedelta(0)) == at("2026-05-26T09:00")


@settings(max_examples=200, deadline=None)
@given(
    received=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    ingested=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    ),
    minutes=st.integers(min_value=0, max_value=100_000),
)
def test_clock_start_lies_between_ingest_minus_skew_and_ingest(received, ingested, minutes):
    skew = timedelta(minutes=minutes)
    start = clock_start(received, ingested, skew)
    assert ingested - skew <= start <= ingested
    assert start == received or not (ingested - skew <= received <= ingested)


def test_the_default_skew_is_fifteen_minutes():
    assert SlaSettings().start_skew == timedelta(minutes=15)
    assert SlaSettings(start_skew_minutes=1440).start_skew == timedelta(days=1)
