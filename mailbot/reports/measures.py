"""Recommended measures: what a report's figures ask the agency to do, each with the figure behind it.

A table of rules read top to bottom, like mailbot.rules: each looks at the report (and the period
before) and names measures with the figure that triggered them, its value and the line it crossed.
Trends are flagged only on enough mail (n >= 20, or the rule's own minimum): a topic that went from 2
to 4 mails is no trend. The next report says what became of them (mailbot.reports.measure_store).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mailbot.reports.drift import PSI_ALERT

TARGET_PRECISION = 0.9  # an article whose precision cannot reach this (upper Wilson bound) is revised
MIN_JUDGED = 5  # automatic answers of an article judged (resolved or failed) before it is judged
MIN_TREND = 10  # mails of a topic before its growth is a trend
GROWTH = 1.5  # "grew by more than half"
SLA_COMPLIANCE = 0.9
MIN_SLA = 5
REOPEN_RATE = 0.1
MIN_SOLVED = 10
HUMAN_REQUESTS = 3
CONFUSED = 3  # an agent put the classifier's article's questions under another this often
GAP_REQUESTS = 5  # a gap holding this many of the period's requests asks for an article
MIN_DRIFT = 20  # requests before a shift of topics is a trend
OLD_BACKLOG = ">5"  # the age bucket (business days) whose tickets need a follow-up


@dataclass(frozen=True)
class Measure:
    """One recommendation: `code` names the rule, `subject` what it is about (an article, a class)."""

    code: str
    subject: str
    figure: str  # which figure triggered it
    value: float | int
    line: float | int  # the value it crossed
    n: int  # how many mails or tickets the figure rests on

    @property
    def key(self) -> str:
        return f"{self.code}:{self.subject}"

    def text(self, language: str) -> str:
        share = self.code in SHARES
        value, line = (shown(x, language, share) for x in (self.value, self.line))
        subject = self.subject
        if self.code == "sla_breaches" and language == "de":
            severity, _, target = subject.partition("/")
            subject = f"{SEVERITY_DE.get(severity, severity)} / {TARGET_DE.get(target, target)}"
        return TEXTS[self.code][language].format(subject=subject, value=value, line=line, n=self.n)

    def as_dict(self) -> dict[str, object]:
        return {
            "key": self.key,
            "code": self.code,
            "subject": self.subject,
            "figure": self.figure,
            "value": self.value,
            "line": self.line,
            "n": self.n,
            "text": {"de": self.text("de"), "en": self.text("en")},
        }


SHARES = frozenset({"revise_article", "sla_breaches", "reopens"})  # whose figures are shares (percent)


SEVERITY_DE = {"critical": "kritisch", "major": "schwerwiegend", "minor": "leicht", "cosmetic": "Darstellung"}
TARGET_DE = {"response": "Reaktion", "resolution": "Lösung"}


def shown(number: float | int, language: str, share: bool) -> str:
    """A figure as a sentence shows it: "88 %" / "1,5" in German, "88%" / "1.5" in English."""
    if share:
        text = f"{number * 100:.0f}"
        return f"{text}\u00a0%" if language == "de" else f"{text}%"
    whole = isinstance(number, int) or float(number).is_integer()
    text = f"{int(number)}" if whole else f"{number:.1f}"
    return text.replace(".", ",") if language == "de" else text


TEXTS: dict[str, dict[str, str]] = {
    "revise_article": {
        "de": "Artikel {subject} überarbeiten: seine automatischen Antworten lösen höchstens {value} "
        "der Anfragen (Ziel {line}, n = {n}).",
        "en": "Revise article {subject}: its automatic answers resolve at most {value} of requests "
        "(target {line}, n = {n}).",
    },
    "growing_topic": {
        "de": "Thema {subject} wächst ({n} Anfragen, {value}-mal so viele wie im Vormonat): mit dem "
        "Kunden klären, ob ein Produktproblem dahintersteht.",
        "en": "Topic {subject} is growing ({n} requests, {value} times the previous period): raise a "
        "possible product issue with the client.",
    },
    "sla_breaches": {
        "de": "SLA {subject}: {value} eingehalten (Ziel {line}, n = {n}): Besetzung oder Kalender prüfen.",
        "en": "SLA {subject}: {value} met (target {line}, n = {n}): review staffing or the calendar.",
    },
    "reopens": {
        "de": "{value} der gelösten Tickets wurden wieder geöffnet (n = {n}): Lösungen vor dem Schließen "
        "mit dem Kunden bestätigen.",
        "en": "{value} of solved tickets were reopened (n = {n}): confirm solutions with the customer "
        "before closing.",
    },
    "human_requests": {
        "de": "{value} Kunden baten nach einer automatischen Antwort um einen Menschen: die betroffenen "
        "Artikel und Antworttexte prüfen.",
        "en": "{value} customers asked for a person after an automatic answer: review the articles and "
        "answer texts concerned.",
    },
    "sharpen_articles": {
        "de": "Artikel {subject} werden verwechselt ({n}-mal ordnete ein Mitarbeiter die Frage dem zweiten "
        "zu): zusammenlegen oder schärfer trennen, Beispiele ergänzen.",
        "en": "Articles {subject} are confused ({n} times an agent put the question under the second): "
        "merge them or set them apart more sharply, add examples.",
    },
    "write_article": {
        "de": "Für die Wissensdatenbank-Lücke {subject} ({n} Anfragen ohne passenden Artikel) einen Artikel "
        "schreiben: Entwurf mit `mailbot kb gaps`.",
        "en": "Write an article for the knowledge-base gap {subject} ({n} requests without a fitting "
        "article): draft it with `mailbot kb gaps`.",
    },
    "topic_drift": {
        "de": "Die Themen der Anfragen haben sich verschoben (PSI {value} über {line}, n = {n}): neue "
        "Themen und Lücken der Wissensdatenbank prüfen (mailbot kb gaps).",
        "en": "The mix of topics has shifted (PSI {value} above {line}, n = {n}): look for new topics and "
        "knowledge-base gaps (mailbot kb gaps).",
    },
    "old_backlog": {
        "de": "{value} offene Tickets sind älter als 5 Arbeitstage: nachfassen oder schließen.",
        "en": "{value} open tickets are older than 5 business days: follow up or close them.",
    },
}


def _revise_articles(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    for row in report["articles"]:
        precision, interval = row["precision"], row["precision_interval"]
        if precision["whole"] >= MIN_JUDGED and interval and interval[1] < TARGET_PRECISION:
            yield Measure(
                "revise_article", row["article_id"], "precision_upper_bound", round(interval[1], 3),
                TARGET_PRECISION, precision["whole"],
            )  # fmt: skip


def _growing_topics(report: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Iterator[Measure]:
    if previous is None:
        return
    before = previous["volume"]["by_article"]
    for article, count in report["volume"]["by_article"].items():
        earlier = before.get(article, 0)
        if count >= MIN_TREND and count > GROWTH * earlier:
            ratio = count / earlier if earlier else float(count)
            yield Measure("growing_topic", article, "requests_growth", round(ratio, 2), GROWTH, count)


def _sla_breaches(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    for severity, targets in report["sla"]["by_severity"].items():
        for target, row in targets.items():
            compliance = row["compliance"]
            if compliance["whole"] >= MIN_SLA and compliance["value"] < SLA_COMPLIANCE:
                yield Measure(
                    "sla_breaches", f"{severity}/{target}", "sla_compliance", round(compliance["value"], 3),
                    SLA_COMPLIANCE, compliance["whole"],
                )  # fmt: skip


def _reopens(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    rate = report["reopens"]["reopen_rate"]
    if rate["whole"] >= MIN_SOLVED and rate["value"] > REOPEN_RATE:
        yield Measure("reopens", "all", "reopen_rate", round(rate["value"], 3), REOPEN_RATE, rate["whole"])


def _human_requests(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    asked = report["automation"]["failures"].get("human", 0)
    if asked >= HUMAN_REQUESTS:
        yield Measure("human_requests", "all", "failures_human", asked, HUMAN_REQUESTS, asked)


def _sharpen_articles(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    for pair in report.get("confusions", ()):
        if pair["n"] >= CONFUSED:
            subject = f"{pair['predicted']} → {pair['agent']}"
            yield Measure("sharpen_articles", subject, "agent_relabels", pair["n"], CONFUSED, pair["n"])


def _write_articles(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    for gap in report.get("gaps", ()):
        if gap["requests"] >= GAP_REQUESTS:
            subject = f"{gap['gap_id']} ({', '.join(gap['terms'][:3])})"
            yield Measure(
                "write_article", subject, "gap_requests", gap["requests"], GAP_REQUESTS, gap["requests"]
            )


def _topic_drift(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    figures = report["drift"]
    n = sum(figures["mix"].values())
    if figures["psi_alert"] and n >= MIN_DRIFT:
        yield Measure("topic_drift", "all", "psi_predicted_articles", round(figures["psi"], 2), PSI_ALERT, n)


def _old_backlog(report: Mapping[str, Any], _: Mapping[str, Any] | None) -> Iterator[Measure]:
    old = report["backlog"]["ages_business_days"].get(OLD_BACKLOG, 0)
    if old:
        yield Measure(
            "old_backlog", "all", "open_older_than_5_business_days", old, 0, report["backlog"]["open"]
        )


Rule = Callable[[Mapping[str, Any], Mapping[str, Any] | None], Iterator[Measure]]
RULES: tuple[Rule, ...] = (
    _revise_articles,
    _sharpen_articles,
    _write_articles,
    _growing_topics,
    _sla_breaches,
    _reopens,
    _human_requests,
    _topic_drift,
    _old_backlog,
)


def recommend(report: Mapping[str, Any], previous: Mapping[str, Any] | None = None) -> list[Measure]:
    """Every measure the report's figures ask for, in table order."""
    return [measure for rule in RULES for measure in rule(report, previous)]
