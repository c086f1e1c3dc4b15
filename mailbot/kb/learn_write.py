"""Write an accepted training example into a knowledge-base file: one new line, nothing else changed.

An example an agent accepted (`mailbot kb learn --accept`) goes where an editor would have put it: as
the last entry of the `examples:` list in the file's front matter (an article, `_out_of_scope.md` or
`_severity/<class>.md`). Every other byte of the file stays as it was (BOM, line endings, comments,
quoting), so the change is one added line in `git diff`, reviewed like any edit, and the loader and
`kb check` read it as they read every example. The new entry is written by the YAML emitter (quoted
where the text needs it) and read back before the file is replaced, so a text can never break the
front matter. The file is replaced atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from mailbot.kb.frontmatter import FENCE

_EXAMPLES = "examples"
_INDENT = re.compile(r"[ \t]*")


class ExampleNotWritten(ValueError):
    """The file's examples cannot be extended by one line; the message says why and what to do."""


def with_example(text: str, example: str) -> str:
    """`text` (an article file) with `example` as the last entry of its front matter's examples."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].lstrip("\ufeff").rstrip() != FENCE:
        raise ExampleNotWritten("the file does not start with front matter ('---'); run `mailbot kb check`")
    closing = next((i for i, line in enumerate(lines[1:], 1) if line.rstrip() == FENCE), None)
    if closing is None:
        raise ExampleNotWritten("the front matter is not closed; run `mailbot kb check`")
    items = _example_items(lines[1:closing])
    last = items[-1]
    end_line = last.end_mark.line if last.end_mark.column > 0 else last.end_mark.line - 1
    first_line = lines[1 + items[0].start_mark.line]
    indent = _INDENT.match(first_line).group()  # type: ignore[union-attr]  # matches every string
    ending = "\r\n" if lines[0].endswith("\r\n") else "\n"
    entry = yaml.safe_dump([example], allow_unicode=True, width=1 << 30, default_flow_style=False)
    new_line = indent + entry.rstrip("\n") + ending
    at = 1 + end_line + 1
    changed = [*lines[:at], new_line, *lines[at:]]
    after = _example_items(changed[1 : closing + 1])
    if len(after) != len(items) + 1 or after[-1].value.strip() != example.strip():
        raise ExampleNotWritten("the new example would not read back as written; add it by hand")
    return "".join(changed)


def _example_items(front: list[str]) -> list[yaml.ScalarNode]:
    try:
        node = yaml.compose("".join(front).lstrip("\ufeff"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise ExampleNotWritten(
            f"the front matter is not valid YAML ({exc}); run `mailbot kb check`"
        ) from None
    if not isinstance(node, yaml.MappingNode):
        raise ExampleNotWritten(
            "the front matter is not a list of 'key: value' lines; run `mailbot kb check`"
        )
    value = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == _EXAMPLES), None)
    if not isinstance(value, yaml.SequenceNode) or value.flow_style or not value.value:
        raise ExampleNotWritten(
            "its 'examples:' is not a list written one entry per line ('  - text'); write it so, then"
            " accept again"
        )
    return list(value.value)


def severity_file_text(label: str, example: str) -> str:
    """A new `_severity/<label>.md` holding one example."""
    entry = yaml.safe_dump([example], allow_unicode=True, width=1 << 30, default_flow_style=False)
    return f"{FENCE}\nseverity: {label}\n{_EXAMPLES}:\n  {entry.rstrip()}\n{FENCE}\n"


def add_example(path: Path, example: str, *, severity_label: str | None = None) -> None:
    """Append `example` to the file at `path` (created for a severity class that has no file yet)."""
    if not path.exists() and severity_label is not None:
        _replace(path, severity_file_text(severity_label, example).encode("utf-8"))
        return
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ExampleNotWritten("the file is not valid UTF-8; run `mailbot kb check`") from None
    _replace(path, with_example(text, example).encode("utf-8"))


def _replace(path: Path, data: bytes) -> None:
    partial = path.with_name(f".{path.name}.learn-partial")
    partial.write_bytes(data)
    if path.exists():
        os.chmod(partial, path.stat().st_mode & 0o7777)
    os.replace(partial, path)
