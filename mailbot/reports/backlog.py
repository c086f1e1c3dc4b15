"""The 2nd level's backlog as stock and flow, and the volume of mail by local day, weekday and hour.

A ticket is *open* (in the backlog) from each time it goes to the 2nd level (escalation, reopen) until
it is solved. The stock is counted at the period's end (as of `now` when that is earlier), with its age
in business days since it last became open, in the buckets 0-1, 1-3, 3-5 and over 5 business days; an
age exactly on a boundary counts in the upper bucket. A business day is the calendar's longest opening
of a weekday (8 hours for 9-17). The flow per local day is what came in minus what was solved.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from mailbot.clock import BusinessCalendar
from mailbot.reports.facts import RequestFact
from mailbot.reports.period import Period

AGE_BUCKETS = ((0.0, 1.0, "0-1"), (1.0, 3.0, "1-3"), (3.0, 5.0, "3-5"), (5.0, float("inf"), ">5"))
SEVERITY_ORDER = ("critical", "major", "minor", "cosmetic")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def open_since(fact: RequestFact, at: datetime) -> datetime | None:
    """When the ticket last became open before `at`, if it is open at `at`; else None."""
    entered = [t for t in (*fact.escalations, *fact.reopens) if t <= at]
    if not entered:
        return None
    last_in = max(entered)
    solved_after = [t for t in fact.solves if last_in <= t <= at]
    return None if solved_after else last_in


def age_bucket(days: float) -> str:
    for low, high, name in AGE_BUCKETS:
        if low <= days < high:
            return name
    return AGE_BUCKETS[-1][2]


def backlog(
    requests: Sequence[RequestFact], period: Period, calendar: BusinessCalendar, now: datetime
) -> dict[str, object]:
    """Stock at the period's end by age, and the daily flow within the period."""
    at = min(period.end, now)
    day_hours = calendar.standard_day_hours()
    stock: list[dict[str, object]] = []
    ages: Counter[str] = Counter()
    started: Counter[bool] = Counter()
    for fact in requests:
        since = open_since(fact, at)
        if since is None:
            continue
        age = calendar.business_hours_between(since, at) / day_hours
        stock.append(
            {
                "reference": fact.reference or f"#{fact.inbound_id}",
                "severity": fact.severity,
                "open_since": since.isoformat(),
                "age_business_days": round(age, 2),
                "external_key": fact.external_key,
            }
        )
        ages[age_bucket(age)] += 1
        started[since < period.start] += 1
    rank = {name: index for index, name in enumerate(SEVERITY_ORDER)}
    stock.sort(key=lambda row: (rank.get(str(row["severity"]), len(rank)), -float(row["age_business_days"])))
    zone = calendar.zone
    came: Counter[date] = Counter()
    went: Counter[date] = Counter()
    for fact in requests:
        for t in (*fact.escalations, *fact.reopens):
            if t in period and t <= now:
                came[t.astimezone(zone).date()] += 1
        for t in fact.solves:
            if t in period and t <= now:
                went[t.astimezone(zone).date()] += 1
    days = []
    day = period.start.astimezone(zone).date()
    last = (at - timedelta(microseconds=1)).astimezone(zone).date()
    while day <= last:
        days.append(
            {"day": day.isoformat(), "in": came[day], "solved": went[day], "net": came[day] - went[day]}
        )
        day += timedelta(days=1)
    return {
        "at": at.isoformat(),
        "open": len(stock),
        "open_from_before_the_period": started[True],
        "ages_business_days": {name: ages[name] for _, _, name in AGE_BUCKETS},
        "flow": {"in": sum(came.values()), "solved": sum(went.values())},
        "daily": days,
        "open_references": sorted(str(row["reference"]) for row in stock),
        "open_tickets": stock,  # most severe first, then oldest
    }


def volume(
    requests: Sequence[RequestFact],
    follow_ups: Sequence[datetime],
    period: Period,
    calendar: BusinessCalendar,
) -> dict[str, object]:
    """Mail that arrived in the period: by outcome, language, local day, weekday and weekday x hour."""
    zone = calendar.zone
    arrived = [fact for fact in requests if fact.arrived_at in period]
    local = [fact.arrived_at.astimezone(zone) for fact in arrived if fact.is_request]
    heat = [[0] * 24 for _ in WEEKDAY_NAMES]
    for at in local:
        heat[at.weekday()][at.hour] += 1
    by_day = Counter(at.date().isoformat() for at in local)
    return {
        "requests": len(local),
        "follow_ups": sum(1 for at in follow_ups if at in period),
        "by_outcome": dict(Counter(fact.outcome for fact in arrived)),
        "by_language": dict(Counter(fact.language or "unknown" for fact in arrived if fact.is_request)),
        "by_day": dict(sorted(by_day.items())),
        "by_weekday": {name: sum(heat[i]) for i, name in enumerate(WEEKDAY_NAMES)},
        "weekday_hour": {name: heat[i] for i, name in enumerate(WEEKDAY_NAMES)},
        "by_article": dict(
            Counter(fact.article_id for fact in arrived if fact.outcome == "answered").most_common()
        ),
    }
