"""The figures of issue 14 on a synthetic history with known answers (fixed clock, no database).

Calendar: Mon-Fri 09:00-17:00 Europe/Berlin, holidays 2026-12-25/26; window 3 business days.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from mailbot.clock import BusinessCalendar
from mailbot.reports.backlog import age_bucket, backlog, volume
from mailbot.reports.facts import RequestFact
from mailbot.reports.outcomes import AnswerOutcome, articles, automation, judge
from mailbot.reports.period import month
from mailbot.reports.stats import median, nearest_rank, wilson
from mailbot.reports.times import (
    compliance,
    elapsed_hours,
    reopens,
    resolution_times,
    response_times,
    targets,
)

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar(
    BERLIN, ((((time(9), time(17)),),) * 5) + ((), ()), frozenset({date(2026, 12, 25), date(2026, 12, 26)})
)
OCTOBER = month("2026-10", BERLIN)


def at(text: str) -> datetime:
    """Local Berlin time, e.g. '2026-10-05 10:00'."""
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def request(number: int, arrived: datetime, outcome: str = "answered", **fields: object) -> RequestFact:
    return RequestFact(
        inbound_id=number, mailbox="a", arrived_at=arrived, outcome=outcome, reference=f"A-{number}", **fields
    )  # type: ignore[arg-type]


# --- statistics -----------------------------------------------------------------------------------


def test_median_and_nearest_rank_percentile() -> None:
    assert median([10, 20, 30, 40]) == 25
    assert median([3, 1, 2]) == 2
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank([5], 90) == 5
    assert median([]) is None and nearest_rank([], 90) is None


def test_wilson_interval_and_the_worse_of_two_articles_with_the_same_rate() -> None:
    low, high = wilson(6, 10)  # type: ignore[misc]
    assert (round(low, 3), round(high, 3)) == (0.313, 0.832)
    low, high = wilson(30, 50)  # type: ignore[misc]
    assert (round(low, 3), round(high, 3)) == (0.462, 0.724)
    assert wilson(0, 0) is None


# --- automation: 100 requests of which 60 answered -------------------------------------------------


def october_history() -> tuple[list[RequestFact], datetime]:
    """100 requests on October weekdays: 60 answered (45 silent, 5 thanked, 7 'hilft nicht', 3 whose
    window is open at `now`), 40 escalated; plus 10 ignored and 2 quarantined."""
    now = at("2026-10-30 12:00")  # Friday
    facts: list[RequestFact] = []
    early = at("2026-10-05 10:00")  # Monday, windows long closed at `now`
    for n in range(45):
        facts.append(request(n, early, first_auto_reply_at=early, article_id="password"))
    for n in range(45, 50):
        facts.append(
            request(
                n,
                early,
                first_auto_reply_at=early,
                article_id="invoice",
                thanks=(early + timedelta(hours=2),),
            )
        )
    for n in range(50, 57):
        failure = ((early + timedelta(days=1), "negative"),)
        facts.append(request(n, early, first_auto_reply_at=early, article_id="invoice", failures=failure))
    late = at("2026-10-29 10:00")  # Thursday: window closes on Monday, after `now`
    for n in range(57, 60):
        facts.append(request(n, late, first_auto_reply_at=late, article_id="password"))
    for n in range(60, 100):
        facts.append(request(n, early, "escalated", escalations=(early,), severity="minor"))
    for n in range(100, 110):
        facts.append(request(n, early, "ignored", ignore_reason="auto-reply"))
    for n in range(110, 112):
        facts.append(request(n, early, "quarantined"))
    return facts, now


def test_automation_figures_of_the_known_history() -> None:
    facts, now = october_history()
    figures = automation(facts, OCTOBER, CALENDAR, now)
    assert figures.requests == 100
    assert (figures.answer_rate.part, figures.answer_rate.whole) == (60, 100)
    assert {k: figures.answers[k] for k in ("confirmed", "assumed", "failed", "pending")} == {
        "confirmed": 5,
        "assumed": 45,
        "failed": 7,
        "pending": 3,
    }
    assert (figures.precision.part, figures.precision.whole) == (50, 57)
    assert round(figures.precision.value or 0, 3) == 0.877
    assert (figures.automation_rate.part, figures.automation_rate.whole) == (50, 97)
    assert round(figures.automation_rate.value or 0, 3) == 0.515
    assert figures.outcomes["ignored"] == 10 and figures.outcomes["quarantined"] == 2
    assert figures.failures == {"negative": 7}


def test_a_failure_outside_the_window_and_a_thanks_before_a_failure() -> None:
    answered = at("2026-10-02 10:00")  # Friday: the window closes Wednesday 10:00
    fact = request(1, answered, first_auto_reply_at=answered)
    now = at("2026-10-20 10:00")
    late = replace(fact, failures=((at("2026-10-07 10:00"), "negative"),))
    assert judge(late, CALENDAR, now).outcome is AnswerOutcome.ASSUMED  # type: ignore[union-attr]
    in_time = replace(fact, failures=((at("2026-10-07 09:59"), "negative"),), thanks=(answered,))
    assert judge(in_time, CALENDAR, now).outcome is AnswerOutcome.FAILED  # type: ignore[union-attr]
    escalated_by_reply = replace(fact, escalations=(at("2026-10-05 11:00"),))
    verdict = judge(escalated_by_reply, CALENDAR, now)
    assert verdict is not None and verdict.outcome is AnswerOutcome.FAILED and verdict.failure == "escalated"
    assert judge(request(2, answered, "escalated"), CALENDAR, now) is None


def test_the_same_question_again_in_a_new_mail_fails_the_first_answer() -> None:
    first = at("2026-10-05 10:00")
    ask = dict(customer_key="kim@example.org", article_id="password")
    facts = [
        request(1, first, first_auto_reply_at=first, **ask),
        request(2, first + timedelta(days=1), first_auto_reply_at=first + timedelta(days=1), **ask),
        request(3, first, first_auto_reply_at=first, customer_key="other@example.org", article_id="password"),
    ]
    figures = automation(facts, OCTOBER, CALENDAR, at("2026-10-30 10:00"))
    assert figures.answers["failed"] == 1 and figures.failures == {"repeat": 1}
    assert figures.answers["assumed"] == 2


def test_articles_are_ranked_by_the_floor_of_their_failure_rate() -> None:
    early, now = at("2026-10-05 10:00"), at("2026-10-30 10:00")
    facts = []
    number = 0
    for article, good, bad in (("k", 6, 4), ("l", 30, 20), ("fine", 20, 0)):
        for index in range(good + bad):
            number += 1
            failures = ((early + timedelta(hours=1), "negative"),) if index < bad else ()
            facts.append(
                request(number, early, first_auto_reply_at=early, article_id=article, failures=failures)
            )
    table = articles(facts, OCTOBER, CALENDAR, now)
    assert [row.article_id for row in table] == ["l", "k", "fine"]
    assert round(table[0].failure_floor, 3) == 0.276 and round(table[1].failure_floor, 3) == 0.168
    assert len(table[1].failed_inbound_ids) == 4


# --- business time ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        ("2026-11-06 16:30", "2026-11-09 09:30", 60),  # over a weekend
        ("2026-10-23 16:00", "2026-10-26 10:00", 120),  # over the end of summer time
        ("2026-12-24 16:30", "2026-12-28 09:15", 45),  # over Christmas
    ],
)
def test_business_minutes(start: str, end: str, minutes: int) -> None:
    assert CALENDAR.business_hours_between(at(start), at(end)) * 60 == pytest.approx(minutes)


def test_the_dst_span_is_67_calendar_hours() -> None:
    assert elapsed_hours(at("2026-10-23 16:00"), at("2026-10-26 10:00")) == 67
    created = at("2026-10-23 16:00")
    fact = request(1, created, "escalated", sla_started_at=created, solves=(at("2026-10-26 10:00"),))
    figures = resolution_times([fact], OCTOBER, CALENDAR)["first_resolution"]["all"]  # type: ignore[index]
    assert figures["calendar_hours"]["median"] == 67 and figures["business_minutes"]["median"] == 120


def test_a_saturday_arrival_starts_the_clock_on_monday() -> None:
    assert CALENDAR.sla_start(at("2026-11-07 10:00")) == at("2026-11-09 09:00")


def test_response_times_belong_to_the_period_of_the_answer() -> None:
    start = at("2026-09-30 16:30")
    crossing = request(1, start, "escalated", sla_started_at=start, human_replies=(at("2026-10-01 09:30"),))
    inside = request(2, at("2026-10-05 10:00"), "escalated", sla_started_at=at("2026-10-05 10:00"))
    inside = replace(inside, human_replies=(at("2026-10-05 10:20"), at("2026-10-06 10:00")))
    figures = response_times([crossing, inside], OCTOBER, CALENDAR)
    first = figures["first_response"]["all"]["business_minutes"]  # type: ignore[index]
    assert first == {"n": 2, "median": 40.0, "p90": 60.0}  # 60 over the night, 20
    acknowledged = replace(inside, first_acknowledgement_at=at("2026-10-05 10:01"))
    counted = response_times([acknowledged], OCTOBER, CALENDAR, acknowledgement_is_response=True)
    assert counted["first_response"]["all"]["business_minutes"]["median"] == 1.0  # type: ignore[index]


def test_a_ticket_created_in_september_and_solved_in_october_counts_in_october() -> None:
    created = at("2026-09-28 10:00")
    fact = request(1, created, "escalated", sla_started_at=created, solves=(at("2026-10-02 10:00"),))
    september = month("2026-09", BERLIN)
    assert (
        resolution_times([fact], september, CALENDAR)["first_resolution"]["all"]["business_minutes"][  # type: ignore[index]
            "n"
        ]
        == 0
    )
    october = resolution_times([fact], OCTOBER, CALENDAR)["first_resolution"]["all"]  # type: ignore[index]
    assert october["business_minutes"]["median"] == 4 * 8 * 60


# --- SLA ---------------------------------------------------------------------------------------------


def critical(number: int, due: datetime, responded: datetime | None, started: datetime) -> RequestFact:
    return request(
        number,
        started,
        "escalated",
        severity="critical",
        sla_started_at=started,
        response_due_at=due,
        human_replies=(responded,) if responded else (),
    )


def test_sla_compliance_with_breaches_open_past_due_and_near_misses() -> None:
    start, due = at("2026-10-05 09:00"), at("2026-10-05 13:00")  # 4 business hours
    facts = [
        critical(1, due, at("2026-10-05 10:00"), start),
        critical(2, due, at("2026-10-05 12:24"), start),  # 85 % of the target: a near miss
        critical(3, due, at("2026-10-05 11:00"), start),
        critical(4, due, at("2026-10-05 14:00"), start),  # late
    ]
    now = at("2026-10-30 12:00")
    figures = compliance(targets(facts, OCTOBER, CALENDAR, now))
    response = figures["by_severity"]["critical"]["response"]  # type: ignore[index]
    assert response["compliance"] == {"part": 3, "whole": 4, "value": 0.75}
    assert response["near_misses"] == 1
    assert [b["reference"] for b in figures["breaches"]] == ["A-4"]  # type: ignore[index]
    assert figures["breaches"][0]["overrun_minutes"] == 60  # type: ignore[index]
    open_past_due = critical(5, due, None, start)
    open_not_due = critical(6, at("2026-10-30 15:00"), None, at("2026-10-30 11:00"))
    both = compliance(targets([*facts, open_past_due, open_not_due], OCTOBER, CALENDAR, now))
    assert both["by_severity"]["critical"]["response"]["compliance"]["whole"] == 5  # type: ignore[index]
    assert both["by_severity"]["critical"]["response"]["breached"] == 2  # type: ignore[index]


# --- reopens, backlog, volume --------------------------------------------------------------------------


def test_reopen_rate_and_one_touch() -> None:
    day = at("2026-10-05 10:00")
    facts = []
    for n in range(10):
        reopened = (day + timedelta(days=2),) if n < 2 else ()
        replies = (day + timedelta(hours=1),) if n < 6 else (day, day + timedelta(hours=1))
        facts.append(
            request(
                n,
                day,
                "escalated",
                solves=(day + timedelta(days=1),),
                reopens=reopened,
                human_replies=replies,
            )
        )
    figures = reopens(facts, OCTOBER, at("2026-10-30 10:00"))
    assert figures["reopen_rate"] == {"part": 2, "whole": 10, "value": 0.2}
    assert figures["one_touch_rate"]["part"] == 4  # type: ignore[index]


def test_backlog_stock_flow_and_age_buckets() -> None:
    facts = []
    for n in range(30):
        created = at("2026-10-05 10:00") + timedelta(days=n % 3)
        solves = (created + timedelta(hours=3),) if n < 25 else ()
        facts.append(request(n, created, "escalated", escalations=(created,), solves=solves))
    figures = backlog(facts, OCTOBER, CALENDAR, at("2026-12-01 10:00"))
    assert figures["flow"] == {"in": 30, "solved": 25}
    assert figures["open"] == 5 == sum(figures["ages_business_days"].values())  # type: ignore[union-attr, arg-type]
    assert sum(day["net"] for day in figures["daily"]) == 5  # type: ignore[union-attr]
    assert len(figures["daily"]) == 31  # type: ignore[arg-type]
    assert age_bucket(1.0) == "1-3" and age_bucket(3.0) == "3-5" and age_bucket(0.99) == "0-1"
    critical = request(99, at("2026-10-30 09:00"), "escalated", escalations=(at("2026-10-30 09:00"),))
    critical = replace(critical, severity="critical", external_key="SUP-7")
    listed = backlog([*facts, critical], OCTOBER, CALENDAR, at("2026-12-01 10:00"))["open_tickets"]
    assert listed[0]["reference"] == "A-99" and listed[0]["external_key"] == "SUP-7"  # type: ignore[index]
    assert listed[0]["age_business_days"] == 1.0  # Friday 09:00 to the month's end: one business day


def test_the_month_boundary_is_the_clients_midnight() -> None:
    november = month("2026-11", BERLIN)
    early = datetime(2026, 11, 1, 0, 30, tzinfo=timezone_plus_one())
    assert early in november and early not in OCTOBER
    assert early.astimezone(UTC).month == 10
    fact = request(1, early, "escalated")
    figures = volume([fact], (), november, CALENDAR)
    assert figures["requests"] == 1 and figures["weekday_hour"]["Sun"][0] == 1  # type: ignore[index]


def timezone_plus_one() -> timezone:
    """A fixed offset, as a mail's Date header gives it."""
    return timezone(timedelta(hours=1))


def test_an_empty_period_has_no_rates_but_no_error() -> None:
    figures = automation([], OCTOBER, CALENDAR, at("2026-10-30 10:00"))
    assert figures.precision.value is None and figures.automation_rate.value is None
    assert backlog([], OCTOBER, CALENDAR, at("2026-10-30 10:00"))["open"] == 0


def test_an_articles_near_misses_and_the_tickets_behind_its_failures() -> None:
    early, now = at("2026-10-05 10:00"), at("2026-10-30 10:00")
    failed = request(1, early, first_auto_reply_at=early, article_id="k", failures=((early, "negative"),))
    near = request(2, early, "escalated", article_id="k", confidence=0.7, threshold=0.9)
    far = request(3, early, "escalated", article_id="k", confidence=0.3, threshold=0.9)
    only_near = request(4, early, "escalated", article_id="m", confidence=0.6, threshold=0.9)
    table = {row.article_id: row for row in articles([failed, near, far, only_near], OCTOBER, CALENDAR, now)}
    assert table["k"].failed_references == ("A-1",) and table["k"].near_misses == ("A-2",)
    assert table["m"].near_misses == ("A-4",) and table["m"].precision.value is None


def test_psi_of_a_changed_topic_mix_alerts_and_an_unchanged_one_does_not() -> None:
    from mailbot.reports.drift import psi

    assert round(psi({"a": 0.5, "b": 0.3, "c": 0.2}, {"a": 0.3, "b": 0.3, "c": 0.4}), 3) == 0.241
    assert psi({"a": 0.5, "b": 0.5}, {"a": 0.5, "b": 0.5}) == 0


def test_drift_compares_the_predicted_mix_with_the_period_before_and_marks_models() -> None:
    from mailbot.reports.drift import drift

    september = [request(n, at("2026-09-10 10:00"), article_id="a", model_version="m1") for n in range(8)]
    october = [
        request(
            10 + n,
            at("2026-10-12 10:00"),
            article_id="a" if n < 2 else "b",
            model_version="m2",
            confidence=0.8,
            threshold=0.9,
        )
        for n in range(8)
    ]
    figures = drift(september + october, OCTOBER, month("2026-09", BERLIN), CALENDAR)
    assert figures["psi_alert"] is True and figures["psi"] > 0.2  # type: ignore[operator]
    assert [m["version"] for m in figures["models"]] == ["m2"]  # type: ignore[index]
    [week] = figures["weekly"]  # type: ignore[misc]
    assert week["week"] == "2026-10-12" and week["below_threshold"]["value"] == 1.0
