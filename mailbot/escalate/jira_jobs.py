"""The Jira jobs of the escalation queue: raise a ticket's request, add a customer's reply to it, and
delete the request of a person whose data was erased (`mailbot.privacy.jira_erase` queues that one).

`run_jira_job` reads what the job needs from the database, lets `mirror` do the Jira calls, and
writes back at once what must survive a later failure (the request's key). It raises the queue's
words: PermanentError, TransientError, or NotYet when the job must wait for another job.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.addresses import has_no_mailbox
from mailbot.db.schema import EscalationJob, InboundMail, JobState, Outcome, Ticket
from mailbot.errors import PermanentError, Quarantine
from mailbot.escalate import HttpPermanentError
from mailbot.escalate.jira import CreatedRequest, JsmClient
from mailbot.escalate.mirror import add_customer_reply, first_mail_files, raise_request, reply_from_raw

if TYPE_CHECKING:  # a runtime import would be circular (the app wires the queue in)
    from mailbot.app import App

log = logging.getLogger(__name__)
ESCALATED, CUSTOMER_REPLY = "ticket.escalated", "ticket.customer_reply"
ERASE = "request.erase"  # payload {"key": issue key}: nothing about the person
# what a person does in Jira when mailbot may not (docs/privacy.md, "Jira"); {key} is the issue key
MANUAL_ERASURE_STEPS = (
    "open {key} in Jira and delete it (Delete issues permission), or remove the customer as reporter and"
    " participant and empty the texts and attachments that hold their data; then remove the customer's"
    " account from the service desk if it has no other requests"
)


class NotYet(Exception):
    """The job depends on another that has not run yet: look again at `until`, no attempt counted."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


def jira_client(app: App) -> JsmClient:
    settings = app.settings.jira
    assert settings is not None
    return JsmClient(settings, settings.resolve_token())


def jira_wants(session: Session, app: App, ticket: Ticket, event: str, inbound_id: int | None) -> bool:
    """New escalations always; a customer's reply only for a ticket that is (or is being) mirrored.

    Jira is where tickets are solved, so it learns nothing else from mailbot.
    """
    if event == ESCALATED:
        return True
    if event != CUSTOMER_REPLY or inbound_id is None or app.settings.jira is None:
        return False
    if app.settings.jira.customer_replies == "off":
        return False
    return ticket.external_key is not None or mirror_job(session, ticket.id, JobState.FAILED) is not None


def mirror_job(session: Session, ticket_id: int, not_in: str | None = None) -> EscalationJob | None:
    """The Jira job that raises this ticket's request (None: never asked for, or in state `not_in`)."""
    query = select(EscalationJob).where(
        EscalationJob.ticket_id == ticket_id,
        EscalationJob.backend == "jira",
        EscalationJob.event == ESCALATED,
    )
    if not_in is not None:
        query = query.where(EscalationJob.state != not_in)
    return session.scalars(query.order_by(EscalationJob.id)).first()


def run_jira_job(app: App, jira: JsmClient, job_id: int) -> str | None:
    """Perform one Jira job; return a note for the ticket's history, if there is one to keep."""
    with app.sessions() as session:
        job = session.get_one(EscalationJob, job_id)
        ticket = session.get_one(Ticket, job.ticket_id)
        event, payload, ticket_id, known_key = job.event, dict(job.payload), ticket.id, ticket.external_key
        reference = ticket.reference or ""
    if event == ESCALATED:
        key = raise_request(
            jira, payload["ticket"], known_key, lambda created: _mirrored(app, ticket_id, created)
        )
        return _first_mail_attachments(app, jira, key, ticket_id, reference)
    if event == ERASE:
        erase_request(jira, str(payload.get("key") or ""), reference)
        return None
    if event != CUSTOMER_REPLY:
        raise PermanentError(f"Jira has no job {event!r}")
    settings = app.settings.jira
    assert settings is not None
    inbound_id = int(payload["reply"]["inbound_id"])
    with app.sessions() as session:
        if known_key is None:
            _wait_for_mirror(app, session, ticket_id, reference)
        mail = session.get(InboundMail, inbound_id)
        if mail is None:
            raise PermanentError(f"the mail #{inbound_id} of this reply is no longer stored")
        raw, received_at = mail.raw, mail.received_at
    assert known_key is not None
    try:
        reply = reply_from_raw(
            raw,
            received_at,
            reference,
            app.calendar.zone,
            settings.attachment_max_bytes,
            app.settings.privacy,
        )
    except Quarantine as exc:  # it was read once to join the ticket; unreadable now means unreadable
        raise PermanentError(f"the mail #{inbound_id} of this reply cannot be read: {exc.reason}") from None
    done = add_customer_reply(jira, known_key, reply, public=settings.customer_replies == "public")
    log.info("%s: customer reply added to Jira: %s", reference, done)
    return f"customer reply mirrored: {done}"


def erase_request(jira: JsmClient, key: str, reference: str) -> None:
    """Delete an erased person's request: done when Jira deleted it or has none (404: deleted already,
    or hidden from the [jira] user); a refusal fails the job with the manual steps, never customer data."""
    if not key:
        raise PermanentError(f"{reference}: the erasure job names no Jira issue")
    try:
        deleted = jira.delete_issue(key)
    except HttpPermanentError as exc:
        steps = MANUAL_ERASURE_STEPS.format(key=key)
        raise HttpPermanentError(f"{exc}. Until then erase it by hand: {steps}", exc.status) from None
    log.info("%s: Jira issue %s %s (erasure)", reference, key, "deleted" if deleted else "was not found")


def tell_team_erasure_failed(session: Session, app: App, job: EscalationJob, status: int | None) -> None:
    """A deletion of an erased person's request failed for good (`status`: Jira's refusal, None: it could
    not be reached for MAX_JOB_ATTEMPTS): the team must erase it by hand. Once per job; the mail names the
    ticket reference, the issue key and why, never customer data. Other jobs: nothing."""
    from mailbot.tickets.notify import mail_team  # runtime import: tickets imports the escalation queue

    if job.backend != "jira" or job.event != ERASE:
        return
    ticket = session.get_one(Ticket, job.ticket_id)
    key = str((job.payload or {}).get("key") or "?")
    mail_team(
        session, app, ticket, "jira_erasure_refused", f"jira-erasure-refused:{job.id}", app.clock(),
        reference=ticket.reference, external_key=key, http_status=status,
    )  # fmt: skip


def _first_mail_attachments(
    app: App, jira: JsmClient, key: str, ticket_id: int, reference: str
) -> str | None:
    """The attachments of the mail that raised the request, as allowed by [privacy] (the description
    holds its words only); following `[jira] customer_replies` (public, internal, or "off": none)."""
    settings = app.settings.jira
    assert settings is not None
    if settings.customer_replies == "off":
        return None
    with app.sessions() as session:
        mail = session.scalars(
            select(InboundMail)
            .where(
                InboundMail.ticket_id == ticket_id, InboundMail.outcome.is_distinct_from(Outcome.AGENT_ANSWER)
            )
            .order_by(InboundMail.id)
            .limit(1)
        ).first()
        if mail is None or not mail.raw:
            return None
        raw, received_at = mail.raw, mail.received_at
    try:
        files = first_mail_files(
            raw,
            received_at,
            reference,
            app.calendar.zone,
            settings.attachment_max_bytes,
            app.settings.privacy,
        )
    except Quarantine:  # decided once, unreadable now: the request stands, without its files
        return None
    if files is None:
        return None
    done = add_customer_reply(jira, key, files, public=settings.customer_replies == "public")
    log.info("%s: attachments of the first mail added to Jira: %s", reference, done)
    return f"attachments of the first mail mirrored: {done}"


def _wait_for_mirror(app: App, session: Session, ticket_id: int, reference: str) -> None:
    """A reply to a ticket whose request is not raised yet waits for it; never raised means never."""
    mirror = mirror_job(session, ticket_id)
    if mirror is None or mirror.state != JobState.PENDING:
        why = "no Jira job was ever made for it" if mirror is None else mirror.last_error or mirror.state
        raise PermanentError(f"{reference} has no Jira request to add the reply to ({why})")
    until = max(mirror.next_attempt_at, app.clock()) + timedelta(seconds=1)
    raise NotYet(f"waiting until Jira job #{mirror.id} has raised the request of {reference}", until)


def _erased_meanwhile(session: Session, app: App, ticket: Ticket, now: datetime) -> None:
    """The request arrived after its customer's data was erased: it is deleted like the others, or
    named for a person to erase."""
    from mailbot.privacy.jira_erase import queue_jira_erasures  # privacy builds on escalate, not back

    plan = queue_jira_erasures(session, app, [ticket], now)
    if not plan.queued:
        log.warning(
            "%s: Jira request %s was raised while the customer's data was erased; erase it in Jira (%s)",
            ticket.reference, ticket.external_key, plan.why_by_hand,
        )  # fmt: skip


def _mirrored(app: App, ticket_id: int, created: CreatedRequest) -> None:
    """Keep the request's key at once: poll_jira follows it, and a retry never raises a second one."""
    from mailbot.tickets.service import add_event

    with app.sessions.begin() as session:
        ticket = session.get_one(Ticket, ticket_id)
        ticket.external_key = created.issue_key
        now = app.clock()
        add_event(session, ticket, "mirrored", f"Jira Service Management {created.issue_key}", now)
        if ticket.erased_at is not None:  # the person's erasure committed while this request was raised
            _erased_meanwhile(session, app, ticket, now)
            return
        if created.reporter_fallback and has_no_mailbox(ticket.customer):  # a store review: expected
            add_event(session, ticket, "jira_raised_as_bot", created.reporter_fallback[:2000], now)
        elif created.reporter_fallback:
            user = app.settings.jira.user if app.settings.jira else "the [jira] user"
            note = (
                f"{created.issue_key} raised as {user}, not on behalf of {ticket.customer} (Jira does not"
                f" tell the customer; mailbot still relays public comments): {created.reporter_fallback}"
            )
            add_event(session, ticket, "jira_reporter_fallback", note[:2000], now)
            log.warning("%s: %s", ticket.reference, note)
