"""Tiny header helpers shared by the predicates: plain string work, tolerant of any input."""

from __future__ import annotations

import re

from mailbot.domain import ParsedMail

_PAREN = re.compile(r"[()]")
_SPACE = re.compile(r"\s+")
_MAX_SHOWN = 80


def values(mail: ParsedMail, name: str) -> tuple[str, ...]:
    """Every value of a header (name compared case-insensitively, all occurrences)."""
    wanted = name.lower()
    return tuple(v for key, vs in mail.headers.items() if key.lower() == wanted for v in vs)


def strip_comments(value: str) -> str:
    """Remove RFC 5322 ``(comments)``, nested ones included, each outermost one becoming a space; an
    unbalanced parenthesis stays.

    One pass with a stack of open parentheses: removing the innermost comment until none is left
    took one pass per level (quadratic on a 1 MB header of nested parentheses).
    """
    opened: list[int] = []
    comments: list[tuple[int, int]] = []  # outermost closed comments so far, in order
    for paren in _PAREN.finditer(value):
        if paren.group() == "(":
            opened.append(paren.start())
        elif opened:
            start = opened.pop()
            while comments and comments[-1][0] > start:  # comments nested in this one
                comments.pop()
            comments.append((start, paren.end()))
    pieces, done = [], 0
    for start, end in comments:
        pieces += [value[done:start], " "]
        done = end
    return "".join([*pieces, value[done:]])


def keyword(value: str) -> str:
    """The leading token of a structured value, lower-case, without comments or ``;`` parameters."""
    return strip_comments(value).split(";", 1)[0].strip().lower()


def local_part(address: str) -> str:
    """``Local`` of ``local@domain``; the whole string when there is no ``@`` (``MAILER-DAEMON``)."""
    address = address.strip()
    return address.rpartition("@")[0] if "@" in address else address


def shown(value: str) -> str:
    """A value fit for a one-line reason: control characters and runs of space collapsed, long cut."""
    opening = value[: _MAX_SHOWN * 8]  # what can be shown of a 1 MB header, and no regex time on the rest
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in opening)).strip()
    if not text:
        return "(empty)"
    return text if len(text) <= _MAX_SHOWN and len(value) <= len(opening) else text[: _MAX_SHOWN - 1] + "…"


def title(name: str) -> str:
    """Conventional spelling of a header name for reasons: ``list-id`` -> ``List-Id``."""
    return "-".join(part.capitalize() for part in name.split("-"))
