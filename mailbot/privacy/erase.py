"""Erase what mailbot holds about one person of one client (GDPR Art. 17), in one transaction.

What is personal goes: the raw mails (received and sent), addresses (replaced by a stable pseudonym, so
that one person's rows still count as one person's), names, subjects, texts, the notes of ticket events,
learned example texts. What figures need stays: kinds, times, outcomes, article ids, severities, due
times, so reports of earlier periods give the same numbers afterwards. Open tickets are closed first
(event `closed_for_erasure`, a note to the team that names no customer data). The erasure is recorded
(table `erasures`: when, by whom, how many rows) without the address. A crash rolls all of it back.
The person's Jira requests are deleted through a durable job (`[privacy] jira_erasure = "delete"`) or
listed with the steps to erase them by hand (privacy.jira_erase).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import Erasure, InboundState, Outcome, TicketEvent
from mailbot.domain import TicketState
from mailbot.privacy import anonymise
from mailbot.privacy.find import Found, find
from mailbot.privacy.folders import queue_folder_copies, queues_folder_copy
from mailbot.privacy.jira_erase import JiraErasure, jira_erasure_plan, queue_jira_erasures
from mailbot.tickets.notify import mail_team

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Erased:
    counts: dict[str, int]
    closed: tuple[str, ...]  # references of tickets that were open
    jira: JiraErasure  # what becomes of the Jira requests of the person's tickets
    folder_copies: str = ""  # what becomes of the mail server's copies, in words ("" for a Maildir client)


def erase(session: Session, app: App, address: str, by: str, now: datetime, *, dry_run: bool) -> Erased:
    # rows retention already gave the person's pseudonym are theirs too, and lose it now
    found = find(session, app.mailbox, address, aliases=(anonymise.pseudonym(app.message_id_key, address),))
    counts = _counts(found)
    closed = tuple(t.reference or f"#{t.id}" for t in found.tickets if t.state != TicketState.SOLVED)
    plan = jira_erasure_plan(session, app, found.tickets)
    copies = _folder_copies(session, app, found, now, dry_run=dry_run or found.empty)
    if dry_run or found.empty:
        return Erased(counts, closed, plan, copies)
    stand_in = anonymise.random_stand_in()
    for ticket in found.tickets:
        if ticket.state != TicketState.SOLVED:
            ticket.state, ticket.resolved_at, ticket.updated_at = TicketState.SOLVED, now, now
            session.add(
                TicketEvent(
                    mailbox=ticket.mailbox, ticket_id=ticket.id, at=now, kind="closed_for_erasure", note=""
                )
            )
            mail_team(
                session, app, ticket, "erasure_closed", f"erasure-closed:{ticket.id}", now,
                reference=ticket.reference,
                # the note asks the team to erase the request in Jira unless mailbot deletes it
                external_key=None if ticket.external_key in plan.queued else ticket.external_key,
            )  # fmt: skip
        anonymise.ticket(ticket, stand_in, now)
    for mail in found.inbound:
        if mail.state == InboundState.RECEIVED:  # not decided yet: nothing is left to decide on
            mail.state, mail.outcome, mail.processed_at = InboundState.DONE, Outcome.IGNORED, now
            mail.reason = "erased on request before it was decided"
        anonymise.inbound(mail, stand_in, now)
    for sent in found.outbox:
        anonymise.outbox(sent, stand_in, now)
    for event in found.events:
        anonymise.event(event)
    for example in found.learned:
        anonymise.learned(example)
    for job in found.jobs:
        anonymise.job(job, now)
    jira = queue_jira_erasures(session, app, found.tickets, now, plan)  # after the jobs above were cancelled
    session.add(Erasure(mailbox=app.mailbox, at=now, by=by[:200], counts=counts))
    log.info("erasure for client %s: %s", app.mailbox, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return Erased(counts, closed, jira, copies)


def _folder_copies(session: Session, app: App, found: Found, now: datetime, *, dry_run: bool) -> str:
    """Queue the mail server's copies of the person's mails for deletion (before their rows are
    anonymised: the queue copies Message-ID and hash), as `[privacy] folders` says; say what happens."""
    if app.settings.imap is None or not found.inbound:
        return ""
    if not queues_folder_copy(app.settings.privacy.folders, "erasure"):
        return (
            f"the mail server's copies of {len(found.inbound)} mail(s) are kept in Processed/Quarantine"
            ' ([privacy] folders = "keep": the client archives mail under a legal duty)'
        )
    if dry_run:
        return f"the mail server's copies of {len(found.inbound)} mail(s) would be deleted"
    queue_folder_copies(session, app.mailbox, found.inbound, "erasure", now)
    return f"the mail server's copies of {len(found.inbound)} mail(s) are queued for deletion"


def _counts(found: Found) -> dict[str, int]:
    return {
        "received_mails": len(found.inbound),
        "tickets": len(found.tickets),
        "sent_mails": len(found.outbox),
        "ticket_events": len(found.events),
        "learned_examples": len(found.learned),
        "backend_jobs": len(found.jobs),
    }
