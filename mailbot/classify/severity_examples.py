"""The severity examples of a knowledge base, `<kb>/_severity/<class>.md`: read and checked.

Apart from the model (severity.py) so that reading and checking them, which every start does, needs
no scikit-learn: the model is trained when the first fault needs it (mailbot.app).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from mailbot.classify.signals import LABELS
from mailbot.kb.crosscheck import normalise_example
from mailbot.kb.frontmatter import Source, node_line, read_source
from mailbot.kb.model import KnowledgeBaseError, Problem

SEVERITY_DIR = "_severity"
FILE_KEYS = ("severity", "examples")


@dataclass(frozen=True)
class SeverityExample:
    text: str
    label: str  # a Severity value or "none"
    path: Path | None = None
    line: int = 0


def check_severity_examples(kb_root: Path) -> list[Problem]:
    """Every problem of `<kb_root>/_severity/`, with file, line and fix; [] when fine or absent."""
    return _scan(kb_root)[1]


def load_severity_examples(kb_root: Path) -> tuple[SeverityExample, ...]:
    """The examples of `<kb_root>/_severity/<class>.md`; () when the folder is missing or empty.

    Raises KnowledgeBaseError listing every problem, like the article loader.
    """
    examples, problems = _scan(kb_root)
    if problems:
        raise KnowledgeBaseError(problems)
    return examples


def _scan(kb_root: Path) -> tuple[tuple[SeverityExample, ...], list[Problem]]:
    folder = kb_root / SEVERITY_DIR
    if not folder.is_dir():
        return (), []
    examples: list[SeverityExample] = []
    problems: list[Problem] = []
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        found, wrong = _read_file(path)
        examples.extend(found)
        problems.extend(wrong)
    problems.extend(_shared(examples))
    problems.sort(key=lambda problem: (problem.path.as_posix(), problem.line))
    return tuple(examples), problems


def _read_file(path: Path) -> tuple[list[SeverityExample], list[Problem]]:
    names = ", ".join(f"{label}.md" for label in reversed(LABELS))
    if path.stem not in LABELS:
        close = difflib.get_close_matches(path.stem, LABELS, n=1)
        hint = f"rename it to {close[0]}.md; " if close else ""
        return [], [
            Problem(path, 0, f"'{path.name}' is not a severity class", f"{hint}the files are {names}")
        ]
    try:
        source = read_source(path, path.read_bytes())
    except OSError as exc:
        return [], [Problem(path, 0, f"cannot read the file: {exc.strerror}", "check that it is readable")]
    if isinstance(source, Problem):
        return [], [source]
    return _read_front(source, path.stem)


def _text(node: yaml.Node) -> str | None:
    """Raw scalar text ('' for null), None for a list or mapping; raw so 'no' stays a text."""
    if not isinstance(node, yaml.ScalarNode):
        return None
    return "" if node.tag == "tag:yaml.org,2002:null" else str(node.value).strip()


def _read_front(source: Source, label: str) -> tuple[list[SeverityExample], list[Problem]]:
    path, problems, keys = source.path, [], {}
    for key_node, value_node in source.mapping.value:
        key = _text(key_node)
        if key not in FILE_KEYS or key in keys:
            what = f"key '{key}' appears twice" if key in keys else f"unknown key '{key}'"
            fix = "keep one of them" if key in keys else f"allowed keys are: {', '.join(FILE_KEYS)}"
            problems.append(Problem(path, node_line(key_node), what, fix))
        else:
            keys[key] = value_node
    for key in FILE_KEYS:
        if key not in keys:
            problems.append(Problem(path, 1, f"required key '{key}' is missing", f"add a line '{key}: ...'"))
    if "severity" in keys and _text(keys["severity"]) != label:
        value = _text(keys["severity"]) or ""
        message = f"severity '{value}' does not match the file name {path.name}"
        fix = f"write 'severity: {label}', or move the examples to {value or '<class>'}.md"
        problems.append(Problem(path, node_line(keys["severity"]), message, fix))
    examples = []
    node = keys.get("examples")
    list_fix = "write one example per line as '  - text' below 'examples:'"
    if node is not None and not isinstance(node, yaml.SequenceNode):
        problems.append(Problem(path, node_line(node), "examples must be a list of texts", list_fix))
    elif node is not None:
        for position, item in enumerate(node.value, 1):
            text = _text(item)
            if not text:
                message = f"examples entry {position} is empty or not a text"
                problems.append(Problem(path, node_line(item), message, list_fix))
            else:
                examples.append(SeverityExample(text, label, path, node_line(item)))
    return examples, problems


def _shared(examples: Sequence[SeverityExample]) -> list[Problem]:
    """The same example in two classes: the model could learn neither."""
    first: dict[str, SeverityExample] = {}
    problems = []
    for example in examples:
        other = first.setdefault(normalise_example(example.text), example)
        if other.label != example.label and example.path is not None:
            problems.append(
                Problem(
                    example.path,
                    example.line,
                    f"example '{example.text}' is also an example of '{other.label}'"
                    f" in {other.path}:{other.line}",
                    "keep it only in the class that fits",
                )
            )
    return problems
