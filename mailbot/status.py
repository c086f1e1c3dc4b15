"""What `mailbot status` shows: counts per state, and every item that needs a human, with its reason."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.db.schema import (
    EscalationJob,
    InboundMail,
    InboundState,
    JobState,
    OutboxMail,
    OutboxState,
    SkippedDuplicate,
    Ticket,
)


def collect_status(session: Session, mailbox: str) -> dict[str, Any]:
    def counts(column: Any, model: Any) -> dict[str, int]:
        rows = session.execute(select(column, func.count()).where(model.mailbox == mailbox).group_by(column))
        return {str(state): int(count) for state, count in rows if state is not None}

    quarantined = [
        {
            "kind": "inbound",
            "id": row.id,
            "from": row.from_addr,
            "subject": row.subject,
            "message_id": row.message_id,
            "received_at": row.received_at.isoformat(),
            "reason": row.reason,
        }
        for row in session.scalars(
            select(InboundMail)
            .where(InboundMail.mailbox == mailbox, InboundMail.state == InboundState.QUARANTINED)
            .order_by(InboundMail.id)
        )
    ]
    failed = [
        {
            "kind": "outbox",
            "id": row.id,
            "mail_kind": row.kind,
            "recipient": row.recipient,
            "subject": row.subject,
            "attempts": row.attempts,
            "reason": row.last_error,
        }
        for row in session.scalars(
            select(OutboxMail)
            .where(OutboxMail.mailbox == mailbox, OutboxMail.state == OutboxState.FAILED)
            .order_by(OutboxMail.id)
        )
    ]
    failed += [
        {
            "kind": "escalation",
            "id": row.id,
            "backend": row.backend,
            "event": row.event,
            "attempts": row.attempts,
            "reason": row.last_error,
        }
        for row in session.scalars(
            select(EscalationJob)
            .where(EscalationJob.mailbox == mailbox, EscalationJob.state == JobState.FAILED)
            .order_by(EscalationJob.id)
        )
    ]
    duplicates = session.scalar(
        select(func.count(SkippedDuplicate.id)).where(SkippedDuplicate.mailbox == mailbox)
    )
    breached = session.scalar(
        select(func.count(Ticket.id)).where(Ticket.mailbox == mailbox, Ticket.sla_breached_at.is_not(None))
    )
    return {
        "mailbox": mailbox,
        "inbound": counts(InboundMail.state, InboundMail),
        "outcomes": counts(InboundMail.outcome, InboundMail),
        "tickets": counts(Ticket.state, Ticket),
        "outbox": counts(OutboxMail.state, OutboxMail),
        "escalation_jobs": counts(EscalationJob.state, EscalationJob),
        "sla_breached": int(breached or 0),
        "duplicates_skipped": int(duplicates or 0),
        "quarantined": quarantined,
        "failed": failed,
    }


def format_status(status: dict[str, Any]) -> str:
    lines = [f"mailbox {status['mailbox']}"]
    for section in ("inbound", "outcomes", "tickets", "outbox", "escalation_jobs"):
        parts = ", ".join(f"{state} {count}" for state, count in sorted(status[section].items())) or "none"
        lines.append(f"  {section:<9} {parts}")
    lines.append(f"  SLA breaches (tickets) {status['sla_breached']}")
    lines.append(f"  duplicates skipped (mail we already had) {status['duplicates_skipped']}")
    if status["quarantined"]:
        lines.append("quarantined:")
        for item in status["quarantined"]:
            lines.append(f"  inbound #{item['id']} from {item['from'] or '?'}: {item['subject'] or ''!r}")
            lines.append(f"    reason: {item['reason']}")
    if status["failed"]:
        lines.append("failed deliveries:")
        for item in status["failed"]:
            if item["kind"] == "escalation":
                what = f"  escalation #{item['id']} ({item['backend']} {item['event']})"
            else:
                what = f"  outbox #{item['id']} ({item['mail_kind']}) to {item['recipient']}"
            lines.append(f"{what}: {item['reason']}")
    return "\n".join(lines)
