"""The one log line per decided mail names the mail, the sender, the outcome, the ticket and why."""

from mailbot.domain import Action, Decision, Prediction
from mailbot.pipeline.logline import decision_line


def test_an_answer_names_ticket_article_and_how_sure():
    prediction = Prediction("parking-end", 0.913, 0.62)
    decision = Decision(Action.ANSWER, "answered with parking-end at 0.91 (threshold 0.62)", "parking-end",
                        prediction=prediction)  # fmt: skip
    line = decision_line(12, "k@example.org", "answered", "MB-000012", decision)
    assert line == "inbound #12 from k@example.org answered MB-000012 with article parking-end (0.91 >= 0.62)"


def test_an_escalation_and_a_follow_up_carry_the_reference_and_the_reason():
    escalated = Decision(Action.ESCALATE, "not confident: best article x at 0.40 < threshold 0.62")
    assert decision_line(3, "a@b.de", "escalated", "MB-000003", escalated) == (
        "inbound #3 from a@b.de escalated MB-000003: not confident: best article x at 0.40 < threshold 0.62"
    )
    follow_up = Decision(Action.FOLLOW_UP, "reply to MB-000001 from its customer (matched by In-Reply-To)")
    assert decision_line(4, "a@b.de", "follow_up", "MB-000001", follow_up).startswith(
        "inbound #4 from a@b.de follow-up MB-000001: reply to MB-000001"
    )


def test_an_ignored_mail_has_no_reference():
    ignored = Decision(Action.IGNORE, "Auto-Submitted: auto-replied (RFC 3834)")
    assert decision_line(5, "", "ignored", None, ignored) == (
        "inbound #5 from (no sender) ignored: Auto-Submitted: auto-replied (RFC 3834)"
    )
