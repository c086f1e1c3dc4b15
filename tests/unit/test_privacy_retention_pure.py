"""The pure parts of retention and anonymisation (issue 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mailbot.config import PrivacySettings
from mailbot.db.schema import OutboxMail, OutboxState
from mailbot.privacy import anonymise
from mailbot.privacy.retention import Stand, cutoffs

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def test_cutoffs_count_back_from_now_per_kind() -> None:
    due = cutoffs(PrivacySettings(retention_days=90, unhandled_retention_days=7, attachment_days=0), NOW)
    assert due.tickets == NOW - timedelta(days=90)
    assert due.unhandled == NOW - timedelta(days=7)
    assert due.attachments == NOW  # 0: attachments go as soon as the ticket is solved


def test_the_same_person_gets_the_same_stand_in_and_a_stand_in_stays_itself() -> None:
    stand = Stand("aktivo", b"k" * 32)
    first = stand.pseudonym("Erika.Muster@Example.org")
    assert first == stand.pseudonym("erika.muster@example.org")  # the domain's case does not matter
    assert first is not None and first.endswith("@erased.invalid") and "erika" not in first
    assert stand.pseudonym(first) == first  # a second run does not hash the stand-in again
    assert stand.pseudonym(None) is None
    assert Stand("aktivo", b"x" * 32).pseudonym("erika.muster@example.org") != first  # keyed


def test_a_decision_record_keeps_what_figures_read_and_loses_the_sentences() -> None:
    decision = {
        "action": "answer",
        "article_id": "password-reset",
        "confidence": 0.91,
        "reason": "Erika asked about her password",
        "details": "quoted text",
        "rule_hits": [{"name": "vip", "effect": "escalate", "reason": "from erika@example.org"}],
    }
    kept = anonymise.without_text(decision)
    assert kept == {
        "action": "answer",
        "article_id": "password-reset",
        "confidence": 0.91,
        "rule_hits": [{"name": "vip", "effect": "escalate", "reason": ""}],
    }


def test_an_erased_mail_not_sent_yet_is_cancelled_and_a_sent_one_keeps_its_state() -> None:
    waiting = OutboxMail(state=OutboxState.PENDING, to_customer=True, recipient="erika@example.org", raw=b"x")
    sent = OutboxMail(state=OutboxState.SENT, to_customer=True, recipient="erika@example.org", raw=b"x")
    for row in (waiting, sent):
        anonymise.outbox(row, "erased-1@erased.invalid", NOW)
        assert row.raw == b"" and row.recipient == "erased-1@erased.invalid" and row.erased_at == NOW
    assert waiting.state == OutboxState.FAILED and "erased" in (waiting.last_error or "")
    assert sent.state == OutboxState.SENT
