"""The knowledge base as plain frozen values, so classifier, replies and reports share one view."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mailbot.domain import Language
from mailbot.errors import ConfigError

ACTIONS = ("answer", "escalate")


@dataclass(frozen=True)
class Article:
    """One topic in one language; the de and en variants of a topic share the same `id`."""

    id: str
    title: str
    language: Language
    tags: tuple[str, ...]
    examples: tuple[str, ...]  # customer questions the classifier trains on
    body: str  # the answer in Markdown; for action "escalate" the interim hint to the customer
    action: str  # "answer" or "escalate"
    path: Path
    # a short plain-text answer for public store replies (`mailbot.reviews.compose`); "" uses the body
    review_answer: str = ""


@dataclass(frozen=True)
class Problem:
    """One thing a support agent must fix in an article file, with the place and the fix."""

    path: Path
    line: int  # 1-based; 0 when the problem concerns the whole file or folder
    message: str
    fix: str

    def __str__(self) -> str:
        place = f"{self.path}:{self.line}" if self.line > 0 else str(self.path)
        return f"{place}: {self.message} — fix: {self.fix}"


@dataclass(frozen=True)
class KnowledgeBase:
    """All articles of a knowledge-base folder and a digest that changes whenever a file does."""

    root: Path
    articles: tuple[Article, ...]
    digest: str  # sha256 hex over (relative path, bytes) of every loaded file
    # `_out_of_scope.md`: what must never be answered automatically (trained as a class of its own)
    out_of_scope: Article | None = None

    def topic_ids(self) -> tuple[str, ...]:
        """Distinct article ids, sorted: the classes the classifier chooses from."""
        return tuple(sorted({article.id for article in self.articles}))

    def article(self, article_id: str, language: Language) -> Article | None:
        """The article in `language`, else the same topic in another language, else None.

        A customer writing in a language the topic lacks still gets the answer rather than nothing.
        """
        variants = [article for article in self.articles if article.id == article_id]
        for article in variants:
            if article.language == language:
                return article
        return variants[0] if variants else None


class KnowledgeBaseError(ConfigError):
    """The knowledge base has problems; `problems` holds them, str() lists them one per line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))
