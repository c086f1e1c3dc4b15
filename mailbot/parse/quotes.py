"""Quoted history that mail-parser-reply does not find on its own.

* ``>`` quoted lines after no reply header it knows: bottom posting, interleaved answers, hotmail's
  quoted "> From:" block, reply headers in other languages (Android: "... написал:").
* "-----Ursprüngliche Nachricht-----" and forward markers, which it does not treat as separators.

An attributed block ("... wrote:" just above it) with the sender's text above it is top posting
and everything from the attribution on is history. With nothing or only a salutation above
(bottom posting, interleaved answers) and for a block without attribution, only the quoted lines
and their attribution go, so answers written between quotes are kept.
"""

from __future__ import annotations

import re

_SHORT_WORDS = 6
_QUOTE = re.compile(r"^[ \t]*>")
_ATTRIBUTION_HINT = re.compile(
    r"@|\d{1,2}:\d{2}|\d{1,4}[./-]\d{1,2}[./-]\d{2,4}"
    r"|\b(?:wrote|schrieb|написал|a écrit|escribió|schreef|skrev)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(?:hi|hello|hallo|hey|dear|liebe[rs]?|sehr geehrte\w*|guten (?:tag|morgen|abend)|moin|servus)\b|.*,$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^[ \t]*-{2,}[ \t]*(?:original message|ursprüngliche nachricht|original-?nachricht"
    r"|forwarded message|weitergeleitete nachricht)[ \t]*-{2,}[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def _is_quote(line: str) -> bool:
    return bool(_QUOTE.match(line))


def _attribution_above(lines: list[str], start: int) -> list[int]:
    """Indexes of the "... wrote:" line(s) right above the quoted block starting at ``start``."""
    j = start - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    if j < 0 or _is_quote(lines[j]) or not lines[j].rstrip().endswith(":"):
        return []
    block = [j]
    while len(block) < 3 and j > 0:  # attribution lines wrapped by the sender's client
        prev = lines[j - 1]
        if not prev.strip() or _is_quote(prev) or prev.rstrip().endswith((".", "!", "?", ":")):
            break
        if not _ATTRIBUTION_HINT.search(prev):
            break
        j -= 1
        block.append(j)
    return block if _ATTRIBUTION_HINT.search(" ".join(lines[k] for k in block)) else []


def _quote_blocks(lines: list[str]) -> list[tuple[int, int, list[int]]]:
    """(first line, end, attribution line indexes) of each run of ``>`` lines."""
    blocks = []
    i = 0
    while i < len(lines):
        if not _is_quote(lines[i]):
            i += 1
            continue
        start = i
        while i < len(lines) and _is_quote(lines[i]):
            i += 1
        blocks.append((start, i, _attribution_above(lines, start)))
    return blocks


def _only_greeting(written: list[str], answer_follows: bool) -> bool:
    """True when nothing but a salutation precedes the quote and the answer follows it."""
    if not written:
        return True
    first = written[0]
    greeting = len(written) == 1 and len(first.split()) <= _SHORT_WORDS and bool(_GREETING.match(first))
    return greeting and answer_follows


def resolve_quotes(text: str) -> str:
    """Remove ``>`` quoted history and what precedes it as attribution (linear in lines)."""
    lines = text.split("\n")
    answer_after = [False] * (len(lines) + 1)  # an unquoted non-blank line at or after index i
    for i in range(len(lines) - 1, -1, -1):
        answer_after[i] = answer_after[i + 1] or bool(lines[i].strip() and not _is_quote(lines[i]))
    drop: set[int] = set()
    written: list[str] = []  # kept non-blank lines above the current block (two are enough)
    scanned = 0
    for start, end, attribution in _quote_blocks(lines):
        first = min(attribution, default=start)
        for line in lines[scanned:first]:
            if line.strip() and len(written) < 2:
                written.append(line.strip())
        if attribution and not _only_greeting(written, answer_after[end]):
            return "\n".join(line for k, line in enumerate(lines[:first]) if k not in drop)
        drop.update(range(start, end), attribution)
        scanned = end
    return "\n".join(line for k, line in enumerate(lines) if k not in drop)


def cut_at_separator(text: str) -> str:
    """Text above the first "-----Original Message-----"-style line."""
    separator = _SEPARATOR.search(text)
    return text[: separator.start()] if separator else text
