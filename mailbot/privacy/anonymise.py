"""Take the personal data out of one row, keep what figures read: shared by the erasure on a person's
request (privacy.erase) and the retention job (privacy.retention), so both leave the same shape behind.

Gone: raw mails, addresses (replaced by a stable pseudonym, so one person's rows still count as one
person's), names, subjects, text excerpts, event notes beyond their structural part, learned example
texts, backend payloads. Kept: kinds, times, states, outcomes, article ids, severities, due times.
Each function sets `erased_at`, so a row is never done twice.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

from mailbot.db.schema import (
    EscalationJob,
    InboundMail,
    JobState,
    LearnedExample,
    OutboxMail,
    OutboxState,
    Ticket,
    TicketEvent,
)
from mailbot.escalate.jira_jobs import ERASE
from mailbot.logredact import mask_addresses
from mailbot.rules.base import address_key

ERASED_DOMAIN = "erased.invalid"  # RFC 2606: never a real address
# ticket events whose note figures read: only that structural part is kept
_KEEP_NOTE = {
    "failure_signal": lambda note: note.split(":", 1)[0],  # the kind, not the customer's words
    "severity_corrected": lambda note: note.split(":", 1)[0],  # "minor -> major", not the agent's note
    "answer_suggested": lambda note: note.split(" ", 1)[0],  # the article id
    "jira_priority": lambda note: note,  # a priority name
}


def pseudonym(key: bytes, address: str) -> str:
    """Retention's stand-in: the same for the same person (so one person's rows still count as one),
    never deliverable. Keyed (HMAC-SHA-256 under a key derived from the installation's secret), so only
    who holds the database and its secret can confirm a guessed address: pseudonymous data (Art. 4(5)
    GDPR), which is why an erasure on request uses `random_stand_in` instead."""
    derived = hmac.new(key, b"mailbot.privacy.pseudonym", hashlib.sha256).digest()
    digest = hmac.new(derived, address_key(address).encode("utf-8"), hashlib.sha256).hexdigest()[:16]
    return f"erased-{digest}@{ERASED_DOMAIN}"


def random_stand_in() -> str:
    """An erasure's stand-in: one per erasure (the person's rows still belong together), derived from
    nothing, so no key and no guess leads back to the person: anonymous, not pseudonymous."""
    return f"erased-{secrets.token_hex(8)}@{ERASED_DOMAIN}"


def is_pseudonym(address: str | None) -> bool:
    return bool(address) and (address or "").strip().lower().endswith("@" + ERASED_DOMAIN)


def ticket(row: Ticket, stand_in: str, now: datetime) -> None:
    row.customer, row.customer_name, row.subject = stand_in, "", ""
    row.text_excerpt, row.severity_reasons = "", []
    row.erased_at = now


def inbound(row: InboundMail, stand_in: str, now: datetime) -> None:
    """Its Message-ID goes too: ids are often made of the sender's domain or address. (Queue the mail
    server's copy, which is found by it, first: privacy.folders.)"""
    row.raw, row.subject, row.message_id = b"", "", ""
    row.from_addr = stand_in if row.from_addr else row.from_addr
    row.reason = mask_addresses(row.reason) if row.reason else row.reason
    row.last_error = None
    if row.decision:
        row.decision = without_text(row.decision)
    row.erased_at = now


def outbox(row: OutboxMail, stand_in: str | None, now: datetime) -> None:
    """A mail's copy goes; a mail to the customer gets the stand-in as recipient; one not sent yet is
    cancelled (its bytes are gone, and what it said was about the person)."""
    if row.state in (OutboxState.PENDING, OutboxState.SENDING):
        row.state, row.lease_until = OutboxState.FAILED, None
        row.last_error = "cancelled: the person's data was erased"
    row.raw, row.subject = b"", ""
    if row.to_customer and stand_in:
        row.recipient = stand_in
    row.last_error = mask_addresses(row.last_error) if row.last_error else row.last_error
    row.smtp_response = None
    row.erased_at = now


def event(row: TicketEvent) -> None:
    keep = _KEEP_NOTE.get(row.kind)
    row.note = keep(row.note) if keep else ""


def learned(row: LearnedExample) -> None:
    row.text = ""


def job(row: EscalationJob, now: datetime) -> None:
    """A call to Jira or the webhook: its payload holds the customer's text; a pending one must not go.
    The deletion of a request in Jira (privacy.jira_erase) holds only the key and must go."""
    if row.event == ERASE:
        return
    row.payload, row.last_error = {}, None
    if row.state == JobState.PENDING:
        row.state, row.last_error, row.done_at = (
            JobState.FAILED,
            "cancelled: the customer's data was erased",
            now,
        )


def without_text(decision: dict[str, object]) -> dict[str, object]:
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
