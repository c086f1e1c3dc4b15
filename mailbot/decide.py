"""The decision for one mail: pure, so that every branch is tested without servers or a database.

Order matters: a rule that says "not a person" wins over everything (an auto-reply never changes a
ticket); a reply from the ticket's own customer joins that ticket, and a closing thank-you on a ticket
that is not with the 2nd level ends there, quietly; a status question without a reference joins the
sender's only open ticket; otherwise the classifier answers when it is confident, the article may be
answered automatically and no other question of the mail is about another article, and the 2nd level
gets the rest.

A mail about an existing ticket whose sender the receiving server could not verify (`sender`, see
mailbot.rules.sender_auth) is recorded on the ticket and shown to the team as such, and nothing else:
a forged From must not reopen a ticket, learn its state or speak as the customer. A new conversation
carries `reply_target` (mailbot.rules.reply_target): where its automatic mail goes and whose ticket it is.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import replace

from mailbot.domain import (
    Action,
    Cues,
    Decision,
    Intent,
    Prediction,
    ReplyTarget,
    RuleEffect,
    RuleHit,
    SenderCheck,
    TicketContext,
    TicketState,
)

# A question of a mail is about another article when that article is its best at this calibrated
# confidence or more. Measured with bench/multi_question.py on CLINC150 (one run, 2026-11-29): of
# mails made of two questions of different intents, 931 of 1500 would have been answered with one
# article; at 0.7 the check escalates 83 % of those, and needlessly 3 % of the answered mails with two
# questions of one intent and none with a follow-up without a topic of its own ("Does this cost
# anything?"); at 0.5 it would be 91 %, 4 % and 15 %.
OTHER_TOPIC = 0.7


def decide(
    hits: tuple[RuleHit, ...],
    prediction: Prediction | None,
    ticket: TicketContext | None,
    escalating_articles: Collection[str] = (),
    cues: Cues | None = None,
    open_ticket: TicketContext | None = None,
    reply_target: ReplyTarget | None = None,
    sender: SenderCheck | None = None,
) -> Decision:
    """`ticket`: the ticket the mail refers to; `open_ticket`: the sender's only open ticket, looked up
    only for a mail without a reference that asks for news (`cues.intent` STATUS)."""
    cues = cues or Cues()
    ignore = [hit for hit in hits if hit.effect is RuleEffect.IGNORE]
    if ignore:
        return Decision(Action.IGNORE, ignore[0].reason, rule_hits=hits, prediction=prediction)
    joined = ticket or (open_ticket if cues.intent is Intent.STATUS else None)
    if joined is not None and sender is not None and sender.failed:
        return _unverified(joined, sender, hits, prediction)
    decision = _decide(hits, prediction, ticket, escalating_articles, cues, open_ticket)
    if decision.action is Action.FOLLOW_UP or reply_target is None:
        return decision
    details = decision.details | ({"reply_to": reply_target.note} if reply_target.note else {})
    return replace(decision, reply_target=reply_target, details=details)


def _decide(
    hits: tuple[RuleHit, ...],
    prediction: Prediction | None,
    ticket: TicketContext | None,
    escalating_articles: Collection[str],
    cues: Cues,
    open_ticket: TicketContext | None,
) -> Decision:
    silenced = [hit for hit in hits if hit.effect is RuleEffect.NO_REPLY]
    may_reply = not silenced
    if ticket is not None:
        return _follow_up(ticket, cues.intent, may_reply, hits, prediction)
    if open_ticket is not None and cues.intent is Intent.STATUS:
        reason = (
            f"asks for news without a reference; {open_ticket.reference} is the sender's only open ticket"
        )
        return Decision(
            Action.FOLLOW_UP,
            reason,
            ticket_id=open_ticket.ticket_id,
            reply_to_customer=may_reply,
            rule_hits=hits,
            prediction=prediction,
            intent=Intent.STATUS,
        )
    if prediction is None or prediction.article_id is None:
        return Decision(
            Action.ESCALATE,
            "no knowledge-base article to compare with",
            None,
            None,
            may_reply,
            hits,
            prediction,
            why="no_article",
        )
    article = prediction.article_id
    if prediction.out_of_scope:
        reason = f"resembles the out-of-scope examples more than any article (closest: {article})"
        return Decision(
            Action.ESCALATE, reason, None, None, may_reply, hits, prediction,
            why="out_of_scope", why_values={"article": article},
        )  # fmt: skip
    if not prediction.confident:
        reason = (
            f"not confident: best article {article} at {prediction.confidence:.2f} "
            f"< threshold {prediction.threshold:.2f}"
        )
        values = {"article": article, "confidence": prediction.confidence, "threshold": prediction.threshold}
        return Decision(
            Action.ESCALATE, reason, None, None, may_reply, hits, prediction,
            why="not_confident", why_values={k: str(v) for k, v in values.items()},
        )  # fmt: skip
    if article in escalating_articles:
        reason = f"article {article} says this topic goes to the 2nd level"
        return Decision(
            Action.ESCALATE, reason, article, None, may_reply, hits, prediction,
            why="escalating_article", why_values={"article": article},
        )  # fmt: skip
    other = other_topic(prediction, cues.questions)
    if other is not None:
        return Decision(Action.ESCALATE, other, None, None, may_reply, hits, prediction, why="other_question")
    if not may_reply:
        reason = (
            f"would answer with {article}, but no automatic mail may go to the sender: {silenced[0].reason}"
        )
        return Decision(Action.ESCALATE, reason, None, None, False, hits, prediction)
    reason = f"answered with {article} at {prediction.confidence:.2f} (threshold {prediction.threshold:.2f})"
    return Decision(Action.ANSWER, reason, article, None, True, hits, prediction)


def _unverified(
    ticket: TicketContext, sender: SenderCheck, hits: tuple[RuleHit, ...], prediction: Prediction | None
) -> Decision:
    reason = (
        f"claims to come from the customer of {ticket.reference} (matched by {ticket.matched_by}), but the "
        f"sender is not verified: {sender.reason}; recorded on the ticket for the team, nothing sent, "
        "the ticket unchanged"
    )
    return Decision(
        Action.FOLLOW_UP,
        reason,
        ticket_id=ticket.ticket_id,
        reply_to_customer=False,
        rule_hits=hits,
        prediction=prediction,
        sender_not_verified=sender.reason,
    )


def _follow_up(
    ticket: TicketContext,
    intent: Intent | None,
    may_reply: bool,
    hits: tuple[RuleHit, ...],
    prediction: Prediction | None,
) -> Decision:
    """A reply to a ticket. A closing thank-you on an answered or solved ticket changes nothing and
    tells no one; on a ticket with the 2nd level, someone is working on it and is told as usual."""
    reason = f"reply to {ticket.reference} from its customer (matched by {ticket.matched_by})"
    if intent is Intent.CLOSING and ticket.state is not TicketState.ESCALATED:
        reason += f"; only thanks or 'solved': recorded, nothing sent, the ticket stays {ticket.state}"
        return Decision(
            Action.FOLLOW_UP,
            reason,
            ticket_id=ticket.ticket_id,
            reply_to_customer=False,
            rule_hits=hits,
            prediction=prediction,
            intent=intent,
        )
    if intent is Intent.CLOSING:  # with the 2nd level: someone works on it and must hear it is settled
        reason += "; thanks or 'solved' on a ticket with the 2nd level: the team is told"
        intent = None
    elif intent is Intent.STATUS:
        reason += "; asks where it stands"
    return Decision(
        Action.FOLLOW_UP,
        reason,
        ticket_id=ticket.ticket_id,
        reply_to_customer=may_reply,
        rule_hits=hits,
        prediction=prediction,
        intent=intent,
    )


def other_topic(
    prediction: Prediction, questions: Sequence[Prediction], level: float = OTHER_TOPIC
) -> str | None:
    """Why answering the whole mail with `prediction`'s article would leave one of its questions
    unanswered, or None: some question's best article is another one, at `level` or more."""
    article = prediction.article_id
    for number, question in enumerate(questions, 1):
        if question.out_of_scope or question.article_id in (None, article):
            continue
        if question.confidence >= level:
            return (
                f"asks {len(questions)} questions: question {number} looks like {question.article_id} "
                f"({question.confidence:.2f}), which an answer with {article} "
                f"({prediction.confidence:.2f}) would leave open"
            )
    return None
