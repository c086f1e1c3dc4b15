"""A client's report for a period, computed once for the command line and the scheduled mail alike:
the facts read, the figures built (with the period before, for the measures and the comparison), the
period's measures settled, the facts as CSV. The one write is the measures (measure_store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mailbot.app import App
from mailbot.reports.load import load_facts
from mailbot.reports.measure_store import settle
from mailbot.reports.measures import recommend
from mailbot.reports.period import Period
from mailbot.reports.report import Contract, build_report, facts_csv, history_start


@dataclass(frozen=True)
class Produced:
    report: dict[str, Any]
    facts_csv: str


def contract_of(app: App) -> Contract:
    sla = app.settings.sla
    return Contract(
        window_days=app.settings.report.window_business_days,
        acknowledgement_is_response=sla.acknowledgement_is_response,
        near_miss=sla.near_miss,
        around_the_clock=frozenset(str(severity) for severity in sla.around_the_clock()),
    )


def produce(app: App, period: Period, now: datetime, *, compare: bool = False) -> Produced:
    contract = contract_of(app)
    before = period.previous()
    with app.sessions() as session:
        facts = load_facts(session, app.mailbox, history_start(before), now)
    report = build_report(facts, period, app.calendar, now, contract)
    previous = build_report(facts, before, app.calendar, now, contract)
    if compare:
        report["previous"] = previous
    with app.sessions.begin() as session:  # the measures, once per period
        report["measures"] = settle(session, app.mailbox, period, recommend(report, previous), now)
    return Produced(report, facts_csv(facts.requests, period, app.calendar, now, contract.window_days))
