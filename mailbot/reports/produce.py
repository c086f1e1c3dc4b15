"""A client's report for a period, computed once for the command line and the scheduled mail alike:
the facts read, the figures built (with the period before, for the measures and the comparison), the
period's measures settled, the facts as CSV. The one write is the measures (measure_store)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import KnowledgeBaseGap
from mailbot.reports.facts import Facts
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
    with app.sessions() as session:
        report["gaps"] = open_gaps(session, app.mailbox, facts, period)
    if compare:
        report["previous"] = previous
    with app.sessions.begin() as session:  # the measures, once per period
        report["measures"] = settle(session, app.mailbox, period, recommend(report, previous), now)
    return Produced(report, facts_csv(facts.requests, period, app.calendar, now, contract.window_days))


def open_gaps(session: Session, mailbox: str, facts: Facts, period: Period) -> list[dict[str, Any]]:
    """The knowledge-base gaps `mailbot kb gaps` found with mail of this period, largest first: named by
    their top terms (never a customer's words), with how many of the period's requests they hold."""
    arrived = {fact.inbound_id for fact in facts.requests if fact.arrived_at in period}
    found = []
    for gap in session.scalars(select(KnowledgeBaseGap).where(KnowledgeBaseGap.mailbox == mailbox)):
        in_period = len(arrived.intersection(gap.members or ()))
        if in_period:
            terms = sorted((gap.terms or {}).items(), key=lambda item: -item[1])[:5]
            found.append(
                {
                    "gap_id": gap.gap_id,
                    "terms": [term for term, _ in terms],
                    "requests": in_period,
                    "first_seen": gap.first_seen_at.isoformat(),
                }
            )
    return sorted(found, key=lambda row: (-row["requests"], row["gap_id"]))
