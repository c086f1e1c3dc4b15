"""Following mirrored tickets in Jira Service Management: public comments and resolutions.

Runs every `[jira] poll_minutes` (and once per `run --once`). What it reads is only acted on in the
ticket's own transaction: relayed comments advance `external_comment_id` in the same commit as
the customer's mail enters the outbox, so a crash relays nothing twice and loses nothing, and the
mail's dedup key (`relay.cause`) names the comments, so a re-poll of the same ones sends nothing.

Whose words reach whom (`relay`): a request's public comments by agents go to the customer of
that request's ticket only, all new ones in one mail per poll. A request marked done solves its
own ticket: the parent of an incident together with its children (whose customers are told it is
solved, without the comment meant for the parent's customer), a child alone, telling only its
customer. One pass takes at most POLL_SECONDS, the requests least recently looked at first; the
rest waits for the next pass, and a Jira that asks for a pause (429) or does not answer in time
ends the pass at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mailbot.db.schema import Ticket, TicketEvent
from mailbot.domain import Severity, TicketState
from mailbot.errors import PermanentError, TransientError
from mailbot.escalate import HttpTimeout, JobReport
from mailbot.escalate.bounded_http import stopping
from mailbot.escalate.jira import Comment, JsmClient, RequestState
from mailbot.escalate.jira_jobs import jira_client
from mailbot.escalate.relay import Requester, batch, cause, mail_text
from mailbot.logredact import headline

if TYPE_CHECKING:  # a runtime import would be circular (the app wires this module in)
    from mailbot.app import App

log = logging.getLogger(__name__)
POLL_SECONDS = 30.0  # one pass over the mirrored requests; the rest waits for the next pass


@dataclass(frozen=True)
class Seen:
    """What Jira shows of one request now: the comments after the last one read, and its state."""

    comments: list[Comment]
    state: RequestState
    own_account: str | None


def poll_jira(
    app: App,
    make_jira: Callable[[], JsmClient] | None = None,
    *,
    budget_seconds: float = POLL_SECONDS,
    monotonic: Callable[[], float] = time.monotonic,
) -> JobReport:
    """Relay the agents' public comments of mirrored tickets to their customers; solve what Jira marks done.

    A resolution solves the ticket once: if the customer reopens it, mailbot waits until Jira's
    status changes again (or an agent writes again).
    """
    report = JobReport()
    if app.settings.jira is None:
        return report
    with app.sessions() as session:
        watched = session.execute(
            select(Ticket.id, Ticket.external_key, Ticket.external_comment_id)
            .where(
                Ticket.mailbox == app.mailbox,
                Ticket.external_key.is_not(None),
                Ticket.state != TicketState.SOLVED,
            )
            .order_by(Ticket.external_polled_at.asc().nulls_first(), Ticket.id)
        ).all()
    if not watched:
        return report
    started = monotonic()
    with (make_jira or (lambda: jira_client(app)))() as jira:
        for index, (ticket_id, key, last_comment) in enumerate(watched):
            if stopping() or (index and monotonic() - started >= budget_seconds):  # one at least
                report.waiting += len(watched) - index
                if not stopping():
                    log.info("Jira follow-up used its %g s; %d requests wait for the next pass",
                             budget_seconds, len(watched) - index)  # fmt: skip
                break
            try:
                seen = _read(jira, key, last_comment)
            except TransientError as exc:
                if stopping():
                    report.waiting += len(watched) - index
                    break
                report.errors.append(f"Jira {key}: {exc}")
                _looked_at(app, ticket_id)
                if isinstance(exc, HttpTimeout) or getattr(exc, "retry_after", None) is not None:
                    log.warning(
                        "Jira is slow or asks to slow down; the next poll goes on: %s", headline(str(exc))
                    )
                    report.waiting += len(watched) - index - 1
                    break
                continue
            except PermanentError as exc:
                report.errors.append(f"Jira {key}: {exc}")
                log.error("following Jira request %s failed: %s", key, headline(str(exc)))
                log.debug("following Jira request %s: %s", key, exc)
                _looked_at(app, ticket_id)
                continue
            with app.sessions.begin() as session:
                ticket = session.get_one(Ticket, ticket_id, with_for_update=True)
                ticket.external_polled_at = app.clock()
                if ticket.state != TicketState.SOLVED:
                    _follow(session, app, ticket, key, seen, app.clock())
            report.done += 1
    return report


def _read(jira: JsmClient, key: str, last_comment: int | None) -> Seen:
    comments = jira.public_comments(key, since_id=last_comment)
    state = jira.request_state(key)
    return Seen(comments, state, jira.own_account_id() if comments else None)


def _follow(session: Session, app: App, ticket: Ticket, key: str, seen: Seen, now: datetime) -> None:
    """Act on what Jira shows, in the ticket's transaction."""
    from mailbot.tickets.service import add_event, reply, resolve, resolve_alone

    follow_priority(session, app, ticket, key, seen.state.priority, now)
    requester = Requester(ticket.customer, seen.state.customers, seen.own_account)
    relay = batch(seen.comments, requester)
    if relay.read_up_to is not None:
        ticket.external_comment_id = max(relay.read_up_to, ticket.external_comment_id or 0)
    text = mail_text(relay.comments, ticket.language)
    done = _done_marker(key, seen.state) if seen.state.done and relay.complete else None
    if done is not None and (relay.comments or not _seen(session, ticket, done)):
        last = relay.comments[-1].id if relay.comments else seen.state.changed_at
        solved_by = f"jira:{key}:done:{last}"
        if ticket.parent_id is None:  # the incident's parent (or no incident): its children with it
            resolve(session, app, ticket, text, now, solved_by, shared=False)
        else:  # one child's request says nothing about the other customers' reports
            resolve_alone(session, app, ticket, text, now, solved_by)
        add_event(session, ticket, "jira_done", done, now)
    elif relay.comments:
        reply(session, app, ticket, text, now, cause=cause(key, relay.comments))
        if not relay.complete:
            note = f"{len(relay.comments)} comments of {key} relayed; the next ones follow at the next poll"
            add_event(session, ticket, "jira_comments_waiting", note, now)


PRIORITY_SEEN = "jira_priority"  # ticket event: the priority last seen on the request (its name)


def follow_priority(
    session: Session, app: App, ticket: Ticket, key: str, priority: str | None, now: datetime
) -> None:
    """An agent who changes the request's priority in Jira corrects the severity guess, as `mailbot
    tickets severity` does (mailbot.tickets.correction): only a change since the priority last seen
    counts (the first look compares with the one mailbot sent), so a correction made in mailbot is
    not undone by the stale priority in Jira. A priority no [jira] priorities entry maps is noted."""
    from mailbot.tickets.correction import correct_severity
    from mailbot.tickets.service import add_event

    if priority is None or app.settings.jira is None:
        return
    last = session.scalar(
        select(TicketEvent.note)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == PRIORITY_SEEN)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    settings = app.settings.jira
    sent = settings.priority_for(Severity(ticket.severity)) if ticket.severity else None
    if priority == (last if last is not None else sent):
        if last is None:
            add_event(session, ticket, PRIORITY_SEEN, priority, now)
        return
    add_event(session, ticket, PRIORITY_SEEN, priority, now)
    severity = next((name for name, value in settings.priorities.items() if value == priority), None)
    if severity is None:
        add_event(
            session, ticket, "jira_priority_unmapped", f"{key}: priority {priority!r} maps to no class", now
        )
        return
    if severity != ticket.severity:
        correct_severity(session, app, ticket, severity, f"priority {priority} in Jira {key}", now)


def _looked_at(app: App, ticket_id: int) -> None:
    """A request that could not be read goes to the back of the queue, so it cannot starve the others."""
    with app.sessions.begin() as session:
        session.execute(update(Ticket).where(Ticket.id == ticket_id).values(external_polled_at=app.clock()))


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
