"""Erase what mailbot holds about one person of one client (GDPR Art. 17), in one transaction.

What is personal goes: the raw mails (received and sent), addresses (replaced by a stable pseudonym, so
that one person's rows still count as one person's), names, subjects, texts, the notes of ticket events,
learned example texts. What figures need stays: kinds, times, outcomes, article ids, severities, due
times, so reports of earlier periods give the same numbers afterwards. Open tickets are closed first
(event `closed_for_erasure`, a note to the team that names no customer data). The erasure is recorded
(table `erasures`: when, by whom, how many rows) without the address. A crash rolls all of it back.
Not yet: the copies in the mail server's folders (Processed, Quarantine) and the Jira requests (listed
with the steps to erase them by hand) - see docs/privacy.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import Erasure, JobState, TicketEvent
from mailbot.domain import TicketState
from mailbot.logredact import mask_addresses
from mailbot.privacy.find import Found, find
from mailbot.rules.base import address_key
from mailbot.tickets.notify import mail_team

log = logging.getLogger(__name__)
ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real address
# ticket events whose note figures read: only that structural part is kept
_KEEP_NOTE = {
    "failure_signal": lambda note: note.split(":", 1)[0],  # the kind, not the customer's words
    "severity_corrected": lambda note: note.split(":", 1)[0],  # "minor -> major", not the agent's note
    "answer_suggested": lambda note: note.split(" ", 1)[0],  # the article id
    "jira_priority": lambda note: note,  # a priority name
}


@dataclass(frozen=True)
class Erased:
    counts: dict[str, int]
    closed: tuple[str, ...]  # references of tickets that were open
    jira: tuple[str, ...] = ()  # Jira requests of the person's tickets: their data is erased there by hand


def pseudonym(key: bytes, address: str) -> str:
    """The same stand-in for the same person (so figures still count one person once), unguessable
    without the installation's key, and never deliverable."""
    digest = hmac.new(key, address_key(address).encode("utf-8"), hashlib.sha256).hexdigest()[:16]
    return f"erased-{digest}@{ERASED_DOMAIN}"


def erase(session: Session, app: App, address: str, by: str, now: datetime, *, dry_run: bool) -> Erased:
    found = find(session, app.mailbox, address)
    counts = _counts(found)
    closed = tuple(t.reference or f"#{t.id}" for t in found.tickets if t.state != TicketState.SOLVED)
    jira = tuple(t.external_key for t in found.tickets if t.external_key)
    if dry_run or found.empty:
        return Erased(counts, closed, jira)
    stand_in = pseudonym(app.message_id_key, address)
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
                reference=ticket.reference, external_key=ticket.external_key,
            )  # fmt: skip
        ticket.customer, ticket.customer_name, ticket.subject = stand_in, "", ""
        ticket.text_excerpt, ticket.severity_reasons = "", []
    for mail in found.inbound:
        mail.raw, mail.from_addr, mail.subject = b"", stand_in, ""
        mail.reason = mask_addresses(mail.reason) if mail.reason else mail.reason
        mail.last_error = None
        if mail.decision:
            mail.decision = _without_text(mail.decision)
    for sent in found.outbox:
        sent.raw, sent.subject = b"", ""
        if sent.to_customer:
            sent.recipient = stand_in
        sent.last_error = mask_addresses(sent.last_error) if sent.last_error else sent.last_error
        sent.smtp_response = None
    for event in found.events:
        keep = _KEEP_NOTE.get(event.kind)
        event.note = keep(event.note) if keep else ""
    for example in found.learned:
        example.text = ""
    for job in found.jobs:
        job.payload, job.last_error = {}, None
        if job.state == JobState.PENDING:  # its payload is gone: it must not be sent
            job.state, job.last_error, job.done_at = (
                JobState.FAILED,
                "cancelled: the customer's data was erased",
                now,
            )
    session.add(Erasure(mailbox=app.mailbox, at=now, by=by[:200], counts=counts))
    log.info("erasure for client %s: %s", app.mailbox, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return Erased(counts, closed, jira)


def _counts(found: Found) -> dict[str, int]:
    return {
        "received_mails": len(found.inbound),
        "tickets": len(found.tickets),
        "sent_mails": len(found.outbox),
        "ticket_events": len(found.events),
        "learned_examples": len(found.learned),
        "backend_jobs": len(found.jobs),
    }


def _without_text(decision: dict[str, object]) -> dict[str, object]:
    """A decision record keeps what figures read (action, article, prediction, rule names), not the
    sentences that may quote the mail or name its sender."""
    kept = {k: v for k, v in decision.items() if k not in ("details", "reason")}
    hits = decision.get("rule_hits")
    if isinstance(hits, list):
        kept["rule_hits"] = [
            {"name": hit.get("name"), "effect": hit.get("effect"), "reason": ""}
            for hit in hits
            if isinstance(hit, dict)
        ]
    return kept
