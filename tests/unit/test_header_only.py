"""A header-only mail (too large, released with --force) is decided without any automatic mail (issue 11)."""

from __future__ import annotations

import pytest

from mailbot.decide import decide
from mailbot.domain import Action, Prediction, RuleEffect
from mailbot.rules import apply_rules, header_only
from tests.unit.test_rules import CTX, make_mail

CONFIDENT = Prediction(
    article_id="password-reset",
    confidence=0.95,
    threshold=0.6,
    ranking=(("password-reset", 0.95),),
    model_version="test",
)


@pytest.mark.parametrize(
    ("size", "stored", "expected"),
    [(30_000, 1_200, True), (1_200, 1_200, False), (0, 0, False)],
)
def test_a_row_is_header_only_when_its_size_exceeds_its_stored_bytes(size, stored, expected):
    assert header_only.stored_header_only(size, stored) is expected


def test_the_marked_mail_hits_the_no_reply_rule_once():
    mail = header_only.mark(header_only.mark(make_mail()))
    hits = [hit for hit in apply_rules(mail, CTX) if hit.name == "header_only"]
    assert len(hits) == 1 and hits[0].effect is RuleEffect.NO_REPLY
    assert [hit for hit in apply_rules(make_mail(), CTX) if hit.name == "header_only"] == []


def test_a_confident_answer_on_a_header_becomes_a_ticket_without_a_reply():
    hits = apply_rules(header_only.mark(make_mail()), CTX)
    decision = decide(hits, CONFIDENT, None)
    assert decision.action is Action.ESCALATE and decision.reply_to_customer is False
    assert "header only" in decision.reason
