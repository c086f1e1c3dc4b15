"""Which Jira comments reach the customer, and in what shape (mailbot.escalate.relay): pure tables."""

from __future__ import annotations

import pytest

from mailbot.escalate.jira import Comment
from mailbot.escalate.relay import (
    COMMENT_CHARS,
    MAIL_CHARS,
    MAX_COMMENTS,
    SEPARATOR,
    Requester,
    batch,
    cause,
    from_agent,
    mail_text,
)

BOT, ALICE, BOB, AGENT = "acc-bot", "acc-alice", "acc-bob", "acc-agent"
REQUESTER = Requester("alice@kunde.example", frozenset({ALICE, BOB}), BOT)  # Bob is a participant


def comment(
    n: int, body: str = "text", account: str | None = AGENT, email: str | None = "agent@x.test"
) -> Comment:
    return Comment(n, body, "someone", None, True, author_email=email, author_account=account)


@pytest.mark.parametrize(
    ("account", "email", "relayed", "why"),
    [
        (AGENT, "agent@x.test", True, "an agent"),
        (AGENT, None, True, "an agent whose profile hides the e-mail"),
        (None, None, True, "no author details at all: Jira shows agents' comments like that"),
        (BOT, "bot@x.test", False, "the [jira] user: the customer's follow-ups mailbot added"),
        (ALICE, None, False, "the reporter, e-mail hidden: known by the accountId (issue 11)"),
        (ALICE, "alice@kunde.example", False, "the reporter"),
        (BOB, None, False, "a participant: another customer's words go to nobody"),
        ("acc-other", "alice@kunde.example", False, "the customer's address on another account"),
        ("acc-other", "Alice@KUNDE.example", False, "the customer's address in other case"),
        (None, "alice@kunde.example", False, "the customer's address without an account id"),
    ],
)
def test_only_agents_comments_are_relayed(
    account: str | None, email: str | None, relayed: bool, why: str
) -> None:
    assert from_agent(comment(1, account=account, email=email), REQUESTER) is relayed, why


def test_a_batch_holds_the_new_agent_comments_in_order_and_reads_past_the_others() -> None:
    found = batch(
        [comment(12), comment(10), comment(11, account=ALICE, email=None), comment(13, "  ")], REQUESTER
    )
    assert [c.id for c in found.comments] == [10, 12]  # oldest first; the customer's and empty ones left out
    assert found.complete and found.read_up_to == 13


def test_nothing_new_changes_nothing() -> None:
    assert batch([], REQUESTER) == type(batch([], REQUESTER))((), True, None)


def test_three_hundred_comments_become_one_mail_of_at_most_max_comments_and_the_rest_waits() -> None:
    comments = [comment(n, f"Kommentar {n}") for n in range(1, 301)]
    first = batch(comments, REQUESTER)
    assert [c.id for c in first.comments] == list(range(1, MAX_COMMENTS + 1))
    assert not first.complete and first.read_up_to == MAX_COMMENTS
    second = batch([c for c in comments if c.id > (first.read_up_to or 0)], REQUESTER)
    assert second.comments[0].id == MAX_COMMENTS + 1  # nothing skipped, nothing twice


def test_long_comments_fill_a_mail_up_to_its_size_and_each_is_cut() -> None:
    huge = "x" * (COMMENT_CHARS * 4)
    found = batch([comment(n, huge) for n in range(1, 20)], REQUESTER)
    assert len(found.comments) == MAIL_CHARS // COMMENT_CHARS and not found.complete
    text = mail_text(found.comments, "de")
    assert len(text) < MAIL_CHARS + 200 and text.count("[…] (gekürzt)") == len(found.comments)
    assert batch([comment(1, "y" * (MAIL_CHARS * 3))], REQUESTER).complete  # one always goes, cut


def test_mail_text_keeps_the_words_apart_and_cuts_in_the_customers_language() -> None:
    assert (
        mail_text([comment(1, " Erstens. "), comment(2, "Zweitens.")], "de")
        == f"Erstens.{SEPARATOR}Zweitens."
    )
    assert mail_text([comment(1, "z" * (COMMENT_CHARS + 1))], "en").endswith(" […] (shortened)")
    assert mail_text([comment(1, "{{ 7*7 }}")], "de") == "{{ 7*7 }}"  # data, never a template


def test_cause_names_the_comments_of_one_mail() -> None:
    assert cause("HELP-1", [comment(10007)]) == "jira:HELP-1:10007"  # as before batching
    assert cause("HELP-1", [comment(10007), comment(10009)]) == "jira:HELP-1:10007-10009"
