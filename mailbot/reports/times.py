"""Response and resolution times in business time, and SLA compliance per severity class.

Each figure has its cohort, so a month's figure does not change with the next month's work: first
response times belong to the period in which the first human answer was given, resolution times to the
period in which the ticket was solved (a ticket created in September and solved in October counts in
October), and SLA targets to the period in which they were due. A target is *achieved* when met by its
due time, *breached* when met late **or still open after it** (as of `now`), and left out while open and
not yet due; an achieved target that used at least `near_miss` of its time (default 80 %) is a near miss.
Whether the automatic acknowledgement is the contractual first response is the contract's choice
(`acknowledgement_is_response`, default: only a person's answer counts). Formulas: docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from mailbot.clock import BusinessCalendar
from mailbot.reports.facts import RequestFact
from mailbot.reports.period import Period
from mailbot.reports.stats import Ratio, summary

SEVERITIES = ("critical", "major", "minor", "cosmetic")
NEAR_MISS = 0.8


def business_minutes(calendar: BusinessCalendar, start: datetime, end: datetime) -> float:
    return calendar.business_hours_between(start, end) * 60


def elapsed_hours(start: datetime, end: datetime) -> float:
    """Calendar hours between two instants. In UTC: Python subtracts two times of one zone by their
    wall clocks, so Friday 16:00 CEST to Monday 10:00 CET would read 66 hours instead of 67."""
    return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600


def first_response_at(fact: RequestFact, acknowledgement_is_response: bool = False) -> datetime | None:
    """The contractual first response: a person's first answer, or the automatic acknowledgement when
    the contract counts it."""
    found = [at for at in fact.human_replies if at >= fact.clock_start]
    if acknowledgement_is_response and fact.first_acknowledgement_at is not None:
        found.append(fact.first_acknowledgement_at)
    return min(found, default=None)


def _durations(
    pairs: Sequence[tuple[RequestFact, datetime, datetime]], calendar: BusinessCalendar
) -> dict[str, object]:
    """Per severity and overall: business minutes and calendar hours of (fact, start, end) triples."""
    groups: dict[str, list[tuple[datetime, datetime]]] = {"all": []}
    for fact, start, end in pairs:
        groups["all"].append((start, end))
        groups.setdefault(fact.severity or "none", []).append((start, end))
    return {
        name: {
            "business_minutes": summary([business_minutes(calendar, s, e) for s, e in spans]),
            "calendar_hours": summary([elapsed_hours(s, e) for s, e in spans]),
        }
        for name, spans in groups.items()
    }


def response_times(
    requests: Sequence[RequestFact],
    period: Period,
    calendar: BusinessCalendar,
    acknowledgement_is_response: bool = False,
) -> dict[str, object]:
    """First response times of the tickets first answered in `period`, and the time to the first
    automatic reply of the requests that arrived in it."""
    responded = []
    for fact in requests:
        at = first_response_at(fact, acknowledgement_is_response)
        if at is not None and at in period:
            responded.append((fact, fact.clock_start, at))
    automatic = [
        elapsed_hours(fact.arrived_at, fact.first_auto_reply_at) * 60
        for fact in requests
        if fact.arrived_at in period and fact.first_auto_reply_at is not None
    ]
    return {
        "first_response": _durations(responded, calendar),
        "first_automatic_reply_minutes": summary(automatic),
    }


def resolution_times(
    requests: Sequence[RequestFact], period: Period, calendar: BusinessCalendar
) -> dict[str, object]:
    """First resolution (to the first solve) of tickets first solved in `period`, full resolution (to
    the last solve) of tickets last solved in it."""
    first = [(f, f.clock_start, min(f.solves)) for f in requests if f.solves and min(f.solves) in period]
    full = [(f, f.clock_start, max(f.solves)) for f in requests if f.solves and max(f.solves) in period]
    return {"first_resolution": _durations(first, calendar), "full_resolution": _durations(full, calendar)}


@dataclass(frozen=True)
class TargetResult:
    """One SLA target of one ticket that falls in the period."""

    reference: str
    severity: str
    target: str  # "response" or "resolution"
    due_at: datetime
    done_at: datetime | None
    status: str  # achieved, breached
    used: float  # share of the target's business time used (as of `now` when still open)
    overrun_minutes: float  # business minutes past due (0 when achieved)

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "severity": self.severity,
            "target": self.target,
            "due_at": self.due_at.isoformat(),
            "done_at": self.done_at.isoformat() if self.done_at else None,
            "status": self.status,
            "used": round(self.used, 4),
            "overrun_minutes": round(self.overrun_minutes, 1),
        }


def targets(
    requests: Sequence[RequestFact],
    period: Period,
    calendar: BusinessCalendar,
    now: datetime,
    acknowledgement_is_response: bool = False,
    around_the_clock: frozenset[str] = frozenset(),
) -> list[TargetResult]:
    """Every response and resolution target due in `period` and settled by `now` (achieved or
    breached); open targets not yet due are left out. The classes in `around_the_clock` are measured
    on the 24/7 calendar, as their targets run on it."""
    always = calendar.around_the_clock()
    found = []
    for fact in requests:
        if fact.severity is None or fact.sla_started_at is None:
            continue
        clock = always if fact.severity in around_the_clock else calendar
        response = first_response_at(fact, acknowledgement_is_response)
        resolved = min((at for at in fact.solves if at >= fact.sla_started_at), default=None)
        for target, due, done in (
            ("response", fact.response_due_at, response),
            ("resolution", fact.resolution_due_at, resolved),
        ):
            if due is None or due not in period:
                continue
            if done is None and due > now:
                continue  # in progress
            allowed = business_minutes(clock, fact.sla_started_at, due)
            used_until = done if done is not None else now
            used = business_minutes(clock, fact.sla_started_at, used_until)
            achieved = done is not None and done <= due
            found.append(
                TargetResult(
                    reference=fact.reference or f"#{fact.inbound_id}",
                    severity=fact.severity,
                    target=target,
                    due_at=due,
                    done_at=done,
                    status="achieved" if achieved else "breached",
                    used=used / allowed if allowed else 1.0,
                    overrun_minutes=0.0 if achieved else business_minutes(clock, due, used_until),
                )
            )
    return found


def compliance(results: Sequence[TargetResult], near_miss: float = NEAR_MISS) -> dict[str, object]:
    """Per severity class and target: achieved / (achieved + breached), the near misses among the
    achieved, and the breaches and near misses themselves (worst overrun first)."""
    table: dict[str, dict[str, object]] = {}
    for severity in SEVERITIES:
        row: dict[str, object] = {}
        for target in ("response", "resolution"):
            mine = [r for r in results if r.severity == severity and r.target == target]
            achieved = [r for r in mine if r.status == "achieved"]
            row[target] = {
                "compliance": Ratio(len(achieved), len(mine)).as_dict(),
                "breached": len(mine) - len(achieved),
                "near_misses": sum(r.used >= near_miss for r in achieved),
            }
        table[severity] = row
    breaches = sorted((r for r in results if r.status == "breached"), key=lambda r: -r.overrun_minutes)
    near = sorted(
        (r for r in results if r.status == "achieved" and r.used >= near_miss), key=lambda r: -r.used
    )
    return {
        "by_severity": table,
        "breaches": [r.as_dict() for r in breaches],
        "near_misses": [r.as_dict() for r in near],
    }


def reopens(requests: Sequence[RequestFact], period: Period, now: datetime) -> dict[str, object]:
    """Of the tickets solved in `period`: how many were reopened after that solve (by `now`), and how
    many were solved with one human answer and never reopened (one-touch)."""
    solved = [f for f in requests if any(at in period for at in f.solves)]
    reopened = 0
    for fact in solved:
        first_in_period = min(at for at in fact.solves if at in period)
        reopened += any(first_in_period < at <= now for at in fact.reopens)
    one_touch = sum(len(f.human_replies) == 1 and not f.reopens for f in solved)
    return {
        "solved": len(solved),
        "reopen_rate": Ratio(reopened, len(solved)).as_dict(),
        "one_touch_rate": Ratio(one_touch, len(solved)).as_dict(),
    }


def severity_confusion(requests: Sequence[RequestFact], period: Period) -> dict[str, object]:
    """Guessed against final severity of the requests that arrived in `period` ("none": no fault), and
    how many an agent corrected: where the guess goes wrong, for the severity model's next examples."""
    names = (*SEVERITIES, "none")
    table = {guess: dict.fromkeys(names, 0) for guess in names}
    corrected = 0
    for fact in requests:
        if fact.arrived_at not in period or fact.outcome != "escalated":
            continue
        table[fact.guessed_severity or "none"][fact.severity or "none"] += 1
        corrected += fact.severity_corrected
    return {"guessed_by_final": table, "corrected": corrected}
