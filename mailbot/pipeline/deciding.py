"""What a stored mail's decision rests on, gathered for mailbot.decide: the rules, a bounce of our own
mail, a team member's reply, the ticket the mail belongs to, the customer's intent and the
classification prepared for its batch. Reads the database, writes nothing (the process stage writes
the decision and its effects: mailbot.pipeline.process, mailbot.pipeline.effects).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import InboundMail
from mailbot.decide import decide
from mailbot.domain import Action, Cues, Decision, Intent, ParsedMail, RuleEffect
from mailbot.pipeline import bounces
from mailbot.pipeline.prepare import Prepared
from mailbot.pipeline.rule_context import rule_context
from mailbot.rules import apply_rules
from mailbot.rules.reply_target import reply_target
from mailbot.tickets.agent_mail import Refused, agent_decision, recognise
from mailbot.tickets.closing import is_closing
from mailbot.tickets.lookup import claimed_sender, find_ticket, only_open_ticket
from mailbot.tickets.status_query import asks_for_news, is_status_request

log = logging.getLogger(__name__)


def decide_mail(
    session: Session,
    app: App,
    row: InboundMail,
    prepared: Prepared,
    now: datetime,
    in_outbox: frozenset[str] | None = None,
) -> Decision:
    """The decision for one claimed mail, from the rules, a bounce of our own mail, a team member's
    reply, the ticket it belongs to, the customer's intent and the classification (mailbot.decide)."""
    mail = prepared.mail
    assert mail is not None  # unparsable mail is quarantined before
    context = rule_context(session, app, mail, now, in_outbox)
    hits = apply_rules(mail, context)
    if bounce := bounces.find_bounce(session, app, row.raw, mail, hits):  # a bounce of our own mail
        hits = (bounces.bounce_hit(bounce), *hits)
    if any(hit.effect is RuleEffect.IGNORE for hit in hits):
        return decide(hits, None, None)
    agent = recognise(session, app, mail, context.sender_check)
    if isinstance(agent, Refused):
        return Decision(Action.REFUSE, agent.reason, ticket_id=agent.ticket_id, rule_hits=hits)
    if agent is not None:
        return agent_decision(agent, hits)
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
    prediction = prepared.prediction
    assert prediction is not None  # prepare_batch classifies every mail it could parse
    escalating = {article.id for article in app.kb.articles if article.action == "escalate"}
    cues = Cues(intent, prepared.questions)
    return decide(hits, prediction, None, escalating, cues, **trust)


def read_intent(mail: ParsedMail, *, in_thread: bool) -> Intent | None:
    """A closing thank-you or a status question, read from the customer's own words. In a ticket's
    thread any short status question counts; without a reference only one that asks for news."""
    if in_thread and not mail.attachments and is_closing(mail.body):
        return Intent.CLOSING
    asks = is_status_request(mail.body) if in_thread else asks_for_news(mail.body)
    return Intent.STATUS if asks else None


def decision_record(decision: Decision) -> dict[str, Any]:
    """The decision as stored on the inbound row (its scores, rules and model version)."""
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
