"""Escalation jobs: calls to Jira Service Management and the webhook, durable and retried like mail.

A job row is written in the same transaction as the ticket change that causes it; `run_due_jobs`
performs due jobs later, outside any transaction, and records the result. What can go wrong:

- a PermanentError (400, 401, 403, 404 ...) fails the job at once with the server's message, for
  `mailbot status`; retrying cannot change it;
- a TransientError is retried with capped, jittered backoff; when the server asked for a pause
  (Retry-After on 429/503) the next attempt waits at least that long (at most MAX_SERVER_WAIT), and
  so do the other pending jobs of that backend; after MAX_JOB_ATTEMPTS the job fails;
- anything else is a bug: logged with its traceback and retried like a transient error, so one bad
  job never stops the other jobs or the mail.

A pass is bounded (issue 11: 10,000 queued events took ~200 s): every call has a deadline
(`bounded_http`), a pass takes no new job after PASS_SECONDS (the rest stays due for the next
pass, no attempt counted), and a backend that did not answer in time is left alone for the rest
of the pass (its other jobs wait, untouched), so a slow receiver costs one deadline per pass.

Jobs may run more than once (a crash between a call and the commit), so each is idempotent: see
`mirror` for Jira, and the delivery id (the dedup key) for the webhook. `poll_jira` follows mirrored
tickets (`follow`): a public comment reaches the customer, a request marked done solves the ticket.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.db.schema import EscalationJob, JobState, Ticket
from mailbot.errors import ConfigError, PermanentError, TransientError
from mailbot.escalate import HttpTimeout, JobReport
from mailbot.escalate.bounded_http import stopping
from mailbot.escalate.follow import poll_jira
from mailbot.escalate.jira import JsmClient
from mailbot.escalate.jira_jobs import (
    CUSTOMER_REPLY,
    ESCALATED,
    NotYet,
    jira_client,
    jira_wants,
    run_jira_job,
    tell_team_erasure_failed,
)
from mailbot.escalate.webhook import post_event, webhook_client
from mailbot.header_text import one_line
from mailbot.logredact import headline
from mailbot.reply.deliver import backoff

if TYPE_CHECKING:  # a runtime import would be circular (the app wires this module in)
    from mailbot.app import App

log = logging.getLogger(__name__)
MAX_JOB_ATTEMPTS = 12  # with capped backoff, about half a day of retries before a job counts as failed
MAX_SERVER_WAIT = timedelta(hours=6)  # a Retry-After longer than this is cut to it
PASS_SECONDS = 30.0  # one pass takes no new job after this; the rest stays due for the next pass
DESCRIPTION_CHARS = 4000  # the customer's words in an event (and in a Jira request's description)
SUBJECT_CHARS = 255  # the subject in an event: Jira's summary holds 255 characters too
NAME_CHARS = 200
__all__ = [
    "CUSTOMER_REPLY",
    "ESCALATED",
    "JobReport",
    "enqueue_jobs",
    "jira_client",
    "poll_jira",
    "run_due_jobs",
]


def backends(app: App) -> list[str]:
    found = []
    if app.settings.jira is not None:
        found.append("jira")
    if app.settings.webhook is not None:
        found.append("webhook")
    return found


def enqueue_jobs(
    session: Session,
    app: App,
    ticket: Ticket,
    event: str,
    cause: str,
    now: datetime,
    *,
    inbound_id: int | None = None,
) -> None:
    """One job per configured backend that wants `event`; `inbound_id` names the mail of a reply."""
    for backend in backends(app):
        if backend == "jira" and not jira_wants(session, app, ticket, event, inbound_id):
            continue
        if backend == "webhook" and event not in app.settings.webhook.events:  # type: ignore[union-attr]
            continue
        add_job_once(
            session, app.mailbox, ticket.id, backend, event, f"{backend}:{event}:{cause}", now,
            lambda: event_payload(app, ticket, event, now, inbound_id),
        )  # fmt: skip


def add_job_once(
    session: Session,
    mailbox: str,
    ticket_id: int,
    backend: str,
    event: str,
    dedup_key: str,
    now: datetime,
    payload: Callable[[], dict[str, Any]],
) -> None:
    """Queue one pending call, unless the mailbox has a job with `dedup_key` already (the same cause
    twice calls once); `payload` is built only for a new job."""
    exists = session.scalar(
        select(EscalationJob.id).where(EscalationJob.mailbox == mailbox, EscalationJob.dedup_key == dedup_key)
    )
    if exists is None:
        session.add(
            EscalationJob(
                mailbox=mailbox, ticket_id=ticket_id, backend=backend, event=event, dedup_key=dedup_key,
                payload=payload(), state=JobState.PENDING, attempts=0, next_attempt_at=now, created_at=now,
            )
        )  # fmt: skip


def event_payload(
    app: App, ticket: Ticket, event: str, now: datetime, inbound_id: int | None = None
) -> dict[str, Any]:
    """What the webhook receives (and Jira's request is built from): the ticket, not the raw mail.

    Every text from mail is bounded (subject, name, the customer's words), so an event stays small
    whatever the mail carried; a reply names its stored mail (`reply.inbound_id`), which the Jira
    job reads at run time.
    """

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    payload: dict[str, Any] = {
        "type": event,
        "at": now.isoformat(),
        "mailbox": app.mailbox,
        "ticket": {
            "reference": ticket.reference,
            "state": ticket.state,
            "customer": ticket.customer,
            "customer_name": one_line(ticket.customer_name)[:NAME_CHARS],  # Jira makes displayName of it
            "subject": one_line(ticket.subject)[:SUBJECT_CHARS],
            "language": ticket.language,
            "severity": ticket.severity,
            "severity_reasons": list(ticket.severity_reasons or []),
            "response_due": iso(ticket.response_due_at),
            "resolution_due": iso(ticket.resolution_due_at),
            "text": ticket.text_excerpt[:DESCRIPTION_CHARS],
        },
    }
    if inbound_id is not None:
        payload["reply"] = {"inbound_id": inbound_id}
    return payload


def run_due_jobs(
    app: App,
    make_jira: Callable[[], JsmClient] | None = None,
    *,
    budget_seconds: float = PASS_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> JobReport:
    """Perform the due jobs, oldest first, within `budget_seconds` (see the module's docstring)."""
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
    started = monotonic()
    jira: JsmClient | None = None
    receiver: httpx.Client | None = None  # one connection to the webhook receiver for the whole pass
    paused: set[str] = set()  # backends that asked for a pause in this run (their jobs are moved already)
    slow: set[str] = set()  # backends that did not answer in time: their other jobs wait for the next pass
    try:
        for index, job_id in enumerate(due):
            if stopping() or (index and monotonic() - started >= budget_seconds):  # one at least
                report.waiting += len(due) - index
                if not stopping():
                    log.info("escalation pass used its %g s; %d due jobs wait for the next pass",
                             budget_seconds, len(due) - index)  # fmt: skip
                break
            with app.sessions() as session:
                job = session.get_one(EscalationJob, job_id)
                backend, event, key = job.backend, job.event, job.dedup_key
            if backend in paused:
                report.deferred += 1  # moved to the end of the server's pause by _pause already
                continue
            if backend in slow:
                report.waiting += 1
                continue
            try:
                if backend == "jira":
                    jira = jira or (make_jira or (lambda: jira_client(app)))()
                    note = run_jira_job(app, jira, job_id)
                else:
                    receiver = receiver or _webhook_client(app)
                    _post_webhook(app, job_id, key, receiver)
                    note = None
            except NotYet as exc:
                _defer(app, job_id, exc.until, str(exc))
                report.deferred += 1
            except PermanentError as exc:
                _fail(app, job_id, str(exc), report, getattr(exc, "status", None))
            except TransientError as exc:
                if stopping():  # given up because the worker stops: not the job's fault, no attempt
                    report.waiting += len(due) - index
                    break
                wait = _server_wait(exc)
                until = _retry(app, job_id, str(exc), report, wait)
                if wait is not None and until is not None:
                    _pause(app, backend, until)
                    paused.add(backend)
                elif isinstance(exc, HttpTimeout):
                    slow.add(backend)
            except ConfigError as exc:  # e.g. the token's variable is not set: fixable, then retried
                _retry(app, job_id, str(exc), report, None)
            except Exception as exc:  # a bug must not stop the other jobs or the mail: retried, then failed
                log.exception("escalation job #%s (%s %s) raised", job_id, backend, event)
                _retry(app, job_id, f"{type(exc).__name__}: {exc}", report, None)
            else:
                _finish(app, job_id, note)
                report.done += 1
    finally:
        if jira is not None:
            jira.close()
        if receiver is not None:
            receiver.close()
    return report


def _webhook_client(app: App) -> httpx.Client:
    webhook = app.settings.webhook
    assert webhook is not None
    return webhook_client(webhook.url, webhook.timeout_seconds)


def _post_webhook(app: App, job_id: int, delivery_id: str, receiver: httpx.Client) -> None:
    webhook = app.settings.webhook
    assert webhook is not None
    with app.sessions() as session:
        payload = dict(session.get_one(EscalationJob, job_id).payload)
    post_event(
        webhook.url,
        webhook.resolve_secret(),
        payload,
        delivery_id=delivery_id,
        timeout=webhook.timeout_seconds,
        client=receiver,
    )


def _server_wait(exc: TransientError) -> timedelta | None:
    """The pause the server asked for (Retry-After), bounded to MAX_SERVER_WAIT; None if it asked none."""
    seconds = getattr(exc, "retry_after", None)
    if seconds is None:
        return None
    return min(timedelta(seconds=max(0.0, float(seconds))), MAX_SERVER_WAIT)


def _retry(app: App, job_id: int, error: str, report: JobReport, wait: timedelta | None) -> datetime | None:
    """Count an attempt; the next one after the backoff or the server's wait, whichever is longer."""
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
            tell_team_erasure_failed(session, app, job, None)
            log.error(
                "escalation job #%s gave up after %s attempts: %s", job_id, job.attempts, headline(error)
            )
            log.debug("escalation job #%s: %s", job_id, error)
            return None
        job.next_attempt_at = app.clock() + max(backoff(job.attempts), wait or timedelta(0))
        report.deferred += 1
        until = job.next_attempt_at
    # a server's answer may echo the ticket's text: the head of the error here, all of it in `status`
    log.warning("escalation job #%s deferred until %s: %s", job_id, until.isoformat(), headline(error))
    log.debug("escalation job #%s: %s", job_id, error)
    return until


def _pause(app: App, backend: str, until: datetime) -> None:
    """The server asked the client to wait, not just this job: move the backend's other due jobs too."""
    with app.sessions.begin() as session:
        session.execute(
            update(EscalationJob)
            .where(
                EscalationJob.mailbox == app.mailbox,
                EscalationJob.backend == backend,
                EscalationJob.state == JobState.PENDING,
                EscalationJob.next_attempt_at < until,
            )
            .values(next_attempt_at=until)
        )


def _defer(app: App, job_id: int, until: datetime, note: str) -> None:
    with app.sessions.begin() as session:
        job = session.get_one(EscalationJob, job_id)
        job.next_attempt_at = until
        job.last_error = note[:2000]


def _fail(app: App, job_id: int, error: str, report: JobReport, status: int | None = None) -> None:
    with app.sessions.begin() as session:
        job = session.get_one(EscalationJob, job_id)
        job.state = JobState.FAILED
        job.last_error = error[:2000]
        job.attempts += 1
        job.done_at = app.clock()
        backend = job.backend
        tell_team_erasure_failed(session, app, job, status)
    report.failed += 1
    report.errors.append(f"{backend} job #{job_id}: {error}")
    log.error("escalation job #%s (%s) failed for good: %s", job_id, backend, headline(error))
    log.debug("escalation job #%s: %s", job_id, error)


def _finish(app: App, job_id: int, note: str | None) -> None:
    with app.sessions.begin() as session:
        job = session.get_one(EscalationJob, job_id)
        job.state = JobState.DONE
        job.last_error = None
        job.attempts += 1
        job.done_at = app.clock()
        if note:
            from mailbot.tickets.service import add_event

            add_event(
                session, session.get_one(Ticket, job.ticket_id), "jira_comment", note[:2000], app.clock()
            )
