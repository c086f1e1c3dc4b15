"""The Jira requests of an erased person (GDPR Art. 17): deleted through Jira's API, or listed for a person.

`[privacy] jira_erasure = "delete"` (with `[jira]` configured): `queue_jira_erasures` writes one
escalation job per request key (event `request.erase`, payload `{"key": ...}` and nothing about the
person, dedup key `erase:<key>`) in the erasure's own transaction, so the deletion happens even when
Jira is down at that moment: the job queue retries with its backoff, a 404 counts as deleted already,
and a refusal (403: no "Delete issues" permission) fails the job with the manual steps and tells the
team once (`mailbot.escalate.jira_jobs`). A crash before the erasure commits leaves neither.
`"list"` queues nothing: the keys are printed with the steps to erase them in Jira.

Order in the erasure's transaction: after the rows are anonymised and the person's other jobs cancelled,
because that cancelling empties and fails every pending job of the person's tickets, and would take
these with it. `jira_erasure_lines` says what happened, for `mailbot privacy erase`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import EscalationJob, Ticket
from mailbot.escalate.jira_jobs import ERASE, ESCALATED, MANUAL_ERASURE_STEPS
from mailbot.escalate.jobs import add_job_once

if TYPE_CHECKING:  # the CLI wires the App; only its settings, mailbox and clock are read here
    from mailbot.app import App


@dataclass(frozen=True)
class JiraErasure:
    """What becomes of the Jira requests of one erasure."""

    queued: tuple[str, ...] = ()  # issue keys whose deletion is queued (or would be, in a dry run)
    by_hand: tuple[str, ...] = ()  # issue keys a person must erase in Jira
    why_by_hand: str = ""  # why mailbot does not delete them itself
    unknown: tuple[str, ...] = ()  # ticket references whose request may exist, its key never learned

    @property
    def empty(self) -> bool:
        return not (self.queued or self.by_hand or self.unknown)


def plan_jira_erasures(
    mode: str, jira_configured: bool, keys: Sequence[str], unknown: Sequence[str] = ()
) -> JiraErasure:
    """Pure: delete through the API only when asked to and possible; everything else goes to a person."""
    keys = tuple(dict.fromkeys(k for k in keys if k))
    unknown = tuple(dict.fromkeys(unknown))
    if not keys:
        return JiraErasure(unknown=unknown)
    if mode == "delete" and jira_configured:
        return JiraErasure(queued=keys, unknown=unknown)
    why = (
        "[jira] is not configured for this client" if mode == "delete" else '[privacy] jira_erasure = "list"'
    )
    return JiraErasure(by_hand=keys, why_by_hand=why, unknown=unknown)


def jira_erasure_plan(session: Session, app: App, tickets: Sequence[Ticket]) -> JiraErasure:
    """The plan for these tickets (the person's, before or after their rows were anonymised), unwritten:
    what a dry run reports."""
    keys = [t.external_key for t in tickets if t.external_key]
    return plan_jira_erasures(
        app.settings.privacy.jira_erasure,
        app.settings.jira is not None,
        keys,
        _keys_never_learned(session, tickets),
    )


def queue_jira_erasures(
    session: Session, app: App, tickets: Sequence[Ticket], now: datetime, plan: JiraErasure | None = None
) -> JiraErasure:
    """Queue the deletion of these tickets' Jira requests in the caller's transaction (see the module's
    docstring for the order); idempotent: a key queued before is not queued again. `plan`: the one the
    caller made already for these tickets."""
    if plan is None:
        plan = jira_erasure_plan(session, app, tickets)
    ticket_of = {t.external_key: t.id for t in tickets if t.external_key}
    for key in plan.queued:
        add_job_once(
            session,
            app.mailbox,
            ticket_of[key],
            "jira",
            ERASE,
            f"erase:{key}",
            now,
            lambda key=key: {"key": key},
        )
    return plan


def jira_erasure_lines(plan: JiraErasure, *, dry_run: bool = False) -> list[str]:
    """What `mailbot privacy erase` prints about Jira: the keys queued for deletion, or those a person
    must erase, with the steps. Issue keys and ticket references only, never the person's data."""
    lines = []
    if plan.queued:
        verb = "would be queued" if dry_run else "queued"
        lines.append(
            f"Jira requests {verb} for deletion (with their subtasks): {', '.join(plan.queued)};"
            " the escalation jobs delete them, retry while Jira is unreachable, and tell the team if"
            " Jira refuses (`mailbot status` lists a refused one)"
        )
    if plan.by_hand:
        lines.append(
            f"Jira requests that still hold the person's data: {', '.join(plan.by_hand)}; erase them in Jira"
            f" ({plan.why_by_hand}; docs/privacy.md, 'Jira'):"
        )
        lines.append("  " + MANUAL_ERASURE_STEPS.format(key="each request"))
    if plan.unknown:
        lines.append(
            "Tickets whose Jira request may exist although mailbot never learned its key:"
            f" {', '.join(plan.unknown)}; search Jira for each reference and erase the request found"
        )
    return lines


def _keys_never_learned(session: Session, tickets: Sequence[Ticket]) -> list[str]:
    """References of tickets without a key that had a Jira request raised for them: an attempt that timed
    out may have created it in Jira, and the erasure cancelled the retry that would have found it."""
    without = {t.id: t.reference or f"#{t.id}" for t in tickets if not t.external_key}
    if not without:
        return []
    asked = session.scalars(
        select(EscalationJob.ticket_id).where(
            EscalationJob.ticket_id.in_(list(without)),
            EscalationJob.backend == "jira",
            EscalationJob.event == ESCALATED,
            EscalationJob.attempts > 0,
        )
    ).all()
    return [without[i] for i in sorted(set(asked))]
