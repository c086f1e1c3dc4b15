"""Escalation jobs: calls to Jira Service Management and the webhook, durable and retried like mail.

A job row is written in the same transaction as the ticket change that causes it; `run_due_jobs`
performs due jobs later, outside any transaction, and records the result. Jira requests are looked up
by the ticket reference before one is created, so a crash between the call and the commit never raises
a second request. `poll_jira` follows mirrored tickets: a public comment reaches the customer, a request
that Jira marks done solves the ticket (and tells the customer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import EscalationJob, JobState, Ticket
from mailbot.domain import Severity, TicketState
from mailbot.errors import PermanentError, TransientError
from mailbot.escalate.jira import JsmClient
from mailbot.escalate.webhook import post_event
from mailbot.reply.deliver import backoff

if TYPE_CHECKING:  # a runtime import would be circular (the app wires this module in)
    from mailbot.app import App

log = logging.getLogger(__name__)
MAX_JOB_ATTEMPTS = 12  # with capped backoff, about half a day of retries before a job counts as failed
DESCRIPTION_CHARS = 4000


@dataclass
class JobReport:
    done: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backends(app: App) -> list[str]:
    found = []
    if app.settings.jira is not None:
        found.append("jira")
    if app.settings.webhook is not None:
        found.append("webhook")
    return found


def enqueue_jobs(session: Session, app: App, ticket: Ticket, event: str, cause: str, now: datetime) -> None:
    """One job per configured backend that wants `event` (Jira only mirrors new escalations)."""
    for backend in backends(app):
        if backend == "jira" and event != "ticket.escalated":
            continue  # Jira is where tickets are solved; it learns nothing new from us afterwards
        if backend == "webhook" and event not in app.settings.webhook.events:  # type: ignore[union-attr]
            continue
        key = f"{backend}:{event}:{cause}"
        exists = session.scalar(
            select(EscalationJob.id).where(
                EscalationJob.mailbox == app.mailbox, EscalationJob.dedup_key == key
            )
        )
        if exists is None:
            session.add(
                EscalationJob(
                    mailbox=app.mailbox, ticket_id=ticket.id, backend=backend, event=event, dedup_key=key,
                    payload=event_payload(app, ticket, event, now), state=JobState.PENDING, attempts=0,
                    next_attempt_at=now, created_at=now,
                )
            )  # fmt: skip


def event_payload(app: App, ticket: Ticket, event: str, now: datetime) -> dict[str, Any]:
    """What the webhook receives (and Jira's request is built from): the ticket, not the raw mail."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "type": event,
        "at": now.isoformat(),
        "mailbox": app.mailbox,
        "ticket": {
            "reference": ticket.reference,
            "state": ticket.state,
            "customer": ticket.customer,
            "customer_name": ticket.customer_name,
            "subject": ticket.subject,
            "language": ticket.language,
            "severity": ticket.severity,
            "severity_reasons": list(ticket.severity_reasons or []),
            "response_due": iso(ticket.response_due_at),
            "resolution_due": iso(ticket.resolution_due_at),
            "text": ticket.text_excerpt[:DESCRIPTION_CHARS],
        },
    }


def run_due_jobs(app: App, make_jira: Callable[[], JsmClient] | None = None) -> JobReport:
    report = JobReport()
    now = app.clock()
    with app.sessions.begin() as session:
        due = session.scalars(
            select(EscalationJob.id)
            .where(
                EscalationJob.mailbox == app.mailbox,
                EscalationJob.state == JobState.PENDING,
                EscalationJob.next_attempt_at <= now,
            )
            .order_by(EscalationJob.id)
        ).all()
    jira: JsmClient | None = None
    try:
        for job_id in due:
            with app.sessions() as session:
                job = session.get_one(EscalationJob, job_id)
                backend, payload, key = job.backend, dict(job.payload), job.dedup_key
            try:
                if backend == "jira":
                    jira = jira or (make_jira or (lambda: jira_client(app)))()
                    outcome = _mirror_to_jira(jira, payload)
                else:
                    webhook = app.settings.webhook
                    assert webhook is not None
                    post_event(
                        webhook.url, webhook.resolve_secret(), payload, delivery_id=key,
                        timeout=webhook.timeout_seconds,
                    )  # fmt: skip
                    outcome = None
            except TransientError as exc:
                _retry(app, job_id, str(exc), report)
            except Exception as exc:  # a bug must not stop the other jobs or the mail: retried, then failed
                log.exception("escalation job #%s (%s) raised", job_id, backend)
                _retry(app, job_id, f"{type(exc).__name__}: {exc}", report)
            except PermanentError as exc:
                _finish(app, job_id, JobState.FAILED, str(exc), None)
                report.failed += 1
                report.errors.append(f"{backend} job #{job_id}: {exc}")
                log.error("escalation job #%s (%s) failed for good: %s", job_id, backend, exc)
            else:
                _finish(app, job_id, JobState.DONE, None, outcome)
                report.done += 1
    finally:
        if jira is not None:
            jira.close()
    return report


def jira_client(app: App) -> JsmClient:
    settings = app.settings.jira
    assert settings is not None
    return JsmClient(settings, settings.resolve_token())


def _mirror_to_jira(jira: JsmClient, payload: dict[str, Any]) -> str:
    ticket = payload["ticket"]
    reference = ticket["reference"]
    existing = jira.find_request_by_reference(reference)
    if existing is not None:
        return existing.issue_key
    severity = Severity(ticket["severity"]) if ticket["severity"] else None
    lines = [ticket["text"], "", f"mailbot {reference} · {ticket['customer']}"]
    if severity:
        lines.append(f"severity guess: {severity.value} ({'; '.join(ticket['severity_reasons'][:5])})")
    if ticket["response_due"]:
        lines.append(f"response due {ticket['response_due']}, resolution due {ticket['resolution_due']}")
    created = jira.create_request(
        f"[{reference}] {ticket['subject'] or '(no subject)'}",
        "\n".join(lines),
        ticket["customer"],
        severity,
        customer_name=ticket["customer_name"] or None,
    )
    return created.issue_key


def _retry(app: App, job_id: int, error: str, report: JobReport) -> None:
    with app.sessions.begin() as session:
        job = session.get_one(EscalationJob, job_id)
        job.attempts += 1
        job.last_error = error[:2000]
        if job.attempts >= MAX_JOB_ATTEMPTS:
            job.state = JobState.FAILED
            report.failed += 1
            report.errors.append(
                f"{job.backend} job #{job_id}: gave up after {job.attempts} attempts: {error}"
            )
        else:
            job.next_attempt_at = app.clock() + backoff(job.attempts)
            report.deferred += 1
    log.warning("escalation job #%s deferred: %s", job_id, error)


def _finish(app: App, job_id: int, state: JobState, error: str | None, external_key: str | None) -> None:
    with app.sessions.begin() as session:
        job = session.get_one(EscalationJob, job_id)
        job.state = state
        job.last_error = error
        job.attempts += 1
        job.done_at = app.clock()
        if external_key:
            ticket = session.get_one(Ticket, job.ticket_id)
            ticket.external_key = external_key
            from mailbot.tickets.service import add_event

            add_event(session, ticket, "mirrored", f"Jira Service Management {external_key}", app.clock())


def poll_jira(app: App, make_jira: Callable[[], JsmClient] | None = None) -> JobReport:
    """Relay public comments of mirrored tickets to their customers; solve tickets Jira marks done."""
    from mailbot.tickets.service import TicketActionError, reply, resolve

    report = JobReport()
    if app.settings.jira is None:
        return report
    with app.sessions() as session:
        watched = session.execute(
            select(Ticket.id, Ticket.external_key, Ticket.external_comment_id).where(
                Ticket.mailbox == app.mailbox,
                Ticket.external_key.is_not(None),
                Ticket.state != TicketState.SOLVED,
            )
        ).all()
    if not watched:
        return report
    with (make_jira or (lambda: jira_client(app)))() as jira:
        for ticket_id, key, last_comment in watched:
            try:
                comments = jira.public_comments(key, since_id=last_comment)
                state = jira.request_state(key)
            except TransientError as exc:
                report.errors.append(f"Jira {key}: {exc}")
                continue
            except PermanentError as exc:
                report.errors.append(f"Jira {key}: {exc}")
                log.error("following Jira request %s failed: %s", key, exc)
                continue
            now = app.clock()
            with app.sessions.begin() as session:
                ticket = session.get_one(Ticket, ticket_id)
                if ticket.state == TicketState.SOLVED:
                    continue
                solution = comments[-1] if state.done and comments else None
                for comment in comments:
                    own_words = (comment.author_email or "").lower() == ticket.customer
                    if comment is not solution and not own_words:
                        reply(session, app, ticket, comment.body, now, cause=f"jira:{key}:{comment.id}")
                    ticket.external_comment_id = max(comment.id, ticket.external_comment_id or 0)
                if state.done:
                    cause = f"jira:{key}:done:{solution.id if solution else state.changed_at}"
                    try:
                        resolve(
                            session,
                            app,
                            _root(session, ticket),
                            solution.body if solution else "",
                            now,
                            cause,
                        )
                    except TicketActionError as exc:  # already solved through its incident
                        log.info("Jira %s done: %s", key, exc)
                report.done += 1
    return report


def _root(session: Session, ticket: Ticket) -> Ticket:
    return session.get_one(Ticket, ticket.parent_id) if ticket.parent_id else ticket
