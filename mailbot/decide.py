"""The decision for one mail: pure, so that every branch is tested without servers or a database.

Order matters: a rule that says "not a person" wins over everything (an auto-reply never changes a
ticket); a reply from the ticket's own customer joins that ticket; otherwise the classifier answers
when it is confident and the article may be answered automatically, and the 2nd level gets the rest.
"""

from __future__ import annotations

from collections.abc import Collection

from mailbot.domain import Action, Decision, Prediction, RuleEffect, RuleHit, TicketContext


def decide(
    hits: tuple[RuleHit, ...],
    prediction: Prediction | None,
    ticket: TicketContext | None,
    escalating_articles: Collection[str] = (),
) -> Decision:
    ignore = [hit for hit in hits if hit.effect is RuleEffect.IGNORE]
    if ignore:
        return Decision(Action.IGNORE, ignore[0].reason, rule_hits=hits, prediction=prediction)
    silenced = [hit for hit in hits if hit.effect is RuleEffect.NO_REPLY]
    may_reply = not silenced
    if ticket is not None:
        return Decision(
            Action.FOLLOW_UP,
            f"reply to {ticket.reference} from its customer (matched by {ticket.matched_by})",
            ticket_id=ticket.ticket_id,
            reply_to_customer=may_reply,
            rule_hits=hits,
            prediction=prediction,
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
        )
    article = prediction.article_id
    if prediction.out_of_scope:
        reason = f"resembles the out-of-scope examples more than any article (closest: {article})"
        return Decision(Action.ESCALATE, reason, None, None, may_reply, hits, prediction)
    if not prediction.confident:
        reason = (
            f"not confident: best article {article} at {prediction.confidence:.2f} "
            f"< threshold {prediction.threshold:.2f}"
        )
        return Decision(Action.ESCALATE, reason, None, None, may_reply, hits, prediction)
    if article in escalating_articles:
        reason = f"article {article} says this topic goes to the 2nd level"
        return Decision(Action.ESCALATE, reason, article, None, may_reply, hits, prediction)
    if not may_reply:
        reason = (
            f"would answer with {article}, but no automatic mail may go to the sender: {silenced[0].reason}"
        )
        return Decision(Action.ESCALATE, reason, None, None, False, hits, prediction)
    reason = f"answered with {article} at {prediction.confidence:.2f} (threshold {prediction.threshold:.2f})"
    return Decision(Action.ANSWER, reason, article, None, True, hits, prediction)
