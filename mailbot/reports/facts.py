"""The facts every figure is computed from: one row per request, with the times of what happened to it.

A request is the first mail of a conversation that mailbot decided: answered, escalated, ignored by a
rule or quarantined (follow-ups in a ticket's thread are counted apart, `Facts.follow_ups`). Its times
come from the mail, its ticket and the ticket's events, which are written when things happen and never
rebuilt later: a first human response or a reopen cannot be reconstructed once lost. Every figure in
mailbot.reports is a pure function of these rows, the client's calendar and `now`, so it is tested
with a fixed clock and no database (`mailbot.reports.load` reads them).

All datetimes are timezone-aware (UTC as stored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RequestFact:
    """One request and its ticket's history (empty for ignored and quarantined mail)."""

    inbound_id: int
    mailbox: str
    arrived_at: datetime  # reached the mailbox
    outcome: str  # answered, escalated, ignored, quarantined (mailbot.db.schema.Outcome)
    language: str | None = None
    ignore_reason: str | None = None  # why a rule ignored it, or why it was quarantined
    article_id: str | None = None  # the article sent (answered) or best guess (escalated)
    confidence: float | None = None
    threshold: float | None = None
    model_version: str | None = None  # the model that decided it (a retrain is a marker in the charts)
    agent_article: str | None = None  # the article an agent said it was about (`kb learn` accepted)
    ticket_id: int | None = None
    reference: str | None = None
    external_key: str | None = None  # the ticket's Jira request, if mirrored
    customer_key: str | None = None  # who asked (canonical address): repeats; never shown in reports
    severity: str | None = None  # the current severity (after an agent's correction)
    guessed_severity: str | None = None  # mailbot's guess, before any correction
    severity_corrected: bool = False
    sla_started_at: datetime | None = None
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    first_auto_reply_at: datetime | None = None  # the automatic answer or acknowledgement: sent, else queued
    first_acknowledgement_at: datetime | None = None  # the automatic acknowledgement of an escalation
    human_replies: tuple[datetime, ...] = ()  # agent answers (CLI, mail, Jira comment), solving included
    escalations: tuple[datetime, ...] = ()  # each time the ticket went to the 2nd level
    solves: tuple[datetime, ...] = ()
    reopens: tuple[datetime, ...] = ()  # by an agent or by the customer's reply to a solved ticket
    thanks: tuple[datetime, ...] = ()  # the customer's closing thank-you ("danke, hat geklappt")
    customer_replies: tuple[datetime, ...] = ()  # every follow-up of the customer in the thread
    failures: tuple[tuple[datetime, str], ...] = ()  # failure signals: (when, kind), see reports.failure

    @property
    def is_request(self) -> bool:
        """Counted in the denominators: answered or escalated (ignored and quarantined mail is not)."""
        return self.outcome in ("answered", "escalated")

    @property
    def first_human_reply_at(self) -> datetime | None:
        return min(self.human_replies, default=None)

    @property
    def clock_start(self) -> datetime:
        """Where response and resolution times start: the SLA clock, else the arrival."""
        return self.sla_started_at or self.arrived_at


@dataclass(frozen=True)
class Facts:
    """A client's facts: requests arrived in a window wide enough for the period's cohorts, and the
    arrival times of follow-ups (volume)."""

    mailbox: str
    requests: tuple[RequestFact, ...] = ()
    follow_ups: tuple[datetime, ...] = field(default=())
