"""Where a key sits in a TOML file, so that a configuration error can name the line to edit.

`tomllib` returns plain dicts without positions; a configuration error is found after validation,
when only the key's path (`("sla", "major", "response_hours")`) is known. A line scan that follows
table headers finds the line for the way people write configuration files (tables, `key = value`,
dotted keys); for anything more exotic it finds the table's header, or nothing, and the message
still names the file and the key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\-\"' ]+?)\s*=")


def _parts(dotted: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in dotted.split("."))


def line_of(text: str, location: Sequence[str]) -> int | None:
    """The 1-based line where `location` (table parts, then the key) is set; the line of its table
    header when the key itself is not written there; None when neither is in the file."""
    wanted = tuple(location)
    if not wanted:
        return None
    table: tuple[str, ...] = ()
    header_line: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            table = _parts(header.group(1))
            if table == wanted or (header_line is None and table == wanted[:-1]):
                header_line = number
            if table == wanted:
                return number
            continue
        key = _KEY.match(line)
        if key and table + _parts(key.group(1)) == wanted:
            return number
    return header_line
