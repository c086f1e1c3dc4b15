"""Following mirrored tickets in Jira Service Management: public comments and resolutions.

Runs every `[jira] poll_minutes` (and once per `run --once`). What it reads is only acted on in the
ticket's own transaction: a relayed comment advances `external_comment_id` in the same commit as
the customer's mail enters the outbox, so a crash relays nothing twice and loses nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import Ticket, TicketEvent
from mailbot.domain import TicketState
from mailbot.errors import PermanentError, TransientError
from mailbot.escalate import JobReport
from mailbot.escalate.jira import Comment, JsmClient, RequestState
from mailbot.escalate.jira_jobs import jira_client

if TYPE_CHECKING:  # a runtime import would be circular (the app wires this module in)
    from mailbot.app import App

log = logging.getLogger(__name__)


def poll_jira(app: App, make_jira: Callable[[], JsmClient] | None = None) -> JobReport:
    """Relay public comments of mirrored tickets to their customers; solve tickets Jira marks done.

    Comments by the [jira] user are mailbot's own (the customer's follow-ups it added) and comments
    by the customer are their own words: neither is mailed back to the customer. A resolution solves
    the ticket once: if the customer reopens it, mailbot waits until Jira's status changes again.
    A 429 ends this round: the next one comes `[jira] poll_minutes` later.
    """
    from mailbot.tickets.service import TicketActionError, add_event, reply, resolve

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
                done = _done_marker(key, state) if state.done else None
                if done is not None and (solution is not None or not _seen(session, ticket, done)):
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
                    add_event(session, ticket, "jira_done", done, now)
                report.done += 1
    return report


def _done_marker(key: str, state: RequestState) -> str:
    """Names one resolution in Jira: the status and since when."""
    since = state.changed_at.isoformat() if state.changed_at else "unknown"
    return f"{key} {state.status} since {since}"


def _seen(session: Session, ticket: Ticket, done: str) -> bool:
    """This resolution solved the ticket before: a customer has reopened it since, so wait for Jira
    to move the request (an agent reopens and resolves it, or answers) instead of solving it again."""
    query = select(TicketEvent.id).where(
        TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "jira_done", TicketEvent.note == done
    )
    return session.scalar(query.limit(1)) is not None


def _from_agent(comment: Comment, own_account: str | None, customer: str) -> bool:
    """Neither mailbot's own comment (the customer's follow-ups it added) nor the customer's words."""
    if own_account is not None and comment.author_account == own_account:
        return False
    return (comment.author_email or "").lower() != customer.lower()  # Ticket.customer keeps its local part


def _root(session: Session, ticket: Ticket) -> Ticket:
    return session.get_one(Ticket, ticket.parent_id) if ticket.parent_id else ticket
