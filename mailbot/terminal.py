"""Customer text on an operator's terminal: shown, never obeyed.

A subject or a mail body can carry ANSI escape sequences (which recolour, move the cursor, retitle the
window or, in some terminals, answer back), C1 controls, carriage returns that overwrite what was
printed, and bidi/format characters (Unicode category Cf, e.g. U+202E RIGHT-TO-LEFT OVERRIDE) that make
the text read differently from what it is. Everything that `tickets`, `quarantine` and `status` print
passes through here: such characters are shown as visible escapes (``\\x1b``, ``\\u202e``), so the
operator sees that they are there, and the terminal gets nothing to act on.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from mailbot.logredact import shortened

# control, format, surrogate (undecodable bytes), line and paragraph separators
CELL_CHARS = 200
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def _unsafe(ch: str) -> bool:
    return unicodedata.category(ch) in _UNSAFE_CATEGORIES


def _visible(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_line(text: str | None) -> str:
    """`text` for one line of output: every control, format or separator character escaped, including
    line breaks and tabs."""
    if not text:
        return ""
    return "".join(_visible(ch) if _unsafe(ch) else ch for ch in text)


def safe_cell(text: str | None, limit: int = CELL_CHARS) -> str:
    """`text` for a list of one line per item (`tickets list`, `quarantine list`, `status`): as
    `safe_line`, its opening only when longer than `limit` (with its length: a mail's subject or From
    can be a megabyte, and one item must not fill the terminal; `... show` prints it whole)."""
    return safe_line(shortened(text, limit)) if text else ""


def safe_text(text: str | None) -> str:
    """`text` for several lines of output: line breaks and tabs kept, everything else as `safe_line`.

    CR LF and lone CR become LF first: a lone CR would let a line overwrite the one before it.
    """
    if not text:
        return ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join("\t".join(safe_line(part) for part in line.split("\t")) for line in lines)


def _json_escape(ch: str) -> str:
    """``\\uXXXX`` (a surrogate pair above U+FFFF): the same string to a JSON reader."""
    code = ord(ch)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_json(data: Any) -> str:
    """`data` as indented JSON whose text is safe on a terminal and decodes to exactly `data`.

    json.dumps escapes C0 controls but, with ensure_ascii=False, passes C1 controls, format and
    separator characters through; outside strings JSON holds only ASCII, so escaping those characters
    wherever they stand keeps the document valid and its values unchanged.
    """
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return "".join(_json_escape(ch) if ch != "\n" and _unsafe(ch) else ch for ch in text)
