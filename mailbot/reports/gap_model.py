"""The values of `mailbot kb gaps`: the mails it reads, the clusters it finds, the settings it uses.

Apart from mailbot.reports.gaps (which needs scikit-learn) so that the command line, the database side
and the drafts can name them without importing it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from mailbot.kb import Article
from mailbot.reports.gap_text import quote

NEAR_MARGIN = 0.05  # an answer below threshold + this counts as unanswered (docs/metrics.md)
NEW = "new"
EXTEND = "extend"


@dataclass(frozen=True)
class GapMail:
    """One unanswered mail: escalated, or answered below the threshold plus a margin."""

    inbound_id: int
    arrived_at: datetime
    subject: str
    text: str  # the customer's words: quotes and signature already stripped
    why: str  # "not_confident" (escalated), "near_threshold" (answered), "fault" (escalated fault)
    reference: str | None = None
    language: str | None = None
    sender: str | None = None  # canonical address, only to count senders; never shown
    article_id: str | None = None  # the classifier's best article
    confidence: float | None = None
    severity: str | None = None


@dataclass(frozen=True)
class ArticleText:
    """An article as it enters the shared space: its title and example questions."""

    article_id: str
    language: str
    text: str


@dataclass(frozen=True)
class GapSettings:
    distance: float = 0.9  # average-linkage cosine distance at which clusters stop merging
    new_below: float = 0.35  # centroid cosine to the nearest article below which a topic is new
    min_size: int = 3
    min_senders: int = 2  # only counted when mails carry senders
    representatives: int = 5
    top_terms: int = 6


@dataclass(frozen=True)
class Cluster:
    members: tuple[int, ...]  # inbound ids, ascending
    terms: tuple[tuple[str, float], ...]  # c-TF-IDF, best first
    title: str  # the medoid mail's subject
    language: str
    representatives: tuple[GapMail, ...]  # nearest the centroid first
    verdict: str  # NEW or EXTEND
    article_id: str | None  # the nearest article (EXTEND: the one to extend)
    similarity: float  # the centroid's cosine to that article
    first_half: int  # members in the first half of the range
    second_half: int

    @property
    def name(self) -> str:
        return " · ".join(term for term, _ in self.terms[:3])

    def quotes(self, limit: int = 200) -> tuple[str, ...]:
        return tuple(quote(mail.subject, mail.text, limit) for mail in self.representatives)


@dataclass(frozen=True)
class GapAnalysis:
    clusters: tuple[Cluster, ...]  # largest first, then by first member
    one_offs: tuple[int, ...]  # inbound ids in no cluster


def article_texts(articles: Sequence[Article]) -> list[ArticleText]:
    """Each article (each language) as title and example questions, sorted by id and language."""
    texts = [
        ArticleText(article.id, article.language.value, "\n".join([article.title, *article.examples]))
        for article in articles
    ]
    return sorted(texts, key=lambda text: (text.article_id, text.language))
