"""decide(): every branch, with hand-made inputs."""

import pytest

from mailbot.decide import decide, other_topic
from mailbot.domain import (
    Action,
    Cues,
    Intent,
    Prediction,
    ReplyTarget,
    RuleEffect,
    RuleHit,
    SenderCheck,
    TicketContext,
    TicketState,
    Verification,
)

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


# --- issue 10: closing thanks, status questions without a reference, mails with several questions ---

ANSWERED = TICKET
ESCALATED = TicketContext(8, "MB-000008", "kunde@example.org", TicketState.ESCALATED, "subject")
SOLVED = TicketContext(9, "MB-000009", "kunde@example.org", TicketState.SOLVED, "references")
OWN_OPEN = TicketContext(8, "MB-000008", "kunde@example.org", TicketState.ESCALATED, "sender")


@pytest.mark.parametrize("ticket", [ANSWERED, SOLVED])
def test_closing_thanks_on_a_ticket_not_with_the_team_ends_quietly(ticket):
    decision = decide((), None, ticket, cues=Cues(Intent.CLOSING))
    assert decision.action is Action.FOLLOW_UP and decision.ticket_id == ticket.ticket_id
    assert decision.intent is Intent.CLOSING
    assert decision.reply_to_customer is False
    assert "nothing sent" in decision.reason


def test_closing_thanks_on_a_ticket_with_the_team_is_an_ordinary_follow_up():
    decision = decide((), None, ESCALATED, cues=Cues(Intent.CLOSING))
    assert decision.action is Action.FOLLOW_UP and decision.intent is None
    assert decision.reply_to_customer is True
    assert "the team is told" in decision.reason


def test_status_question_joins_the_referenced_ticket_first():
    decision = decide((), None, ESCALATED, cues=Cues(Intent.STATUS), open_ticket=OWN_OPEN)
    assert (decision.action, decision.ticket_id, decision.intent) == (Action.FOLLOW_UP, 8, Intent.STATUS)


def test_status_question_without_reference_joins_the_senders_only_open_ticket():
    decision = decide((), None, None, cues=Cues(Intent.STATUS), open_ticket=OWN_OPEN)
    assert (decision.action, decision.ticket_id, decision.intent) == (Action.FOLLOW_UP, 8, Intent.STATUS)
    assert "MB-000008 is the sender's only open ticket" in decision.reason
    silenced = decide((LIMIT,), None, None, cues=Cues(Intent.STATUS), open_ticket=OWN_OPEN)
    assert silenced.action is Action.FOLLOW_UP and silenced.reply_to_customer is False


def test_without_a_status_question_the_open_ticket_is_not_joined():
    decision = decide((), prediction("password-reset", 0.9), None, open_ticket=OWN_OPEN)
    assert decision.action is Action.ANSWER and decision.ticket_id is None


def test_a_second_question_about_another_article_escalates_instead_of_a_half_answer():
    whole = prediction("password-reset", 0.98)
    questions = (prediction("password-reset", 0.99), prediction("subscription-cancel", 0.75))
    decision = decide((), whole, None, cues=Cues(questions=questions))
    assert decision.action is Action.ESCALATE and decision.article_id is None
    assert "question 2 looks like subscription-cancel (0.75)" in decision.reason


@pytest.mark.parametrize(
    "questions",
    [
        (),  # one question: nothing to compare
        (prediction("password-reset", 0.99), prediction("password-reset", 0.6)),  # both about one article
        (prediction("password-reset", 0.99), prediction("supported-devices", 0.32)),  # "Geht das in der App?"
        (
            prediction("password-reset", 0.99),
            Prediction("refund", 0.0, 0.5, (("refund", 0.9),), "m1", out_of_scope=True),
        ),
    ],
)
def test_follow_up_questions_without_a_topic_of_their_own_keep_the_answer(questions):
    decision = decide((), prediction("password-reset", 0.98), None, cues=Cues(questions=questions))
    assert decision.action is Action.ANSWER and decision.article_id == "password-reset"


def test_other_topic_level_is_inclusive():
    whole = prediction("a", 0.9)
    assert other_topic(whole, (prediction("b", 0.7),), level=0.7) is not None
    assert other_topic(whole, (prediction("b", 0.69),), level=0.7) is None


# --- issue 11: who mailbot trusts ------------------------------------------------------------------

FORGED = SenderCheck(Verification.FAIL, "dmarc=fail for example.org")
VERIFIED = SenderCheck(Verification.PASS, "dmarc=pass for example.org")
TARGET = ReplyTarget("kunde@example.org", "Kunde", "kunde@example.org", "Kunde", "Reply-To x not honoured")


@pytest.mark.parametrize(
    ("ticket", "cues", "open_ticket"),
    [
        (SOLVED, Cues(), None),  # would reopen
        (ANSWERED, Cues(), None),  # would escalate and acknowledge
        (ESCALATED, Cues(Intent.STATUS), None),  # would tell the state
        (ANSWERED, Cues(Intent.CLOSING), None),
        (None, Cues(Intent.STATUS), OWN_OPEN),  # would tell the state of the sender's only open ticket
    ],
)
def test_a_follow_up_from_an_unverified_sender_is_only_recorded(ticket, cues, open_ticket):
    decision = decide((), None, ticket, cues=cues, open_ticket=open_ticket, sender=FORGED)
    joined = ticket or open_ticket
    assert (decision.action, decision.ticket_id) == (Action.FOLLOW_UP, joined.ticket_id)
    assert decision.reply_to_customer is False and decision.intent is None
    assert decision.sender_not_verified == "dmarc=fail for example.org"
    assert "not verified: dmarc=fail" in decision.reason and "nothing sent" in decision.reason


@pytest.mark.parametrize("sender", [VERIFIED, SenderCheck(Verification.UNCHECKED, "no authserv_id"), None])
def test_a_verified_or_unchecked_follow_up_is_handled_as_before(sender):
    decision = decide((), None, SOLVED, sender=sender)
    assert decision.action is Action.FOLLOW_UP and decision.reply_to_customer is True
    assert decision.sender_not_verified == ""


def test_an_unverified_sender_of_a_new_mail_is_decided_as_before():
    decision = decide((), prediction("password-reset", 0.9), None, sender=FORGED, reply_target=TARGET)
    assert decision.action is Action.ANSWER and decision.sender_not_verified == ""


def test_a_new_conversation_carries_its_reply_target_and_why_a_reply_to_was_not_honoured():
    answer = decide((), prediction("password-reset", 0.9), None, reply_target=TARGET)
    assert answer.reply_target == TARGET and answer.details == {"reply_to": "Reply-To x not honoured"}
    escalation = decide((LIMIT,), prediction("x", 0.2), None, reply_target=TARGET)
    assert escalation.action is Action.ESCALATE and escalation.reply_target == TARGET
    follow_up = decide((), None, TICKET, reply_target=TARGET)
    assert follow_up.reply_target is None  # mail about a ticket goes to the address stored on it
    assert decide((AUTO,), None, None, reply_target=TARGET).reply_target is None
