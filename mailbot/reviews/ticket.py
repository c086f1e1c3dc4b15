"""A review that reports a fault becomes a 2nd-level ticket, like an escalated mail (caller's transaction).

The reviewer has no e-mail address: the ticket's customer is a placeholder in the reserved domain
`.invalid` (RFC 2606), which mailbot never sends to (mailbot.addresses), so nothing is ever mailed to it; the
customer hears from us through the store's public reply. The SLA clock starts when mailbot first saw the
review (at most `start_skew` after the store's own time, like a mail). The team gets a `review_ticket` mail,
and the configured backends (Jira, webhook) the usual `ticket.escalated` event.
"""

from __future__ import annotations

import hashlib
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import StoreReviewRow, Ticket
from mailbot.domain import Language, Severity, SeverityGuess, TicketState
from mailbot.escalate.jobs import enqueue_jobs
from mailbot.reply.outbox import enqueue
from mailbot.reply.subject import one_line
from mailbot.reviews.team_reason import review_reason_for_team, severity_reasons_for_team
from mailbot.tickets.notify import local_time, sender_of, to_team
from mailbot.tickets.service import add_event, new_reference
from mailbot.tickets.sla import clock_start, due_times

REVIEWER_DOMAIN = "reviews.invalid"
STORE_NAMES = {"apple": "App Store", "google": "Google Play"}
EXCERPT_CHARS = 2000
ASSUMED = Severity.MINOR  # a fault by the review's words that the severity model did not class
ASSUMED_REASON = f"a fault by the review's words; the severity model named no class: {ASSUMED} assumed"


def reviewer_address(review: StoreReviewRow) -> str:
    """Stable per review, never deliverable, and without the reviewer's name in it."""
    digest = hashlib.sha256(f"{review.store}\0{review.app}\0{review.review_id}".encode()).hexdigest()[:16]
    return f"{review.store}-{digest}@{REVIEWER_DOMAIN}"


def is_reviewer(address: str) -> bool:
    return address.lower().endswith("@" + REVIEWER_DOMAIN)


def review_subject(review: StoreReviewRow, app_name: str) -> str:
    words = one_line(review.title or review.body)[:80] or "(no text)"
    return f"{STORE_NAMES.get(review.store, review.store)} review ★{review.rating} ({app_name}): {words}"


def open_review_ticket(
    session: Session,
    app: App,
    review: StoreReviewRow,
    app_name: str,
    guess: SeverityGuess | None,
    reason: str,
    reply_state: str | None,
    now: datetime,
) -> Ticket:
    severity = guess.severity if guess is not None and guess.severity is not None else ASSUMED
    reasons = list(guess.reasons) if guess is not None and guess.severity is not None else []
    if guess is None or guess.severity is None:
        reasons.insert(0, ASSUMED_REASON)
    ticket = Ticket(
        mailbox=app.mailbox,
        reference=new_reference(session, app),
        customer=reviewer_address(review),
        customer_name=one_line(review.author)[:300],
        subject=review_subject(review, app_name),
        language=(review.language or app.settings.support.default_language.value),
        state=TicketState.ESCALATED,
        created_at=now,
        updated_at=now,
        severity=severity.value,
        severity_reasons=reasons,
        severity_shown=False,
        text_excerpt=f"{review.title}\n{review.body}".strip()[:EXCERPT_CHARS],
    )
    started = clock_start(review.created_at, review.first_seen_at, app.settings.sla.start_skew)
    due = due_times(started, severity, app.calendar, app.settings.sla)
    if due is not None:
        ticket.sla_started_at, ticket.response_due_at = due.started_at, due.response_due
        ticket.resolution_due_at = due.resolution_due
    session.add(ticket)
    session.flush()
    review.ticket_id = ticket.id
    add_event(session, ticket, "created", f"review R{review.id} ({review.store}): {reason}", now)
    add_event(
        session,
        ticket,
        "assessed",
        f"severity {severity} (not shown in the store): {'; '.join(reasons[:3])}",
        now,
    )
    _tell_team(session, app, ticket, review, app_name, guess, reason, reply_state, now)
    add_event(session, ticket, "escalated", reason, now)
    enqueue_jobs(session, app, ticket, "ticket.escalated", f"ticket-{ticket.id}", now)
    return ticket


def _tell_team(
    session: Session,
    app: App,
    ticket: Ticket,
    review: StoreReviewRow,
    app_name: str,
    guess: SeverityGuess | None,
    reason: str,
    reply_state: str | None,
    now: datetime,
) -> None:
    context: dict[str, object] = {
        "reference": ticket.reference,
        "store_name": STORE_NAMES.get(review.store, review.store),
        "app_name": app_name,
        "rating": review.rating,
        "review_number": f"R{review.id}",
        "review_title": review.title,
        "review_body": review.body[:EXCERPT_CHARS],
        "language": review.language or Language(ticket.language).value,
        "reason": review_reason_for_team(reason, app.settings.team.language),
        "severity": ticket.severity,
        "severity_confidence": guess.confidence if guess is not None and guess.severity is not None else None,
        "severity_reasons": severity_reasons_for_team(ticket.severity_reasons, app.settings.team.language),
        "response_due": local_time(app, ticket.response_due_at),
        "resolution_due": local_time(app, ticket.resolution_due_at),
        "reply_state": reply_state,
    }
    item = to_team(session, app, ticket.id, "review_ticket", context)
    enqueue(
        session, app.renderer, sender_of(app), app.mailbox, item,
        ticket_id=ticket.id, inbound_id=None, now=now, dedup_key=f"review-ticket:{ticket.id}",
    )  # fmt: skip
