"""Which escalated tickets teach the bot (`mailbot kb learn`): pure selection over ticket histories.

An *article candidate* ("t<ticket id>") is an escalated ticket that a person answered (a reply from
the CLI or Jira, a member's reply to the team notice, a solve with a message) and whose customer did
not come back with a failure within the window (`[report] window_business_days` business days of the
client's calendar after the first human answer): no reply of the customer other than a thank-you, no
failure signal, no reopen. The window is judged like an automatic answer's (mailbot.reports.outcomes):
a failure is final at once; while the window is open and nothing failed, the candidate is *pending*,
shown but not yet acceptable. A ticket where the customer came back after the first answer is left
out even if a later answer settled it: such a conversation is not one question with one answer, and a
wrong example teaches the classifier more harm than a missing one.
The article is the one the agent sent (the notice's suggestion, "OK" by mail); otherwise the agent
names it when accepting, helped by the classifier's ranking at the decision.

A *severity candidate* ("s<ticket id>") is a ticket whose severity an agent corrected: the final class
(`none` when it was no fault after all) with the customer's question.

Nothing here reads the database or the clock: histories, calendar and `now` are given
(mailbot.reports.learn_load reads them).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from mailbot.clock import BusinessCalendar
from mailbot.reports.learn_text import example_text
from mailbot.tickets.correction import EVENT as CORRECTION_EVENT
from mailbot.tickets.correction import NO_SEVERITY, parse_correction

ESCALATED = "escalated"
ANSWER_KINDS = ("agent_reply", "answered_by_mail", "solved")
FAILURE_KINDS = ("customer_reply", "failure_signal", "reopened")
CLOSING = "customer_closing"  # a thank-you: written with a customer_reply of the same mail
BY_MAIL = "answered_by_mail"
# solves that carry no answer of their own (mailbot.tickets.service)
_SILENT_SOLVES = ("(no message)", "solved with its incident ")
ARTICLE, SEVERITY = "article", "severity"


@dataclass(frozen=True)
class Event:
    """One ticket event; `article_id` for an answer by mail that sent the suggested article."""

    at: datetime
    kind: str
    note: str = ""
    inbound_id: int | None = None
    article_id: str | None = None


@dataclass(frozen=True)
class TicketHistory:
    ticket_id: int
    reference: str
    language: str
    subject: str
    excerpt: str  # the opening of the customer's first mail (Ticket.text_excerpt)
    events: tuple[Event, ...]  # in time order
    ranking: tuple[tuple[str, float], ...] = ()  # the classifier's ranking at the first decision


@dataclass(frozen=True)
class Candidate:
    id: str  # "t<ticket id>" or "s<ticket id>": stable from one run to the next
    kind: str  # ARTICLE or SEVERITY
    ticket_id: int
    reference: str
    language: str
    text: str  # the example as it would be written (masked, one line)
    target: str | None  # the article the agent sent, or the final severity class; None: to be named
    ranking: tuple[tuple[str, float], ...] = ()
    answered_at: datetime | None = None
    window_closes: datetime | None = None
    pending: bool = False  # the window is still open: shown, not yet acceptable

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "reference": self.reference,
            "language": self.language,
            "text": self.text,
            "target": self.target,
            "ranking": [[article, round(score, 3)] for article, score in self.ranking],
            "answered_at": self.answered_at.isoformat() if self.answered_at else None,
            "window_closes": self.window_closes.isoformat() if self.window_closes else None,
            "pending": self.pending,
        }


def is_answer(event: Event) -> bool:
    """A person's answer to the customer: a reply (CLI, Jira, mail) or a solve with a message."""
    if event.kind not in ANSWER_KINDS:
        return False
    return event.kind != "solved" or not event.note.startswith(_SILENT_SOLVES)


def failures(history: TicketHistory, since: datetime, until: datetime, now: datetime) -> list[Event]:
    """The customer's comebacks in [since, until) up to `now`; a reply that was a thank-you is none."""
    thanked = {e.inbound_id for e in history.events if e.kind == CLOSING and e.inbound_id is not None}
    return [
        event
        for event in history.events
        if event.kind in FAILURE_KINDS
        and since <= event.at < until
        and event.at <= now
        and not (event.kind == "customer_reply" and event.inbound_id in thanked)
    ]


def article_candidate(
    history: TicketHistory, calendar: BusinessCalendar, now: datetime, window_days: int
) -> Candidate | None:
    """The ticket as an example for an article, pending while the window is open; None when it is
    not one (never escalated, not answered by a person, or the customer came back)."""
    if not any(event.kind == ESCALATED for event in history.events):
        return None
    answers = [event for event in history.events if is_answer(event) and event.at <= now]
    if not answers:
        return None
    first = min(answers, key=lambda event: event.at)
    closes = calendar.add_business_days(first.at, window_days)
    if failures(history, first.at, closes, now):
        return None
    sent = [event.article_id for event in answers if event.kind == BY_MAIL and event.article_id]
    return Candidate(
        id=f"t{history.ticket_id}",
        kind=ARTICLE,
        ticket_id=history.ticket_id,
        reference=history.reference,
        language=history.language,
        text=example_text(history.subject, history.excerpt),
        target=sent[-1] if sent else None,
        ranking=history.ranking,
        answered_at=first.at,
        window_closes=closes,
        pending=now < closes,
    )


def severity_candidate(history: TicketHistory) -> Candidate | None:
    """The ticket as an example of its corrected severity class (the last correction counts)."""
    corrections = [parse_correction(event.note) for event in history.events if event.kind == CORRECTION_EVENT]
    found = [correction for correction in corrections if correction is not None]
    if not found:
        return None
    final = found[-1][1] or NO_SEVERITY
    return Candidate(
        id=f"s{history.ticket_id}",
        kind=SEVERITY,
        ticket_id=history.ticket_id,
        reference=history.reference,
        language=history.language,
        text=example_text(history.subject, history.excerpt),
        target=final,
    )


def candidates(
    histories: Iterable[TicketHistory],
    calendar: BusinessCalendar,
    now: datetime,
    window_days: int,
    decided: frozenset[str] = frozenset(),
) -> list[Candidate]:
    """Every candidate not decided yet, by ticket (article before severity); empty texts left out."""
    found: list[Candidate] = []
    for history in sorted(histories, key=lambda h: h.ticket_id):
        for candidate in (
            article_candidate(history, calendar, now, window_days),
            severity_candidate(history),
        ):
            if candidate is not None and candidate.id not in decided and candidate.text:
                found.append(candidate)
    return found
