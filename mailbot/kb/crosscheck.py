"""Checks across article files: what is fine in each file alone but confuses the classifier together."""

from __future__ import annotations

import re
from collections.abc import Sequence

from mailbot.kb.model import Problem
from mailbot.kb.validate import Located


def cross_check(located: Sequence[Located]) -> list[Problem]:
    """Duplicate (id, language) pairs and example texts shared by different topics."""
    return [*_duplicate_ids(located), *_shared_examples(located)]


def normalise_example(text: str) -> str:
    """The form in which two examples count as the same: case, spacing and end punctuation ignored."""
    return re.sub(r"\s+", " ", text).strip().rstrip(".!?").strip().casefold()


def _duplicate_ids(located: Sequence[Located]) -> list[Problem]:
    first: dict[tuple[str, str], Located] = {}
    problems = []
    for item in located:
        key = (item.article.id, item.article.language.value)
        if key in first:
            other = first[key]
            problems.append(
                Problem(
                    item.article.path,
                    item.id_line,
                    f"article id '{key[0]}' in language '{key[1]}' is also used by"
                    f" {other.article.path}:{other.id_line}",
                    "give one of the two articles another id, or merge them into one file",
                )
            )
        else:
            first[key] = item
    return problems


def _shared_examples(located: Sequence[Located]) -> list[Problem]:
    """The same example under two topic ids; repeats within one topic (or its translation) are harmless."""
    first: dict[str, tuple[Located, int]] = {}
    problems = []
    for item in located:
        for text, line in zip(item.article.examples, item.example_lines, strict=True):
            key = normalise_example(text)
            other, other_line = first.setdefault(key, (item, line))
            if other.article.id != item.article.id:
                problems.append(
                    Problem(
                        item.article.path,
                        line,
                        f"example '{text}' is also an example of '{other.article.id}'"
                        f" in {other.article.path}:{other_line}",
                        "keep the example only in the article whose answer fits it",
                    )
                )
    return problems
