"""What became of the automatic answers: confirmed, assumed, failed or still pending.

An automatic answer is an *automated resolution* when nothing says it failed within the window
(default 3 business days after it went out): *confirmed* when the customer thanked, *assumed* when
they were silent. It *failed* when, within the window, a failure signal came (reports.failure: "hilft
nicht", a request for a person, the same question again), the customer's reply took the ticket to the
2nd level anyway, an agent reopened it, or the same customer asked the same article's question again in
a new mail. While the window is open and nothing failed it is *pending*, outside every denominator.
A failure is final at once; a thank-you is counted only when the window has closed (a "danke" followed
by "geht doch nicht" on the next day is a failure). Formulas: docs/metrics.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import pairwise

from mailbot.clock import BusinessCalendar
from mailbot.reports.facts import RequestFact
from mailbot.reports.period import Period
from mailbot.reports.stats import Ratio, wilson

DEFAULT_WINDOW_DAYS = 3
NEAR_MISS = 0.5  # as tickets.agent_mail.SUGGEST_FROM: more likely right than wrong, yet not answered


class AnswerOutcome(StrEnum):
    CONFIRMED = "confirmed"
    ASSUMED = "assumed"
    FAILED = "failed"
    PENDING = "pending"


@dataclass(frozen=True)
class Judged:
    """An automatic answer's outcome and, when it failed, why (a failure kind, "escalated" or
    "reopened")."""

    outcome: AnswerOutcome
    failure: str | None = None


def repeats(
    requests: Iterable[RequestFact], calendar: BusinessCalendar, window_days: int
) -> dict[int, datetime]:
    """Answered requests whose customer asked the same article's question again in a new mail within
    the window: inbound id of the answered request -> when the repeat arrived."""
    by_asker: dict[tuple[str, str], list[RequestFact]] = {}
    for fact in sorted(requests, key=lambda f: f.arrived_at):
        if fact.is_request and fact.customer_key and fact.article_id:
            by_asker.setdefault((fact.customer_key, fact.article_id), []).append(fact)
    found: dict[int, datetime] = {}
    for asked in by_asker.values():
        for earlier, later in pairwise(asked):
            if earlier.outcome != "answered":
                continue
            start = earlier.first_auto_reply_at or earlier.arrived_at
            if start <= later.arrived_at < calendar.add_business_days(start, window_days):
                found[earlier.inbound_id] = later.arrived_at
    return found


def judge(
    fact: RequestFact,
    calendar: BusinessCalendar,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    repeated_at: datetime | None = None,
) -> Judged | None:
    """The outcome of an automatic answer as of `now` (None for a request that was not answered)."""
    if fact.outcome != "answered":
        return None
    start = fact.first_auto_reply_at or fact.arrived_at
    closes = calendar.add_business_days(start, window_days)

    def within(at: datetime) -> bool:
        return start <= at < closes and at <= now

    # (when, rank, kind): at the same moment the customer's own words (rank 0) explain a failure
    # better than the escalation they caused
    signals = [(at, 0, kind) for at, kind in fact.failures if within(at)]
    signals += [(at, 1, "escalated") for at in fact.escalations if within(at)]
    signals += [(at, 1, "reopened") for at in fact.reopens if within(at)]
    if repeated_at is not None and within(repeated_at):
        signals.append((repeated_at, 0, "repeat"))
    if signals:
        return Judged(AnswerOutcome.FAILED, min(signals)[2])
    if now < closes:
        return Judged(AnswerOutcome.PENDING)
    if any(within(at) for at in fact.thanks):
        return Judged(AnswerOutcome.CONFIRMED)
    return Judged(AnswerOutcome.ASSUMED)


@dataclass(frozen=True)
class Automation:
    """The automation figures of the requests that arrived in a period."""

    requests: int  # answered + escalated
    outcomes: Counter[str]  # answered, escalated, ignored, quarantined
    answers: Counter[str]  # confirmed, assumed, failed, pending
    failures: Counter[str]  # why the failed ones failed
    answer_rate: Ratio  # answered / requests
    precision: Ratio  # (confirmed + assumed) / (confirmed + assumed + failed)
    automation_rate: Ratio  # (confirmed + assumed) / (requests - pending)
    escalation_rate: Ratio  # escalated / requests

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "outcomes": dict(self.outcomes),
            "answers": {kind.value: self.answers[kind.value] for kind in AnswerOutcome},
            "failures": dict(self.failures),
            "answer_rate": self.answer_rate.as_dict(),
            "precision": self.precision.as_dict(),
            "automation_rate": self.automation_rate.as_dict(),
            "escalation_rate": self.escalation_rate.as_dict(),
        }


def judge_all(
    requests: Sequence[RequestFact], calendar: BusinessCalendar, now: datetime, window_days: int
) -> dict[int, Judged]:
    """Every answered request's outcome, by inbound id (repeats are looked for among all `requests`)."""
    again = repeats(requests, calendar, window_days)
    judged = {}
    for fact in requests:
        verdict = judge(fact, calendar, now, window_days, again.get(fact.inbound_id))
        if verdict is not None:
            judged[fact.inbound_id] = verdict
    return judged


def automation(
    requests: Sequence[RequestFact],
    period: Period,
    calendar: BusinessCalendar,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    judged: Mapping[int, Judged] | None = None,
) -> Automation:
    """Requests that arrived in `period`, judged as of `now` (later mail of the same customers counts:
    pass every request that may repeat one of the period's)."""
    if judged is None:  # `judged`: judge_all's result, when the caller has it already
        judged = judge_all(requests, calendar, now, window_days)
    arrived = [fact for fact in requests if fact.arrived_at in period]
    outcomes = Counter(fact.outcome for fact in arrived)
    answers: Counter[str] = Counter()
    failures: Counter[str] = Counter()
    for fact in arrived:
        verdict = judged.get(fact.inbound_id)
        if verdict is not None:
            answers[verdict.outcome.value] += 1
            if verdict.failure:
                failures[verdict.failure] += 1
    requested = outcomes["answered"] + outcomes["escalated"]
    resolved = answers["confirmed"] + answers["assumed"]
    return Automation(
        requests=requested,
        outcomes=outcomes,
        answers=answers,
        failures=failures,
        answer_rate=Ratio(outcomes["answered"], requested),
        precision=Ratio(resolved, resolved + answers["failed"]),
        automation_rate=Ratio(resolved, requested - answers["pending"]),
        escalation_rate=Ratio(outcomes["escalated"], requested),
    )


@dataclass(frozen=True)
class ArticleFigures:
    """One article's automatic answers in a period."""

    article_id: str
    answers: Counter[str] = field(default_factory=Counter)
    failed_inbound_ids: tuple[int, ...] = ()
    failed_references: tuple[str, ...] = ()  # the tickets behind the failures, for the team to read
    near_misses: tuple[str, ...] = ()  # escalated, this article best at NEAR_MISS or more: references

    @property
    def resolved(self) -> int:
        return self.answers["confirmed"] + self.answers["assumed"]

    @property
    def precision(self) -> Ratio:
        return Ratio(self.resolved, self.resolved + self.answers["failed"])

    @property
    def interval(self) -> tuple[float, float] | None:
        """Wilson 95 % interval of the precision."""
        return wilson(self.resolved, self.resolved + self.answers["failed"])

    @property
    def failure_floor(self) -> float:
        """Lower bound of the failure rate (1 - the precision's upper bound): the ranking key, so an
        article with few uses does not top the list by chance."""
        interval = self.interval
        return 0.0 if interval is None else 1 - interval[1]

    def as_dict(self) -> dict[str, object]:
        interval = self.interval
        return {
            "article_id": self.article_id,
            "answers": {kind.value: self.answers[kind.value] for kind in AnswerOutcome},
            "precision": self.precision.as_dict(),
            "precision_interval": list(interval) if interval else None,
            "failure_floor": self.failure_floor,
            "failed_inbound_ids": list(self.failed_inbound_ids),
            "failed_references": list(self.failed_references),
            "near_misses": len(self.near_misses),
            "near_miss_references": list(self.near_misses),
        }


def articles(
    requests: Sequence[RequestFact],
    period: Period,
    calendar: BusinessCalendar,
    now: datetime,
    window_days: int = DEFAULT_WINDOW_DAYS,
    judged: Mapping[int, Judged] | None = None,
) -> list[ArticleFigures]:
    """Per article (answered, or near-missed by escalated requests), worst first: highest failure
    floor, then most failures, then most near misses, then the id."""
    if judged is None:  # `judged`: judge_all's result, when the caller has it already
        judged = judge_all(requests, calendar, now, window_days)
    counts: dict[str, Counter[str]] = {}
    failed: dict[str, list[RequestFact]] = {}
    near: dict[str, list[str]] = {}
    for fact in requests:
        if fact.arrived_at not in period or fact.article_id is None:
            continue
        if is_near_miss(fact):
            near.setdefault(fact.article_id, []).append(fact.reference or f"#{fact.inbound_id}")
        verdict = judged.get(fact.inbound_id)
        if verdict is None:
            continue
        counts.setdefault(fact.article_id, Counter())[verdict.outcome.value] += 1
        if verdict.outcome is AnswerOutcome.FAILED:
            failed.setdefault(fact.article_id, []).append(fact)
    table = []
    for article in sorted(counts.keys() | near.keys()):
        behind = failed.get(article, [])
        table.append(
            ArticleFigures(
                article,
                counts.get(article, Counter()),
                tuple(f.inbound_id for f in behind),
                tuple(f.reference or f"#{f.inbound_id}" for f in behind),
                tuple(near.get(article, ())),
            )
        )
    return sorted(
        table,
        key=lambda row: (-row.failure_floor, -row.answers["failed"], -len(row.near_misses), row.article_id),
    )


def is_near_miss(fact: RequestFact) -> bool:
    """An escalated request whose best article was at least NEAR_MISS confident, below the threshold."""
    if fact.outcome != "escalated" or fact.confidence is None or fact.threshold is None:
        return False
    return NEAR_MISS <= fact.confidence < fact.threshold


def confusions(requests: Sequence[RequestFact], period: Period) -> list[dict[str, object]]:
    """Articles the classifier chose (answered, or best when escalated) that an agent then said were
    another (`kb learn`): (predicted, agent's) pairs with their count, most frequent first. Frequent
    pairs ask to merge or sharpen the two articles."""
    pairs = Counter(
        (fact.article_id, fact.agent_article)
        for fact in requests
        if fact.arrived_at in period
        and fact.article_id
        and fact.agent_article
        and fact.agent_article != fact.article_id
    )
    return [
        {"predicted": predicted, "agent": agent, "n": n}
        for (predicted, agent), n in sorted(pairs.items(), key=lambda item: (-item[1], item[0]))
    ]
