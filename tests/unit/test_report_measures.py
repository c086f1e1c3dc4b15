"""Recommended measures: each rule fires on its figure, with the figure, and only on enough mail."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from mailbot.clock import BusinessCalendar
from mailbot.reports.facts import Facts, RequestFact
from mailbot.reports.measures import recommend
from mailbot.reports.period import month
from mailbot.reports.report import Contract, build_report

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar(BERLIN, ((((time(9), time(17)),),) * 5) + ((), ()), frozenset())
NOW = datetime(2026, 12, 1, 10, tzinfo=BERLIN)


def at(day: int, month_number: int = 11, hour: int = 10) -> datetime:
    return datetime(2026, month_number, day, hour, tzinfo=BERLIN)


def answered(number: int, arrived: datetime, article: str, failed: bool = False) -> RequestFact:
    failures = ((arrived + timedelta(hours=1), "negative"),) if failed else ()
    return RequestFact(
        number, "a", arrived, "answered", article_id=article, first_auto_reply_at=arrived, failures=failures
    )


def figures(requests: list[RequestFact], label: str = "2026-11") -> dict:
    return build_report(Facts("a", tuple(requests)), month(label, BERLIN), CALENDAR, NOW, Contract())


def test_an_article_whose_answers_fail_is_to_be_revised_with_its_figure() -> None:
    facts = [answered(n, at(2), "invoice", failed=n < 3) for n in range(5)]
    facts += [answered(10 + n, at(2), "password") for n in range(20)]
    [measure] = [m for m in recommend(figures(facts)) if m.code == "revise_article"]
    assert (measure.subject, measure.n, measure.line) == ("invoice", 5, 0.9)
    assert measure.value < 0.9
    assert "Artikel invoice überarbeiten" in measure.text("de") and "%" in measure.text("de")
    few = [answered(n, at(2), "invoice", failed=True) for n in range(4)]  # 4 judged: too few to say
    assert not [m for m in recommend(figures(few)) if m.code == "revise_article"]


def test_a_topic_that_grew_by_more_than_half_on_enough_mail_is_a_trend() -> None:
    october = [answered(n, at(5, 10), "password") for n in range(4)]
    november = [answered(100 + n, at(5), "password") for n in range(12)]
    report, previous = figures(october + november), figures(october + november, "2026-10")
    [measure] = [m for m in recommend(report, previous) if m.code == "growing_topic"]
    assert (measure.subject, measure.n, measure.value) == ("password", 12, 3.0)
    small = [answered(n, at(5), "password") for n in range(9)]  # 9 after 0: no trend yet
    assert not [m for m in recommend(figures(small), figures(small, "2026-10")) if m.code == "growing_topic"]


def test_sla_breaches_and_old_backlog() -> None:
    facts = []
    for n in range(5):
        start = at(2 + n)
        reply = start + timedelta(hours=1 if n < 3 else 6)  # two of five late (target 2 h)
        facts.append(
            RequestFact(
                n, "a", start, "escalated", severity="critical", sla_started_at=start,
                response_due_at=start + timedelta(hours=2), human_replies=(reply,), escalations=(start,),
                solves=(reply,),
            )
        )  # fmt: skip
    stale = at(3)
    facts.append(RequestFact(99, "a", stale, "escalated", reference="A-99", escalations=(stale,)))
    codes = {m.key: m for m in recommend(figures(facts))}
    assert codes["sla_breaches:critical/response"].value == 0.6
    assert codes["old_backlog:all"].value == 1
    assert "SLA kritisch / Reaktion: 60\u00a0% eingehalten" in codes["sla_breaches:critical/response"].text(
        "de"
    )


def test_a_quiet_month_recommends_nothing() -> None:
    assert recommend(figures([])) == []


def test_a_knowledge_base_gap_with_enough_requests_asks_for_an_article() -> None:
    report = figures([])
    report["gaps"] = [
        {"gap_id": "gap-0003", "terms": ["gutschein", "einlösen", "code"], "requests": 6, "first_seen": ""},
        {"gap_id": "gap-0004", "terms": ["lastschrift"], "requests": 4, "first_seen": ""},
    ]
    [measure] = recommend(report)
    assert (measure.code, measure.subject, measure.value) == (
        "write_article",
        "gap-0003 (gutschein, einlösen, code)",
        6,
    )
    assert "mailbot kb gaps" in measure.text("de")


def test_articles_an_agent_relabels_are_a_confusion_pair_and_asked_to_be_sharpened() -> None:
    from dataclasses import replace

    facts = [replace(answered(n, at(2), "invoice"), agent_article="refund") for n in range(3)]
    facts.append(replace(answered(9, at(2), "invoice"), agent_article="invoice"))  # confirmed: no pair
    report = figures(facts)
    assert report["confusions"] == [{"predicted": "invoice", "agent": "refund", "n": 3}]
    [measure] = [m for m in recommend(report) if m.code == "sharpen_articles"]
    assert measure.subject == "invoice → refund" and "verwechselt" in measure.text("de")
