"""The one place that turns a converted data set into a KB directory and a cases file.

Converters only build a `Dataset` from rows; everything that must be right for `mailbot evaluate` to
accept the result (ids, YAML quoting, no example shared by two topics, no case without its article)
is enforced here once, so every data set gets the same treatment.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from mailbot.kb.crosscheck import normalise_example

OUT_OF_SCOPE_ID = "_out_of_scope"
OUT_OF_SCOPE_FILE = f"{OUT_OF_SCOPE_ID}.md"
OUT_OF_SCOPE_BODY = "Never answered automatically."
# the same in every set (no set name): the e-mail set's KB is then byte-identical to the plain one
OUT_OF_SCOPE_TITLE = "Out of scope"
_NOT_ID = re.compile(r"[^a-z0-9._-]+")


def slugify(label: str) -> str:
    """A KB id (`^[a-z0-9][a-z0-9._-]*$`) for a data-set label: 'Account & Billing' -> 'account-billing'."""
    slug = _NOT_ID.sub("-", label.strip().casefold()).strip("-._")
    if not slug:
        raise ValueError(f"label {label!r} has no character usable in an article id")
    return slug


def clean_text(text: str) -> str:
    """Trimmed text, as the KB loader reads it (it strips scalars), so counts and dedupe agree with it."""
    return text.strip()


def has_words(text: str) -> bool:
    """False for texts like '' or '.' that some sources contain: no training signal, no real question."""
    return any(char.isalnum() for char in text)


@dataclass(frozen=True)
class ArticleSpec:
    """One intent/queue as an article: examples are training texts only, never validation texts."""

    id: str
    title: str
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Case:
    """One evaluation case; `expected` None means the right outcome is escalation."""

    id: str
    text: str
    expected: str | None
    language: str
    subject: str = ""
    oos_kind: str | None = None  # "id" / "ood" for BANKING77-OOS, so both recalls can be reported
    eml: str | None = None  # path relative to the cases file

    def to_json(self) -> str:
        record: dict[str, object] = {
            "id": self.id,
            "subject": self.subject,
            "text": self.text,
            "expected": self.expected,
            "language": self.language,
        }
        if self.oos_kind is not None:
            record["oos_kind"] = self.oos_kind
        if self.eml is not None:
            record["eml"] = self.eml
        return json.dumps(record, ensure_ascii=False)


@dataclass
class Dataset:
    """A converted data set before writing; `files` are extra files (e.g. eml/) relative to the set dir."""

    name: str
    language: str
    articles: list[ArticleSpec]
    oos_examples: list[str]
    cases: list[Case]
    files: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # data quirks worth printing with the counts


@dataclass(frozen=True)
class Deduped:
    """Examples per id after removing texts that two ids share (conflicts) and repeats within one id."""

    examples: dict[str, list[str]]
    conflicts_dropped: int  # example entries removed because another id has the same text
    repeats_merged: int  # entries removed because the same id already had the text
    empty_dropped: int  # entries with no letter or digit


def dedupe(examples: dict[str, Iterable[str]]) -> Deduped:
    """Drop every text that occurs under two different ids from ALL of them; keep first of repeats.

    The loader refuses a KB where two topics share an example (case, spacing and end punctuation
    ignored). Dropping from all sides instead of keeping the first makes the result independent of
    the order of the source file, and a text labelled two ways teaches the classifier nothing.
    The out-of-scope examples take part under their own id, so no text is both in and out of scope.
    """
    owners: dict[str, set[str]] = {}
    cleaned: dict[str, list[str]] = {}
    empty = 0
    for key, texts in examples.items():
        kept = []
        for text in map(clean_text, texts):
            if not has_words(text):
                empty += 1
                continue
            kept.append(text)
            owners.setdefault(normalise_example(text), set()).add(key)
        cleaned[key] = kept
    conflicts = repeats = 0
    result: dict[str, list[str]] = {}
    for key, texts in cleaned.items():
        seen: set[str] = set()
        result[key] = []
        for text in texts:
            norm = normalise_example(text)
            if len(owners[norm]) > 1:
                conflicts += 1
            elif norm in seen:
                repeats += 1
            else:
                seen.add(norm)
                result[key].append(text)
    return Deduped(result, conflicts, repeats, empty)


def article_markdown(article_id: str, title: str, language: str, examples: Iterable[str], body: str) -> str:
    """An article file; `yaml.safe_dump` quotes whatever needs it ('no', '# x', 'a: b', '- x', ...)."""
    front = {"id": article_id, "title": title, "language": language, "examples": list(examples)}
    dumped = yaml.safe_dump(front, allow_unicode=True, sort_keys=False, width=1_000_000)
    return f"---\n{dumped}---\n{body}\n"


@dataclass(frozen=True)
class SetStats:
    """What was written, for the CLI's summary line and the runner."""

    name: str
    articles: int
    examples: int
    oos_examples: int
    cases_in_scope: int
    cases_out_of_scope: int
    conflicts_dropped: int
    repeats_merged: int
    empty_dropped: int
    cases_dropped: int  # cases with no usable text or whose article has no training example
    notes: tuple[str, ...] = ()

    def line(self, seconds: float | None = None) -> str:
        """One summary line (plus one per note) for the CLI."""
        took = f"  ({seconds:.1f} s)" if seconds is not None else ""
        text = (
            f"{self.name:<20} articles {self.articles:>4}  examples {self.examples:>6}  oos examples"
            f" {self.oos_examples:>5}  cases in/out {self.cases_in_scope:>5}/{self.cases_out_of_scope:<4}"
            f" dropped: conflicting {self.conflicts_dropped}, repeats {self.repeats_merged},"
            f" empty {self.empty_dropped}, cases {self.cases_dropped}{took}"
        )
        return "\n".join([text, *(f"{'':<20} note: {note}" for note in self.notes)])


def write_dataset(dataset: Dataset, out_dir: Path) -> SetStats:
    """Rebuild `out_dir` with kb/, cases.jsonl and extra files; returns the counts."""
    if len({article.id for article in dataset.articles}) != len(dataset.articles):
        raise ValueError(f"{dataset.name}: two labels map to the same article id")
    deduped = dedupe(
        {OUT_OF_SCOPE_ID: dataset.oos_examples}
        | {article.id: article.examples for article in dataset.articles}
    )
    empty_articles = [article.id for article in dataset.articles if not deduped.examples[article.id]]
    if empty_articles:
        raise ValueError(f"{dataset.name}: no example left for {', '.join(empty_articles)}")
    if out_dir.exists():
        shutil.rmtree(out_dir)
    kb = out_dir / "kb"
    kb.mkdir(parents=True)
    for article in dataset.articles:
        examples = deduped.examples[article.id]
        text = article_markdown(
            article.id, article.title, dataset.language, examples, f"Answer for {article.id}."
        )
        (kb / f"{article.id}.md").write_text(text, encoding="utf-8")
    oos = deduped.examples[OUT_OF_SCOPE_ID]
    if oos:
        text = article_markdown(OUT_OF_SCOPE_ID, OUT_OF_SCOPE_TITLE, dataset.language, oos, OUT_OF_SCOPE_BODY)
        (kb / OUT_OF_SCOPE_FILE).write_text(text, encoding="utf-8")
    ids = {article.id for article in dataset.articles}
    cases = [
        case
        for case in dataset.cases
        if has_words(case.text) and (case.expected is None or case.expected in ids)
    ]
    with (out_dir / "cases.jsonl").open("w", encoding="utf-8") as handle:
        handle.writelines(case.to_json() + "\n" for case in cases)
    referenced = {case.eml for case in cases}
    for relative, data in dataset.files.items():
        if relative not in referenced:  # the mail of a dropped case
            continue
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    in_scope = sum(case.expected is not None for case in cases)
    return SetStats(
        name=dataset.name,
        articles=len(dataset.articles),
        examples=sum(len(deduped.examples[article.id]) for article in dataset.articles),
        oos_examples=len(oos),
        cases_in_scope=in_scope,
        cases_out_of_scope=len(cases) - in_scope,
        conflicts_dropped=deduped.conflicts_dropped,
        repeats_merged=deduped.repeats_merged,
        empty_dropped=deduped.empty_dropped,
        cases_dropped=len(dataset.cases) - len(cases),
        notes=tuple(dataset.notes),
    )
