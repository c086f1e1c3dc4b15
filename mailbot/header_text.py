"""Customer text in what we write: a subject, a name. Shown as text, never acting on a reader.

A subject or a display name can carry ANSI escape sequences (which recolour or retitle a terminal
mail reader), C0 and C1 controls, and bidi/format characters (Unicode category Cf, e.g. U+202E
RIGHT-TO-LEFT OVERRIDE, which makes "[MB-000123] Rechnung fdp.exe" read differently from what it
is). None of them is part of a topic or a name, so they are dropped from every subject and name we
write or store: the outgoing Subject (`one_line`), the ticket subject (parse), the greeting name
and the customer as the team sees it. `mailbot.terminal` escapes them instead, where an operator
must see that they were there.
"""

from __future__ import annotations

import re
import unicodedata

# ECMA-48: ESC [ ... final (CSI), ESC ] ... BEL or ESC \ (OSC, e.g. a window title or a hyperlink),
# ESC with intermediates and one final byte (ESC c resets the terminal), the one-byte C1 CSI; linear,
# each alternative stops at its first possible end
_ESCAPE_SEQUENCE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[ -/]*[0-~]|\x9b[0-?]*[ -/]*[@-~]"
)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf"})


def without_controls(text: str) -> str:
    """`text` without escape sequences, controls and format characters; white space stays as it is
    (line breaks and tabs too) and a lone surrogate (an undecodable byte) becomes U+FFFD."""
    text = _ESCAPE_SEQUENCE.sub("", text)
    chars = []
    for ch in text:
        if ch.isspace():
            chars.append(ch)
        elif "\ud800" <= ch <= "\udfff":
            chars.append("\ufffd")
        elif unicodedata.category(ch) not in _DROPPED_CATEGORIES:
            chars.append(ch)
    return "".join(chars)


def one_line(text: str) -> str:
    """`text` as one clean header line: `without_controls`, and every run of white space (CR, LF,
    tabs, Unicode line separators) one space, so the result can always be written into a header."""
    return " ".join(without_controls(text).split())
