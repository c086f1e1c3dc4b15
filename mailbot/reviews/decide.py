"""The decision for one store review: pure, an ordered table read top to bottom, the first row wins.

Each row is a named predicate that returns *why* it fired (or None) and the action it stands for. The
order is the policy, from "we must not write" to "we may write":

1. **A language we do not write** -> a person. Nothing below can be said in it.
2. **Abuse, a legal threat, a refund demand** -> a person, even when the review also reports a crash:
   a public, automatic "thank you, we passed it on" under an insult or a lawyer's letter reads as
   mockery or as an admission, and a refund is money only a person may promise.
3. **An edited review we already answered** -> a person: our public reply may no longer fit the new
   text (a new rating, a new complaint), and replacing it automatically could undo what a person wrote.
4. **A bug, a crash or a payment fault** (a detector, or the severity guess naming a fault class) ->
   a 2nd-level ticket and a "passed on" reply. Before the knowledge-base answer, because a how-to article
   that matches "login fails since the update" would answer a fault with instructions, and before the
   thanks, because "super app but it crashes" is a bug report with a polite opening. The severity guess
   *alone* (no detector saw a fault) counts only at 1-3 stars, and a *cosmetic* one only at 1-3 stars
   too: the model was trained on support mails, where nearly every text reports something, and on
   short praise ("Klasse App, nutze sie täglich") it still names a class; a 2nd-level ticket with an SLA
   for a 5-star review costs the team more than a person's look at a real complaint in kind words.
5. **A question the knowledge base answers** (the question detector fired, the prediction is confident
   and not out of scope, the article is not `action: escalate`) -> a short answer. Without a question a
   confident article is not enough: "love how the sync works" matches the sync article, and answering
   praise with instructions misses the point.
6. **Praise, or 4-5 stars without a problem or an open question** (3 stars with praise too) -> thanks.
7. **Everything else** (low confidence, 1-3 stars without anything we understand, a question we cannot
   answer) -> a person. Saying nothing is better than a reply that misses the point, in public.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mailbot.domain import Language, Prediction, Severity, SeverityGuess
from mailbot.reviews.detect import DetectorHit, Finding, found
from mailbot.stores.model import Store


class ReviewAction(StrEnum):
    THANK = "thank"
    ANSWER = "answer"
    TICKET = "ticket"
    PERSON = "person"


@dataclass(frozen=True)
class ReviewFacts:
    """Everything the decision may know about one review; filled by the caller, never looked up here.

    `language`: the language detected from the text (None: neither German nor English, or unknown).
    `prediction`: the articles model on title + body; `severity`: the severity guess on the same text;
    `hits`: `mailbot.reviews.detect.detect(title, body)`. `escalating_articles`: the ids of articles with
    `action: escalate`. `already_answered`: the store shows a reply of ours; `edited`: the text or rating
    changed since we last decided it. `review_id` and `author` are not read by the decision: the reply
    uses the id to vary its wording and the checker the nickname to keep it out of the reply.
    """

    store: Store
    rating: int  # 1..5
    title: str
    body: str
    language: Language | None
    prediction: Prediction | None = None
    severity: SeverityGuess | None = None
    hits: tuple[DetectorHit, ...] = ()
    already_answered: bool = False
    edited: bool = False
    escalating_articles: frozenset[str] = frozenset()
    review_id: str = ""
    author: str = ""

    def __post_init__(self) -> None:
        if not 1 <= self.rating <= 5:
            raise ValueError(f"a store rating is 1..5, not {self.rating}")


@dataclass(frozen=True)
class ReviewDecision:
    """What to do with a review and why; `rule` names the table row that decided."""

    action: ReviewAction
    reason: str
    rule: str
    article_id: str | None = None  # ANSWER: the article to answer with
    severity: Severity | None = None  # TICKET: the severity guess's class (None when only a detector saw it)
    hits: tuple[DetectorHit, ...] = ()


Check = Callable[[ReviewFacts], str | None]


@dataclass(frozen=True)
class Row:
    name: str
    check: Check
    action: ReviewAction


def _language(facts: ReviewFacts) -> str | None:
    if facts.language is None:
        return "written in a language we do not reply in (neither German nor English)"
    return None


def _hit(finding: Finding, why: str) -> Check:
    def check(facts: ReviewFacts) -> str | None:
        hit = found(facts.hits, finding)
        return f"{why} ({hit.reason})" if hit else None

    check.__doc__ = f"The detector '{finding}' fired: {why}."
    return check


def _edited_after_answer(facts: ReviewFacts) -> str | None:
    if facts.edited and facts.already_answered:
        return "edited after we replied: our public reply may no longer fit the new text"
    return None


def _fault(facts: ReviewFacts) -> str | None:
    for finding in (Finding.PAYMENT, Finding.BUG):
        hit = found(facts.hits, finding)
        if hit:
            return f"reports a {'payment fault' if finding is Finding.PAYMENT else 'bug'} ({hit.reason})"
    guess = facts.severity
    if guess is None or guess.severity is None:
        return None
    if facts.rating >= 4:
        return None  # the model alone on a 4-5 star review: praise read as a report (module docstring)
    why = f"; {guess.reasons[0]}" if guess.reasons else ""
    return f"the severity guess names a fault: {guess.severity} ({guess.confidence:.2f}{why})"


def _answerable(facts: ReviewFacts) -> str | None:
    prediction = facts.prediction
    if prediction is None or not prediction.confident or prediction.article_id is None:
        return None
    if prediction.article_id in facts.escalating_articles:
        return None  # that topic goes to the 2nd level; the rows below decide
    asked = found(facts.hits, Finding.QUESTION)
    if asked is None:
        return None
    return (
        f"asks what {prediction.article_id} answers ({prediction.confidence:.2f} >= threshold "
        f"{prediction.threshold:.2f}; {asked.reason})"
    )


def _thanks(facts: ReviewFacts) -> str | None:
    asked = found(facts.hits, Finding.QUESTION)
    if asked:
        return None  # an open question deserves an answer, not thanks
    praise = found(facts.hits, Finding.PRAISE)
    if facts.rating >= 4:
        return f"{facts.rating} stars without a problem" + (f" ({praise.reason})" if praise else "")
    if facts.rating == 3 and praise:
        return f"3 stars with praise ({praise.reason})"
    return None


def _anything_else(facts: ReviewFacts) -> str:
    asked = found(facts.hits, Finding.QUESTION)
    prediction = facts.prediction
    if asked and prediction is not None and prediction.article_id is not None:
        if prediction.article_id in facts.escalating_articles:
            return f"asks about {prediction.article_id}, a topic for the 2nd level ({asked.reason})"
        return (
            f"asks something the knowledge base does not answer with confidence (best: "
            f"{prediction.article_id} at {prediction.confidence:.2f}, threshold {prediction.threshold:.2f}; "
            f"{asked.reason})"
        )
    if asked:
        return f"asks something the knowledge base does not answer ({asked.reason})"
    return f"{facts.rating} stars and nothing we understand well enough to reply to"


TABLE: tuple[Row, ...] = (
    Row("language", _language, ReviewAction.PERSON),
    Row("abuse", _hit(Finding.ABUSE, "insults or threatens people"), ReviewAction.PERSON),
    Row("legal", _hit(Finding.LEGAL, "threatens legal steps or alleges fraud"), ReviewAction.PERSON),
    Row("refund", _hit(Finding.REFUND, "demands money back"), ReviewAction.PERSON),
    Row("edited_after_reply", _edited_after_answer, ReviewAction.PERSON),
    Row("fault", _fault, ReviewAction.TICKET),
    Row("answer", _answerable, ReviewAction.ANSWER),
    Row("thanks", _thanks, ReviewAction.THANK),
)


def decide_review(facts: ReviewFacts) -> ReviewDecision:
    """The first row of `TABLE` that fires decides; without one, a person does."""
    for row in TABLE:
        reason = row.check(facts)
        if reason is None:
            continue
        article = (
            facts.prediction.article_id if row.action is ReviewAction.ANSWER and facts.prediction else None
        )
        severity = facts.severity.severity if row.action is ReviewAction.TICKET and facts.severity else None
        return ReviewDecision(row.action, reason, row.name, article, severity, facts.hits)
    return ReviewDecision(ReviewAction.PERSON, _anything_else(facts), "otherwise", hits=facts.hits)
