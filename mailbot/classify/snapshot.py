"""The articles a saved model answers with, as JSON beside the model.

A knowledge base that is broken when mailbot starts (an agent's half-finished edit) must not stop the
mail: the worker then answers with the last good model and this copy of the articles it was trained
on, as it keeps its previous KB when an edit breaks it while running. Plain JSON, never pickle; the
copy names the KB digest it was taken from and is used only with the model card of that digest.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from mailbot.domain import Language
from mailbot.kb import Article, KnowledgeBase

log = logging.getLogger(__name__)

ARTICLES_FILE = "articles.json"
SNAPSHOT_FORMAT = 1


def write_snapshot(kb: KnowledgeBase, directory: Path) -> Path:
    """Write the articles of `kb` (written whole, then renamed: never half a file)."""
    data = {
        "format": SNAPSHOT_FORMAT,
        "kb_digest": kb.digest,
        "articles": [_as_json(article, kb.root) for article in kb.articles],
        "out_of_scope": _as_json(kb.out_of_scope, kb.root) if kb.out_of_scope is not None else None,
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / ARTICLES_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    temporary.replace(path)
    return path


def read_snapshot(directory: Path, kb_digest: str, root: Path) -> KnowledgeBase | None:
    """The articles saved for the KB with `kb_digest`, as a KnowledgeBase under `root`; else None."""
    path = directory / ARTICLES_FILE
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("format") != SNAPSHOT_FORMAT or data.get("kb_digest") != kb_digest:
            return None
        articles = tuple(_from_json(item, root) for item in data["articles"])
        special = data.get("out_of_scope")
        out_of_scope = _from_json(special, root) if special is not None else None
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        log.warning("saved articles %s are unreadable (%s): not used", path, exc)
        return None
    return KnowledgeBase(root, articles, kb_digest, out_of_scope)


def _as_json(article: Article, root: Path) -> dict[str, Any]:
    try:
        relative = article.path.relative_to(root).as_posix()
    except ValueError:
        relative = str(article.path)
    return {
        "id": article.id,
        "language": article.language.value,
        "title": article.title,
        "action": article.action,
        "tags": list(article.tags),
        "examples": list(article.examples),
        "body": article.body,
        "path": relative,
        "review_answer": article.review_answer,
    }


def _from_json(item: dict[str, Any], root: Path) -> Article:
    return Article(
        id=str(item["id"]),
        title=str(item["title"]),
        language=Language(item["language"]),
        tags=tuple(str(tag) for tag in item.get("tags", ())),
        examples=tuple(str(example) for example in item.get("examples", ())),
        body=str(item["body"]),
        action=str(item["action"]),
        path=root / item["path"],
        review_answer=str(item.get("review_answer", "")),
    )
