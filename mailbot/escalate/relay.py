"""Which public comments of a Jira request reach its customer, and how: pure, no I/O.

Only an agent's words are relayed, and only to the customer of that request's ticket (`follow`
never sends them anywhere else). Not relayed (issue 11, where Bob's own comment with his IBAN
was mailed to Alice):

- comments by the [jira] user: the customer's follow-up mails that mailbot added;
- comments by the request's customers, known by their accountId (reporter and participants), so
  also when a profile hides the e-mail address; and any comment whose author shows the ticket's
  customer address.

New comments go out together, oldest first, as one mail per request and poll: each cut to
COMMENT_CHARS, at most MAX_COMMENTS and MAIL_CHARS in one mail; the rest comes with the next poll
(300 comments are then a few mails, not 300, and nothing an agent wrote is dropped).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.addresses import canonical
from mailbot.escalate.jira import Comment

MAX_COMMENTS = 50  # comments in one mail
COMMENT_CHARS = 8_000  # of one comment in a mail (Jira allows 32,767)
MAIL_CHARS = 40_000  # of all comments in one mail
SEPARATOR = "\n\n---\n\n"
CUT = {"de": "[…] (gekürzt)", "en": "[…] (shortened)"}


@dataclass(frozen=True)
class Requester:
    """Who the customer of a request is, as far as Jira and mailbot know."""

    email: str  # the ticket's customer
    accounts: frozenset[str]  # accountIds of the request's reporter and participants
    own_account: str | None  # the [jira] user


@dataclass(frozen=True)
class Batch:
    comments: tuple[Comment, ...]  # agents' comments for one mail, oldest first
    complete: bool  # every new agent comment is in it
    read_up_to: int | None  # the ticket's external_comment_id after this poll (None: unchanged)


def from_agent(comment: Comment, requester: Requester) -> bool:
    """Written by someone of the 2nd level: neither the [jira] user nor a customer of the request."""
    account = comment.author_account
    if account is not None and (account == requester.own_account or account in requester.accounts):
        return False
    email = comment.author_email
    return email is None or canonical(email).lower() != canonical(requester.email).lower()


def batch(comments: Sequence[Comment], requester: Requester) -> Batch:
    """The agents' comments that go out in this poll's mail (`comments` are the new ones, oldest first)."""
    ordered = sorted(comments, key=lambda c: c.id)
    relayable = [c for c in ordered if from_agent(c, requester) and c.body.strip()]
    taken: list[Comment] = []
    size = 0
    for comment in relayable:
        length = min(len(comment.body.strip()), COMMENT_CHARS)
        if taken and (len(taken) >= MAX_COMMENTS or size + length > MAIL_CHARS):
            break
        taken.append(comment)
        size += length
    if len(taken) < len(relayable):  # the comments after the last one taken are read at the next poll
        return Batch(tuple(taken), False, taken[-1].id)
    return Batch(tuple(taken), True, ordered[-1].id if ordered else None)


def mail_text(comments: Sequence[Comment], language: str) -> str:
    """The comments as one message, oldest first, each bounded; plain text, never a template."""
    marker = CUT.get(language, CUT["en"])
    parts = []
    for comment in comments:
        body = comment.body.strip()
        if len(body) > COMMENT_CHARS:
            body = f"{body[:COMMENT_CHARS].rstrip()} {marker}"
        parts.append(body)
    return SEPARATOR.join(parts)


def cause(key: str, comments: Sequence[Comment]) -> str:
    """Names the comments of one mail (the outbox dedup key): a re-poll of the same ones sends nothing.

    One comment keeps the form of the keys written before batching (`jira:HELP-1:10007`).
    """
    if len(comments) == 1:
        return f"jira:{key}:{comments[0].id}"
    return f"jira:{key}:{comments[0].id}-{comments[-1].id}"
