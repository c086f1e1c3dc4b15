"""Split an article file into its YAML front matter and Markdown body, keeping file line numbers.

The YAML is only composed into nodes, never constructed into objects: nodes keep the position of
every key and value, so each problem can name its line in the .md file.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import yaml

from mailbot.kb.model import Problem

FENCE = "---"
_FIRST_YAML_LINE = 2  # the YAML text starts on the line after the opening fence


@dataclass(frozen=True)
class Source:
    """An article file whose front matter parsed as a YAML mapping."""

    path: Path
    mapping: yaml.MappingNode
    body: str  # everything after the closing fence, stripped
    closing_line: int  # file line of the closing fence
    body_line: int = 0  # file line of the body's first line (after blank lines), for body warnings


def node_line(node: yaml.Node) -> int:
    """The file line (1-based) where a front-matter node starts."""
    return node.start_mark.line + _FIRST_YAML_LINE


def read_source(path: Path, data: bytes) -> Source | Problem:
    """Decode and split one article file; the first problem that prevents reading it otherwise."""
    try:
        text = data.decode("utf-8-sig")  # tolerate the BOM some Windows editors write
    except UnicodeDecodeError as exc:
        return Problem(
            path, 1, f"the file is not valid UTF-8 (byte {exc.start})", "save the file with UTF-8 encoding"
        )
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines[0].rstrip() != FENCE:
        return Problem(
            path,
            1,
            "the file does not start with front matter",
            f"make '{FENCE}' the first line, then id/title/language/examples, then a closing '{FENCE}' line",
        )
    closing = _closing_fence(lines)
    if closing is None:
        return Problem(path, 1, "the front matter is not closed", f"add a line '{FENCE}' after the examples")
    rest = lines[closing + 1 :]
    blank = next((index for index, line in enumerate(rest) if line.strip()), 0)
    source = _compose(path, "\n".join(lines[1:closing]), "\n".join(rest).strip(), closing + 1)
    return replace(source, body_line=closing + 2 + blank) if isinstance(source, Source) else source


def _closing_fence(lines: list[str]) -> int | None:
    """Index of the line that closes the front matter, if any."""
    return next((index for index, line in enumerate(lines[1:], 1) if line.rstrip() == FENCE), None)


def _compose(path: Path, front: str, body: str, closing_line: int) -> Source | Problem:
    """Parse the front matter into a mapping node."""
    try:
        node = yaml.compose(front, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + _FIRST_YAML_LINE if mark else 1
        reason = exc.problem or exc.context or "invalid YAML"
        return Problem(
            path,
            line,
            f"front matter is not valid YAML: {reason}",
            "indent list items as '  - text' and put text containing ': ' or ' #' in quotes",
        )
    except yaml.YAMLError as exc:
        return Problem(path, 1, f"front matter is not valid YAML: {exc}", "correct the YAML syntax")
    if node is None:
        return Problem(path, 1, "the front matter is empty", "add id, title, language and examples")
    if not isinstance(node, yaml.MappingNode):
        message = "the front matter is not a list of 'key: value' lines"
        return Problem(path, node_line(node), message, "write one 'key: value' per line")
    return Source(path, node, body, closing_line)
