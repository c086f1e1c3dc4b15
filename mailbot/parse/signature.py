"""Signature start, guarded so that a closer-looking sentence does not cut real text.

mail-parser-reply treats any line starting with a closer it lists ("Thanks,", "Best,", "Grüße")
as a signature running to the end of the mail, so "Thanks, but it still fails" followed by the
real question would lose the question. Here a closer counts only as a short line followed by a
short (name) line. "-- " delimiters and "Sent from my iPhone" lines count as they are. Closers
the library does not list are added ("Viele Grüße", "Freundliche Grüße", "LG", "Cheers", "Best
regards, Max", "Von meinem iPhone gesendet" ...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

_SHORT_WORDS = 6
_DELIMITER = re.compile(r"^(?:--|__|[-_]{32,})$")
_SENT_FROM = re.compile(
    r"^(?:sent from my|sent with|get outlook for|gesendet von|von meinem \w+(?: \w+)? gesendet)",
    re.IGNORECASE,
)
_CLOSER = re.compile(
    # German greetings, optionally followed by a name: "Viele Grüße, Max", "MfG"
    r"^(?:mit )?(?:freundlich\w*|herzlich\w*|schön\w*|best\w*|lieb\w*|viel\w*|sonnig\w*)?\s?"
    r"(?:grü(?:ß|ss)\w*|gru(?:ß|ss)\w*)\b"
    r"|^(?:mfg|lg|vg|bg|cheers|sincerely|yours sincerely|yours truly|best wishes|all the best"
    r"|(?:kind|best|warm|warmest|many) regards|regards)\b(?:[,.!]?[ \t]*[\w .'-]{0,40})$"
    # thanks: only alone on its line ("Thanks, the fix worked" is text)
    r"|^(?:best|thanks|thank you|many thanks|thanks again|danke|vielen dank|danke schön)\b[\s,.!]*$",
    re.IGNORECASE,
)


def _short(line: str) -> bool:
    return len(line.split()) <= _SHORT_WORDS


def signature_ok(lines: Iterable[str]) -> bool:
    """Accept a signature unless it starts with a closer that may be the start of real text."""
    written = list(islice((line.strip() for line in lines if line.strip()), 2))
    if not written:
        return False
    opening = written[0].lstrip("> ")
    second = written[1] if len(written) > 1 else None
    if _DELIMITER.match(opening):
        return True
    if _SENT_FROM.match(opening):
        return _short(opening) and "," not in opening
    return _short(opening) and (second is None or _short(second))


def signature_start(lines: list[str]) -> int | None:
    """Index of the first line (after some text) that starts an acceptable signature."""
    seen_text = False
    for index, raw in enumerate(lines):
        line = raw.strip()
        if not line:
            continue
        starts = _DELIMITER.match(line) or _SENT_FROM.match(line) or _CLOSER.match(line)
        if seen_text and starts and signature_ok(lines[k] for k in range(index, len(lines))):
            return index
        seen_text = True
    return None
