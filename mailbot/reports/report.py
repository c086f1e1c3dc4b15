"""A client's report for a period as one JSON-able dict (the source of truth; HTML, CSV and mail render
it), and the period's facts as CSV rows for clients who run their own analyses.

Only the client's own facts go in, and no customer address or text: requests are named by ticket
reference, articles by id.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from mailbot.clock import BusinessCalendar
from mailbot.logredact import mask_addresses
from mailbot.reports.backlog import backlog, volume
from mailbot.reports.drift import drift
from mailbot.reports.facts import Facts, RequestFact
from mailbot.reports.outcomes import articles, automation, confusions, judge_all
from mailbot.reports.period import Period
from mailbot.reports.times import (
    compliance,
    reopens,
    resolution_times,
    response_times,
    severity_confusion,
    targets,
)

REPORT_VERSION = 1
HISTORY = timedelta(days=183)  # requests older than the period still counted: solved or repeated in it


@dataclass(frozen=True)
class Contract:
    """What the client's contract says about judging: mailbot.config [sla] and [report]."""

    window_days: int = 3
    acknowledgement_is_response: bool = False
    near_miss: float = 0.8
    around_the_clock: frozenset[str] = frozenset()


def history_start(period: Period) -> datetime:
    """From when facts must be loaded for `period`'s cohorts."""
    return period.start - HISTORY


def build_report(
    facts: Facts, period: Period, calendar: BusinessCalendar, now: datetime, contract: Contract
) -> dict[str, object]:
    """Every figure of `period` (docs/metrics.md); `facts` must reach back to `history_start` of the
    period before (drift compares with it)."""
    requests = facts.requests
    results = targets(
        requests, period, calendar, now, contract.acknowledgement_is_response, contract.around_the_clock
    )
    judged = judge_all(requests, calendar, now, contract.window_days)  # once for both tables
    figures = automation(requests, period, calendar, now, contract.window_days, judged)
    return {
        "version": REPORT_VERSION,
        "client": facts.mailbox,
        "period": {"label": period.label, "start": period.start.isoformat(), "end": period.end.isoformat()},
        "generated_at": now.isoformat(),
        "complete": now >= period.end,
        "contract": {
            "window_business_days": contract.window_days,
            "acknowledgement_is_response": contract.acknowledgement_is_response,
            "near_miss": contract.near_miss,
        },
        "volume": volume(requests, facts.follow_ups, period, calendar),
        "automation": figures.as_dict(),
        "articles": [
            row.as_dict() for row in articles(requests, period, calendar, now, contract.window_days, judged)
        ],
        "confusions": confusions(requests, period),
        "response_times": response_times(requests, period, calendar, contract.acknowledgement_is_response),
        "resolution_times": resolution_times(requests, period, calendar),
        "sla": compliance(results, contract.near_miss),
        "severity": severity_confusion(requests, period),
        "reopens": reopens(requests, period, now),
        "backlog": backlog(requests, period, calendar, now),
        "drift": drift(requests, period, period.previous(), calendar),
        "gaps": [],  # filled from the kb_gaps rows by reports.produce (mailbot kb gaps finds them)
    }


CSV_COLUMNS = (
    "reference",
    "arrived_at",
    "outcome",
    "language",
    "article_id",
    "confidence",
    "threshold",
    "answer_outcome",
    "failure",
    "severity",
    "sla_started_at",
    "response_due_at",
    "resolution_due_at",
    "first_auto_reply_at",
    "first_human_reply_at",
    "first_solved_at",
    "last_solved_at",
    "reopens",
    "ignore_reason",
)


def facts_csv(
    requests: Sequence[RequestFact],
    period: Period,
    calendar: BusinessCalendar,
    now: datetime,
    window_days: int,
) -> str:
    """One row per request that arrived in `period` (UTC ISO times; no addresses, no text)."""
    judged = judge_all(requests, calendar, now, window_days)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for fact in requests:
        if fact.arrived_at not in period:
            continue
        verdict = judged.get(fact.inbound_id)
        writer.writerow(
            [
                fact.reference or f"#{fact.inbound_id}",
                _iso(fact.arrived_at),
                fact.outcome,
                fact.language or "",
                fact.article_id or "",
                "" if fact.confidence is None else f"{fact.confidence:.4f}",
                "" if fact.threshold is None else f"{fact.threshold:.4f}",
                verdict.outcome.value if verdict else "",
                (verdict.failure or "") if verdict else "",
                fact.severity or "",
                _iso(fact.sla_started_at),
                _iso(fact.response_due_at),
                _iso(fact.resolution_due_at),
                _iso(fact.first_auto_reply_at),
                _iso(fact.first_human_reply_at),
                _iso(min(fact.solves, default=None)),
                _iso(max(fact.solves, default=None)),
                len(fact.reopens),
                _csv_safe(fact.ignore_reason or ""),
            ]
        )
    return out.getvalue()


def _iso(at: datetime | None) -> str:
    return "" if at is None else at.isoformat()


def _csv_safe(text: str) -> str:
    """A cell on one line, addresses masked, that a spreadsheet will not run as a formula."""
    text = mask_addresses(" ".join(text.split())[:300])
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
