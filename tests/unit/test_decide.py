"""decide(): every branch, with hand-made inputs."""

import pytest

from mailbot.decide import decide
from mailbot.domain import Action, Prediction, RuleEffect, RuleHit, TicketContext, TicketState

AUTO = RuleHit("auto_submitted", "Auto-Submitted: auto-replied", RuleEffect.IGNORE)
LIMIT = RuleHit("sender_limit", "3 automatic mails to this sender", RuleEffect.NO_REPLY)
TICKET = TicketContext(7, "MB-000007", "kunde@example.org", TicketState.ANSWERED, "in-reply-to")


def prediction(article: str | None, confidence: float) -> Prediction:
    return Prediction(article, confidence, 0.5, ((article, confidence),) if article else (), "m1")


@pytest.mark.parametrize(
    ("hits", "pred", "ticket", "action", "article", "reply"),
    [
        ((AUTO,), prediction("password-reset", 0.9), TICKET, Action.IGNORE, None, True),
        ((), prediction("password-reset", 0.9), None, Action.ANSWER, "password-reset", True),
        ((), prediction("password-reset", 0.3), None, Action.ESCALATE, None, True),
        ((), prediction(None, 0.0), None, Action.ESCALATE, None, True),
        ((), None, TICKET, Action.FOLLOW_UP, None, True),
        ((LIMIT,), None, TICKET, Action.FOLLOW_UP, None, False),
        ((), prediction("app-crash", 0.9), None, Action.ESCALATE, "app-crash", True),
        ((LIMIT,), prediction("password-reset", 0.9), None, Action.ESCALATE, None, False),
    ],
)
def test_branches(hits, pred, ticket, action, article, reply):
    decision = decide(hits, pred, ticket, escalating_articles={"app-crash"})
    assert decision.action is action
    assert decision.article_id == article
    assert decision.reply_to_customer is reply
    assert decision.reason


def test_out_of_scope_class_escalates_whatever_the_confidence():
    pred = Prediction("password-reset", 0.99, 0.5, (("password-reset", 0.99),), "m1", out_of_scope=True)
    decision = decide((), pred, None)
    assert decision.action is Action.ESCALATE
    assert "out-of-scope" in decision.reason


def test_reasons_explain():
    assert "0.30 < threshold 0.50" in decide((), prediction("x", 0.3), None).reason
    assert decide((AUTO,), None, None).reason == AUTO.reason
    assert "MB-000007" in decide((), None, TICKET).reason
    assert decide((), None, TICKET).ticket_id == 7
