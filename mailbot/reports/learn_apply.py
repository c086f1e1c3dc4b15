"""Put one accepted example into a knowledge base, so that `mailbot kb check` still passes.

Where it goes: an article's example into that article's file in the ticket's language (else the
topic's other language, as answers do), `_out_of_scope` into `_out_of_scope.md`, a severity class into
`_severity/<class>.md` (created when the folder exists but the class has no file yet; without the
folder the severity guess works from its fixed phrases only, and one learned example must not change
that unseen). An example that another topic (or class) already has is refused, naming it, since the
knowledge base would no longer load; one the target already has is not written twice. After writing,
the knowledge base is checked; should it have a problem it did not have before, the file is put back
as it was and the problem is reported.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

from mailbot.classify.severity_examples import SEVERITY_DIR, check_severity_examples, load_severity_examples
from mailbot.classify.signals import LABELS
from mailbot.domain import Language
from mailbot.kb.crosscheck import normalise_example
from mailbot.kb.learn_write import ExampleNotWritten, add_example
from mailbot.kb.loader import check_knowledge_base, load_knowledge_base
from mailbot.kb.model import Article, KnowledgeBase, KnowledgeBaseError, Problem
from mailbot.kb.validate import OUT_OF_SCOPE_ID


class NotPlaced(ValueError):
    """The example was not written; the message says why and what to do."""


@dataclass(frozen=True)
class Placement:
    path: Path
    written: bool  # False: the target had this example already


def place_article_example(root: Path, article_id: str, language: str, text: str) -> Placement:
    """Add `text` to the examples of `article_id` (or `_out_of_scope`) in the knowledge base at `root`."""
    kb = _load(root)
    path = _article_path(kb, article_id, language)
    key = normalise_example(text)
    owners = {article.id for article in _with_oos(kb) if key in map(normalise_example, article.examples)}
    others = owners - {article_id}
    if others:
        raise NotPlaced(
            f"'{text}' is an example of {', '.join(sorted(others))} already; accept it for that one"
        )
    if article_id in owners:
        return Placement(path, written=False)
    return _write(root, path, text)


def place_severity_example(root: Path, label: str, text: str) -> Placement:
    """Add `text` to `_severity/<label>.md` of the knowledge base at `root`."""
    if label not in LABELS:
        raise NotPlaced(f"'{label}' is not a severity class: give one of {', '.join(LABELS)}")
    folder = root / SEVERITY_DIR
    if not folder.is_dir():
        raise NotPlaced(
            f"{root} has no {SEVERITY_DIR}/ folder, so the severity guess uses its fixed phrases only; "
            f"create it with examples of every class (knowledge_base/README.md) before learning from agents"
        )
    try:
        examples = load_severity_examples(root)
    except KnowledgeBaseError as exc:  # a broken file is fixed first, never written into
        raise NotPlaced(
            f"the severity examples have problems; run `mailbot kb check` first:\n{exc}"
        ) from None
    key = normalise_example(text)
    owners = {example.label for example in examples if normalise_example(example.text) == key}
    if owners - {label}:
        raise NotPlaced(f"'{text}' is a {', '.join(sorted(owners))} example already; accept it as that class")
    path = folder / f"{label}.md"
    if label in owners:
        return Placement(path, written=False)
    return _write(root, path, text, severity_label=label)


def _load(root: Path) -> KnowledgeBase:
    try:
        return load_knowledge_base(root)
    except KnowledgeBaseError as exc:  # a missing folder too: nothing is written
        raise NotPlaced(f"the knowledge base has problems; run `mailbot kb check` first:\n{exc}") from None


def _with_oos(kb: KnowledgeBase) -> list[Article]:
    return [*kb.articles, *((kb.out_of_scope,) if kb.out_of_scope else ())]


def _article_path(kb: KnowledgeBase, article_id: str, language: str) -> Path:
    if article_id == OUT_OF_SCOPE_ID:
        if kb.out_of_scope is None:
            raise NotPlaced(
                f"{kb.root} has no {OUT_OF_SCOPE_ID}.md; create it first (knowledge_base/README.md)"
            )
        return kb.out_of_scope.path
    wanted = Language(language) if language in tuple(Language) else Language.DE
    article = kb.article(article_id, wanted)
    if article is None:
        close = difflib.get_close_matches(article_id, kb.topic_ids(), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise NotPlaced(
            f"no article '{article_id}' in {kb.root}; {hint}the articles are: {', '.join(kb.topic_ids())}"
        )
    return article.path


def _write(root: Path, path: Path, text: str, *, severity_label: str | None = None) -> Placement:
    before = path.read_bytes() if path.exists() else None
    problems_before = {str(p) for p in _problems(root)}
    try:
        add_example(path, text, severity_label=severity_label)
    except (ExampleNotWritten, OSError) as exc:
        raise NotPlaced(f"{path}: {exc}") from None
    new = [p for p in _problems(root) if str(p) not in problems_before]
    if new:
        if before is None:
            path.unlink()
        else:
            path.write_bytes(before)
        raise NotPlaced(
            "the example would break the knowledge base, so it was not kept:\n" + "\n".join(map(str, new))
        )
    return Placement(path, written=True)


def _problems(root: Path) -> list[Problem]:
    return [*check_knowledge_base(root), *check_severity_examples(root)]
