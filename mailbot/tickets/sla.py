"""SLA due times and their state, pure functions of the business calendar and the contract's targets.

No I/O and no "now" of its own: the caller passes the instant, so the SLA watch, the replies ("we will
respond by Tuesday 10:00") and the tests all compute the same thing.

Each severity class counts on its own calendar (`[sla.<class>] calendar`): the business calendar, or
around the clock for faults the contract promises to handle without delay, so that an outage on the
Thursday before Easter is due that night and not on Tuesday. `sla_calendar` is the one place that
picks it; everything here that measures a ticket's time goes through it.

A clock starts when the mail reached the mailbox (`clock_start`), as far as mailbot can tell: the
delivery time the server records (IMAP INTERNALDATE, the Maildir file's time), but never more than
`[sla] start_skew_minutes` before mailbot took the mail, because a mail moved back into the inbox
from an archive keeps its old INTERNALDATE and must not be overdue the moment it is read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from mailbot.clock import BusinessCalendar
from mailbot.config import SlaSettings
from mailbot.domain import Severity


@dataclass(frozen=True)
class SlaDue:
    """When the SLA clock started and when response and resolution are due (calendar zone)."""

    started_at: datetime  # when the SLA clock started (received, or the next opening)
    response_due: datetime  # the last instant that still meets the response target
    resolution_due: datetime


class SlaState(StrEnum):
    OK = "ok"
    WARN = "warn"  # `warn_at` of the business time up to the due time is used up
    BREACHED = "breached"  # past the due time


def clock_start(received_at: datetime, ingested_at: datetime, skew: timedelta) -> datetime:
    """When the SLA clock of a mail delivered at `received_at` and taken by mailbot at `ingested_at` may
    start: max(received_at, ingested_at - skew), and never after `ingested_at`.

    `skew` is what normal operation puts between delivery and our fetch (the poll interval, the
    source's pause after a failure, a restart, the mail server's clock against ours). A mail older
    than that was re-filed from an archive, or waited while mailbot was not fetching: its clock starts
    `skew` before we took it. The received time itself is left alone: arrival order stays its own.
    """
    return min(max(received_at, ingested_at - skew), ingested_at)


def sla_calendar(severity: Severity | None, calendar: BusinessCalendar, sla: SlaSettings) -> BusinessCalendar:
    """The calendar that a class's SLA clock runs on: `calendar` (the business one) or, for a class
    with `calendar = "24/7"`, one that never closes. No class (a question): the business calendar."""
    if severity is not None and sla.target(severity).calendar == "24/7":
        return calendar.around_the_clock()
    return calendar


def due_times(
    received_at: datetime, severity: Severity | None, calendar: BusinessCalendar, sla: SlaSettings
) -> SlaDue | None:
    """The due times of a fault received at `received_at` (its `clock_start`), or None for a question
    (the contract gives questions and wishes no SLA); `calendar` is the business calendar, the class
    may count around the clock instead (`sla_calendar`). Raises ValueError when the calendar never
    opens."""
    if severity is None:
        return None
    target = sla.target(severity)
    calendar = sla_calendar(severity, calendar, sla)
    started = calendar.sla_start(received_at)
    return SlaDue(
        started_at=started,
        response_due=calendar.add_business_hours(started, target.response_hours),
        resolution_due=calendar.add_business_hours(started, target.resolution_hours),
    )


def share_used(now: datetime, started_at: datetime, due: datetime, calendar: BusinessCalendar) -> float:
    """The share of the business time from `started_at` to `due` that has passed at `now`.

    Counted in business time, so a night or a holiday uses nothing; above 1 when overdue and the
    calendar has been open since the due time (1.5: half the target again).
    """
    budget = calendar.business_hours_between(started_at, due)
    if budget <= 0:  # no business time to use: all of it is used once the due time is reached
        return 1.0 if now.astimezone(UTC) >= due.astimezone(UTC) else 0.0
    return calendar.business_hours_between(started_at, now) / budget


def response_state(now: datetime, due: SlaDue, calendar: BusinessCalendar, warn_at: float) -> SlaState:
    """Breached after the response due time, a warning once `warn_at` of the target is used, else ok.

    Breach is decided by the instant, not by the share, because a target that runs out at 17:00 is
    still missed at 17:30 when the calendar has been closed in between.
    """
    if now.astimezone(UTC) > due.response_due.astimezone(UTC):
        return SlaState.BREACHED
    if share_used(now, due.started_at, due.response_due, calendar) >= warn_at:
        return SlaState.WARN
    return SlaState.OK
