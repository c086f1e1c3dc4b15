"""The process stage: claim a stored mail, parse, apply the rules, classify, decide, write the effects.

The decision, its scores and all of its effects (ticket, events, outbox rows) are written in the same
transaction as the state change, so a crash leaves either nothing or everything. An unexpected error
counts an attempt; after `max_attempts` the mail is quarantined with the error as its reason.

While the business calendar is closed, `process_pending(app, outside_hours)` makes the same decisions
but lets only those take effect that mailbot.pipeline.deferral allows; any other mail goes back to
waiting in the same transaction with no attempt counted (only its sender, subject and language are
filled in, and when it may next be looked at), so it is decided exactly once at the opening; a crash
in between leaves it claimable after its lease, as always.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.classify.normalise import classification_text
from mailbot.classify.questions import question_segments
from mailbot.db.claims import claim_next_inbound
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, Outcome
from mailbot.decide import decide
from mailbot.domain import Action, Cues, Decision, Intent, ParsedMail, Prediction, RuleEffect, Severity
from mailbot.errors import Quarantine
from mailbot.parse import parse_mail
from mailbot.pipeline import bounces
from mailbot.pipeline.deferral import OutsideHours, decide_now
from mailbot.pipeline.effects import apply_decision
from mailbot.pipeline.logline import decision_line
from mailbot.reply.compose import verify_message_id
from mailbot.rules import RuleContext, apply_rules, header_only
from mailbot.rules.base import address_key
from mailbot.rules.reply_target import reply_target
from mailbot.rules.sender_auth import check_sender
from mailbot.tickets.closing import is_closing
from mailbot.tickets.lookup import claimed_sender, find_ticket, only_open_ticket
from mailbot.tickets.status_query import asks_for_news, is_status_request

log = logging.getLogger(__name__)

OUTCOMES = {
    Action.ANSWER: Outcome.ANSWERED,
    Action.ESCALATE: Outcome.ESCALATED,
    Action.FOLLOW_UP: Outcome.FOLLOW_UP,
    Action.IGNORE: Outcome.IGNORED,
}


@dataclass
class ProcessReport:
    outcomes: list[tuple[int, str, str]] = field(default_factory=list)  # (inbound id, outcome, summary)
    failures: int = 0
    waiting: int = 0  # looked at outside business hours and left for the opening


def process_pending(
    app: App, outside_hours: OutsideHours | None = None, on_commit: Callable[[], None] | None = None
) -> ProcessReport:
    """Work through every claimable mail once, oldest first.

    `outside_hours` (the business calendar is closed): only what it allows is decided now; the rest is
    left waiting, and mail left waiting before is not looked at again until its opening.
    `on_commit` is called after each committed decision (the delivery thread's `wake`: its replies
    can leave at once).
    """
    report = ProcessReport()
    tried: set[int] = set(_deferred(app) if outside_hours is not None else ())
    lease = timedelta(seconds=app.settings.limits.lease_seconds)
    while True:
        with app.sessions.begin() as session:
            row_id = claim_next_inbound(session, app.mailbox, app.clock(), lease, skip=tried)
        if row_id is None:
            return report
        tried.add(row_id)
        try:
            outcome = process_one(app, row_id, outside_hours)
        except Exception as exc:
            log.exception("processing inbound #%s failed", row_id)
            _record_failure(app, row_id, exc)
            report.failures += 1
        else:
            if outcome is None:
                report.waiting += 1
            else:
                report.outcomes.append((row_id, *outcome))
            if on_commit is not None:
                on_commit()


def process_one(app: App, row_id: int, outside_hours: OutsideHours | None = None) -> tuple[str, str] | None:
    """Decide one claimed mail; return (outcome, a one-line summary), or None when the decision may not
    take effect outside business hours and the mail waits for the opening."""
    with app.sessions.begin() as session:
        row = session.get_one(InboundMail, row_id)
        now = app.clock()
        if row.attempts > app.settings.limits.max_attempts:
            reason = f"gave up after {row.attempts - 1} failed attempts; last error: {row.last_error}"
            return _quarantine(row, reason, now)
        try:
            mail = parse_mail(row.raw, default_language=app.settings.support.default_language)
        except Quarantine as exc:
            verdict = decide_now(None, None, outside_hours) if outside_hours is not None else None
            if verdict is not None and not verdict.now:
                return _leave_waiting(app, row, verdict.reason, now)
            return _quarantine(row, exc.reason, now)
        if header_only.stored_header_only(row.size, len(row.raw)):  # released with --force
            mail = header_only.mark(mail)
        row.from_addr, row.subject, row.language = mail.from_addr[:320], mail.subject, mail.language.value
        decision = _decide(session, app, row, mail, now)
        if outside_hours is not None:
            verdict = decide_now(decision.action, _severity_of(app, mail, decision), outside_hours)
            if not verdict.now:
                return _leave_waiting(app, row, verdict.reason, now)
            log.info("inbound #%s decided outside business hours: %s", row.id, verdict.reason)
        ticket_reference = apply_decision(session, app, row, mail, decision, now)
        if any(hit.name == bounces.RULE_NAME for hit in decision.rule_hits):
            ticket_reference = bounces.record_bounce(session, app, row, mail, decision.rule_hits, now)
        row.state = InboundState.DONE
        row.outcome = OUTCOMES[decision.action]
        row.reason = decision.reason
        row.decision = _decision_record(decision)
        row.processed_at = now
        row.lease_until = None
        summary = decision.article_id or ticket_reference or decision.reason
        log.info("%s", decision_line(row.id, mail.from_addr, row.outcome, ticket_reference, decision))
        return row.outcome, summary


def _severity_of(app: App, mail: ParsedMail, decision: Decision) -> Severity | None:
    """The severity guess an escalation gets (the same one apply_decision records on the ticket)."""
    if decision.action is not Action.ESCALATE:
        return None
    return app.severity.guess(mail.subject, mail.body).severity


def _deferred(app: App) -> list[int]:
    """Waiting mail left for an opening still to come: not looked at again before it."""
    with app.sessions() as session:
        return list(
            session.scalars(
                select(InboundMail.id).where(
                    InboundMail.mailbox == app.mailbox,
                    InboundMail.state == InboundState.RECEIVED,
                    InboundMail.deferred_until > app.clock(),
                )
            )
        )


def _leave_waiting(app: App, row: InboundMail, reason: str, now: datetime) -> None:
    """Back to waiting as it was, in the caller's transaction; looking at it was no attempt."""
    row.state = InboundState.RECEIVED
    row.lease_until = None
    row.attempts -= 1
    row.deferred_until = app.calendar.next_opening(now)
    log.info("inbound #%s waits for the opening: %s", row.id, reason)


def _decide(session: Session, app: App, row: InboundMail, mail: ParsedMail, now: datetime) -> Decision:
    context = rule_context(session, app, mail, now)
    hits = apply_rules(mail, context)
    if bounce := bounces.find_bounce(session, app, row.raw, mail, hits):  # a bounce of our own mail
        hits = (bounces.bounce_hit(bounce), *hits)
    if any(hit.effect is RuleEffect.IGNORE for hit in hits):
        return decide(hits, None, None)
    settings = app.settings
    target = reply_target(mail, context)
    if target.note:
        log.info("inbound #%s: %s", row.id, target.note)
    trust = {"reply_target": target, "sender": context.sender_check}
    ticket = find_ticket(session, app.mailbox, settings.support.ticket_prefix, mail, app.message_id_key)
    intent = read_intent(mail, in_thread=ticket is not None)
    open_ticket = None
    if ticket is None and intent is Intent.STATUS:
        open_ticket = only_open_ticket(session, app.mailbox, claimed_sender(mail))
    if ticket or open_ticket:
        return decide(hits, None, ticket, cues=Cues(intent), open_ticket=open_ticket, **trust)
    prediction = app.classifier.predict(mail.subject, mail.body)
    escalating = {article.id for article in app.kb.articles if article.action == "escalate"}
    cues = Cues(intent, _questions(app, mail, prediction))
    return decide(hits, prediction, None, escalating, cues, **trust)


def read_intent(mail: ParsedMail, *, in_thread: bool) -> Intent | None:
    """A closing thank-you or a status question, read from the customer's own words. In a ticket's
    thread any short status question counts; without a reference only one that asks for news."""
    if in_thread and not mail.attachments and is_closing(mail.body):
        return Intent.CLOSING
    asks = is_status_request(mail.body) if in_thread else asks_for_news(mail.body)
    return Intent.STATUS if asks else None


def _questions(app: App, mail: ParsedMail, prediction: Prediction) -> tuple[Prediction, ...]:
    """One prediction per question, only when the mail would be answered and asks several things."""
    segments = question_segments(mail.body) if prediction.confident else ()
    if not segments:
        return ()
    return tuple(app.classifier.predict_texts([classification_text("", s) for s in segments]))


def rule_context(session: Session, app: App, mail: ParsedMail, now: datetime) -> RuleContext:
    """What the rules need to know beyond the mail: who we are and the team is, which senders are our
    contact forms, what the receiving server verified, what we sent, how often we wrote (per recipient
    and per sender)."""
    settings = app.settings
    context = RuleContext(
        own_addresses=frozenset({settings.support.address}),
        own_message_id_domains=frozenset({settings.message_id_domain}),
        own_message_ids=_own_ids(session, app, mail.message_id),
        max_replies_per_sender=settings.limits.replies_per_sender_per_day,
        team_addresses=frozenset({settings.team.address}),
        form_senders=frozenset(settings.support.form_senders),
        sender_check=check_sender(mail, settings.support.authserv_id),
    )
    since = now - timedelta(days=1)
    recipient = reply_target(mail, context).address
    form = context.is_form_sender(mail.from_addr)  # many people write through it: its Reply-To counts
    return replace(
        context,
        replies_to_sender_today=_mails_to(session, app.mailbox, recipient, since),
        replies_for_sender_today=0 if form else _mails_because_of(session, app, mail, since),
    )


def _own_ids(session: Session, app: App, message_id: str) -> frozenset[str]:
    """The mail's Message-ID when it is one of ours (signed by us, or in our outbox): our own mail
    come back, whatever its other headers say."""
    if verify_message_id(message_id, app.message_id_key):
        return frozenset({message_id})
    found = session.scalar(
        select(OutboxMail.message_id).where(
            OutboxMail.mailbox == app.mailbox, OutboxMail.message_id == message_id
        )
    )
    return frozenset({found}) if found else frozenset()


def _mails_to(session: Session, mailbox: str, address: str, since: datetime) -> int:
    """Automatic and agent mail to `address` since then (any spelling of its domain; the local part
    compared without case, so that a limit is never dodged by writing it differently)."""
    column = OutboxMail.recipient
    query = select(column).where(OutboxMail.mailbox == mailbox, OutboxMail.to_customer.is_(True))
    return _count_same(session, query.where(OutboxMail.created_at >= since), column, address)


def _mails_because_of(session: Session, app: App, mail: ParsedMail, since: datetime) -> int:
    """Automatic mail to anyone that mail from this From caused since then (any Reply-To included)."""
    column = InboundMail.from_addr
    query = (
        select(column)
        .join(OutboxMail, OutboxMail.inbound_id == InboundMail.id)
        .where(
            OutboxMail.mailbox == app.mailbox,
            OutboxMail.to_customer.is_(True),
            OutboxMail.created_at >= since,
        )
    )
    return _count_same(session, query, column, mail.from_addr)


def _count_same(session: Session, query: Select[tuple[str | None]], column: Any, address: str) -> int:
    """Rows of `query` whose `column` is `address` by `address_key`: narrowed in SQL by the local part,
    compared in Python (IDNA domains cannot be compared in SQL)."""
    local, at, _ = address.strip().rpartition("@")
    if not at or not local:
        return 0
    key = address_key(address)
    narrowed = query.where(func.lower(column).startswith(f"{local.lower()}@", autoescape=True))
    return sum(1 for found in session.scalars(narrowed) if found and address_key(found) == key)


def _decision_record(decision: Decision) -> dict[str, Any]:
    prediction = decision.prediction
    return {
        "action": decision.action.value,
        "reason": decision.reason,
        "article_id": decision.article_id,
        "reply_to_customer": decision.reply_to_customer,
        "intent": decision.intent.value if decision.intent else None,
        "details": dict(decision.details),
        "sender_not_verified": decision.sender_not_verified or None,
        "rule_hits": [
            {"name": h.name, "reason": h.reason, "effect": h.effect.value} for h in decision.rule_hits
        ],
        "prediction": None
        if prediction is None
        else {
            "article_id": prediction.article_id,
            "confidence": prediction.confidence,
            "threshold": prediction.threshold,
            "ranking": [list(pair) for pair in prediction.ranking],
            "model_version": prediction.model_version,
        },
    }


def _quarantine(row: InboundMail, reason: str, now: datetime) -> tuple[str, str]:
    row.state = InboundState.QUARANTINED
    row.outcome = Outcome.QUARANTINED
    row.reason = reason
    row.processed_at = now
    row.lease_until = None
    log.warning("inbound #%s quarantined: %s", row.id, reason)
    return Outcome.QUARANTINED.value, reason


def _record_failure(app: App, row_id: int, exc: Exception) -> None:
    with app.sessions.begin() as session:
        row = session.get_one(InboundMail, row_id)
        row.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if row.attempts >= app.settings.limits.max_attempts:
            _quarantine(row, f"failed {row.attempts} times; last error: {row.last_error}", app.clock())
        else:
            row.state = InboundState.RECEIVED
            row.lease_until = None
