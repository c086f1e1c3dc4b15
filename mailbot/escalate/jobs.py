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

Jobs may run more than once (a crash between a call and the commit), so each is idempotent: see
`mirror` for Jira, and the delivery id (the dedup key) for the webhook. `poll_jira` follows mirrored
tickets: a public comment reaches the customer, a request that Jira marks done solves the ticket.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.db.schema import EscalationJob, InboundMail, JobState, Ticket
from mailbot.domain import TicketState
from mailbot.errors import ConfigError, PermanentError, TransientError
from mailbot.escalate.jira import Comment, CreatedRequest, JsmClient
from mailbot.escalate.mirror import add_customer_reply, raise_request, reply_from_raw
from mailbot.escalate.webhook import post_event
from mailbot.reply.deliver import backoff

if TYPE_CHECKING:  # a runtime import would be circular (the app wires this module in)
    from mailbot.app import App

log = logging.getLogger(__name__)
MAX_JOB_ATTEMPTS = 12  # with capped backoff, about half a day of retries before a job counts as failed
MAX_SERVER_WAIT = timedelta(hours=6)  # a Retry-After longer than this is cut to it
DESCRIPTION_CHARS = 4000
ESCALATED, CUSTOMER_REPLY = "ticket.escalated", "ticket.customer_reply"
JIRA_EVENTS = (ESCALATED, CUSTOMER_REPLY)  # Jira is where tickets are solved; it learns nothing else


@dataclass
class JobReport:
    done: int = 0
    deferred: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class NotYet(Exception):
    """The job depends on another that has not run yet: look again at `until`, no attempt counted."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


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
        if backend == "jira" and not _jira_wants(session, app, ticket, event, inbound_id):
            continue
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
                    payload=event_payload(app, ticket, event, now, inbound_id), state=JobState.PENDING,
                    attempts=0, next_attempt_at=now, created_at=now,
                )
            )  # fmt: skip


def _jira_wants(session: Session, app: App, ticket: Ticket, event: str, inbound_id: int | None) -> bool:
    """New escalations always; a customer's reply only for a ticket that is (or is being) mirrored."""
    if event == ESCALATED:
        return True
    if event != CUSTOMER_REPLY or inbound_id is None or app.settings.jira is None:
        return False
    if app.settings.jira.customer_replies == "off":
        return False
    return ticket.external_key is not None or _mirror_job(session, ticket.id, JobState.FAILED) is not None


def _mirror_job(session: Session, ticket_id: int, not_in: str | None = None) -> EscalationJob | None:
    """The Jira job that raises this ticket's request (None: never asked for, or in state `not_in`)."""
    query = select(EscalationJob).where(
        EscalationJob.ticket_id == ticket_id,
        EscalationJob.backend == "jira",
        EscalationJob.event == ESCALATED,
    )
    if not_in is not None:
        query = query.where(EscalationJob.state != not_in)
    return session.scalars(query.order_by(EscalationJob.id)).first()


def event_payload(
    app: App, ticket: Ticket, event: str, now: datetime, inbound_id: int | None = None
) -> dict[str, Any]:
    """What the webhook receives (and Jira's request is built from): the ticket, not the raw mail.

    A reply names its stored mail (`reply.inbound_id`); the Jira job reads it at run time, so the
    payload stays small whatever the mail carries.
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
    if inbound_id is not None:
        payload["reply"] = {"inbound_id": inbound_id}
    return payload


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
    paused: set[str] = set()  # backends that asked for a pause in this run (their jobs are moved already)
    try:
        for job_id in due:
            with app.sessions() as session:
                job = session.get_one(EscalationJob, job_id)
                backend, event, key = job.backend, job.event, job.dedup_key
            if backend in paused:
                report.deferred += 1  # moved to the end of the server's pause by _pause already
                continue
            try:
                if backend == "jira":
                    jira = jira or (make_jira or (lambda: jira_client(app)))()
                    note = _run_jira_job(app, jira, job_id)
                else:
                    _post_webhook(app, job_id, key)
                    note = None
            except NotYet as exc:
                _defer(app, job_id, exc.until, str(exc))
                report.deferred += 1
            except PermanentError as exc:
                _fail(app, job_id, str(exc), report)
            except TransientError as exc:
                wait = _server_wait(exc)
                until = _retry(app, job_id, str(exc), report, wait)
                if wait is not None and until is not None:
                    _pause(app, backend, until)
                    paused.add(backend)
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
    return report


def jira_client(app: App) -> JsmClient:
    settings = app.settings.jira
    assert settings is not None
    return JsmClient(settings, settings.resolve_token())


def _run_jira_job(app: App, jira: JsmClient, job_id: int) -> str | None:
    """Perform one Jira job; return a note for the ticket's history, if there is one to keep."""
    with app.sessions() as session:
        job = session.get_one(EscalationJob, job_id)
        ticket = session.get_one(Ticket, job.ticket_id)
        event, payload, ticket_id, known_key = job.event, dict(job.payload), ticket.id, ticket.external_key
        reference = ticket.reference or ""
    if event == ESCALATED:
        raise_request(jira, payload["ticket"], known_key, lambda created: _mirrored(app, ticket_id, created))
        return None
    if event != CUSTOMER_REPLY:
        raise PermanentError(f"Jira has no job {event!r}")
    settings = app.settings.jira
    assert settings is not None
    with app.sessions() as session:
        if known_key is None:
            _wait_for_mirror(app, session, ticket_id, reference)
        mail = session.get(InboundMail, int(payload["reply"]["inbound_id"]))
        if mail is None:
            raise PermanentError(
                f"the mail #{payload['reply']['inbound_id']} of this reply is no longer stored"
            )
        raw, received_at = mail.raw, mail.received_at
    assert known_key is not None
    reply = reply_from_raw(raw, received_at, reference, app.calendar.zone, settings.attachment_max_bytes)
    done = add_customer_reply(jira, known_key, reply, public=settings.customer_replies == "public")
    log.info("%s: customer reply added to Jira: %s", reference, done)
    return f"customer reply mirrored: {done}"


def _wait_for_mirror(app: App, session: Session, ticket_id: int, reference: str) -> None:
    """A reply to a ticket whose request is not raised yet waits for it; never raised means never."""
    mirror = _mirror_job(session, ticket_id)
    if mirror is None or mirror.state != JobState.PENDING:
        why = "no Jira job was ever made for it" if mirror is None else mirror.last_error or mirror.state
        raise PermanentError(f"{reference} has no Jira request to add the reply to ({why})")
    until = max(mirror.next_attempt_at, app.clock()) + timedelta(seconds=1)
    raise NotYet(f"waiting until Jira job #{mirror.id} has raised the request of {reference}", until)


def _mirrored(app: App, ticket_id: int, created: CreatedRequest) -> None:
    """Keep the request's key at once: poll_jira follows it, and a retry never raises a second one."""
    with app.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.external_key = created.issue_key
        from mailbot.tickets.service import add_event

        now = app.clock()
        add_event(session, ticket, "mirrored", f"Jira Service Management {created.issue_key}", now)
        if created.reporter_fallback:
            user = app.settings.jira.user if app.settings.jira else "the [jira] user"
            note = (
                f"{created.issue_key} raised as {user}, not on behalf of {ticket.customer} (Jira does not"
                f" tell the customer; mailbot still relays public comments): {created.reporter_fallback}"
            )
            add_event(session, ticket, "jira_reporter_fallback", note[:2000], now)
            log.warning("%s: %s", ticket.reference, note)


def _post_webhook(app: App, job_id: int, delivery_id: str) -> None:
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
            log.error("escalation job #%s gave up after %s attempts: %s", job_id, job.attempts, error)
            return None
        job.next_attempt_at = app.clock() + max(backoff(job.attempts), wait or timedelta(0))
        report.deferred += 1
        until = job.next_attempt_at
    log.warning("escalation job #%s deferred until %s: %s", job_id, until.isoformat(), error)
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


def _fail(app: App, job_id: int, error: str, report: JobReport) -> None:
    with app.sessions.begin() as session:
        job = session.get_one(EscalationJob, job_id)
        job.state = JobState.FAILED
        job.last_error = error[:2000]
        job.attempts += 1
        job.done_at = app.clock()
        backend = job.backend
    report.failed += 1
    report.errors.append(f"{backend} job #{job_id}: {error}")
    log.error("escalation job #%s (%s) failed for good: %s", job_id, backend, error)


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


def poll_jira(app: App, make_jira: Callable[[], JsmClient] | None = None) -> JobReport:
    """Relay public comments of mirrored tickets to their customers; solve tickets Jira marks done.

    Comments by the [jira] user are mailbot's own (the customer's follow-ups it added) and comments
    by the customer are their own words: neither is mailed back to the customer. A 429 ends this
    round: the next one comes `[jira] poll_minutes` later.
    """
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
                own = jira.own_account_id() if comments else None
            except TransientError as exc:
                report.errors.append(f"Jira {key}: {exc}")
                if getattr(exc, "retry_after", None) is not None:
                    log.warning("Jira asks to slow down; following requests again at the next poll: %s", exc)
                    break
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

                agents = [c for c in comments if _from_agent(c, own, ticket.customer)]
                solution = agents[-1] if state.done and agents else None
                for comment in agents:
                    if comment is not solution:
                        reply(session, app, ticket, comment.body, now, cause=f"jira:{key}:{comment.id}")
                for comment in comments:
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


def _from_agent(comment: Comment, own_account: str | None, customer: str) -> bool:
    """Neither mailbot's own comment (the customer's follow-ups it added) nor the customer's words."""
    if own_account is not None and comment.author_account == own_account:
        return False
    return (comment.author_email or "").lower() != customer


def _root(session: Session, ticket: Ticket) -> Ticket:
    return session.get_one(Ticket, ticket.parent_id) if ticket.parent_id else ticket
