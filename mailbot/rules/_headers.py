"""Tiny header helpers shared by the predicates: plain string work, tolerant of any input."""

from __future__ import annotations

import re

from mailbot.domain import ParsedMail

_COMMENT = re.compile(r"\([^()]*\)")
_SPACE = re.compile(r"\s+")
_MAX_SHOWN = 80


def values(mail: ParsedMail, name: str) -> tuple[str, ...]:
    """Every value of a header (name compared case-insensitively, all occurrences)."""
    wanted = name.lower()
    return tuple(v for key, vs in mail.headers.items() if key.lower() == wanted for v in vs)


def strip_comments(value: str) -> str:
    """Remove RFC 5322 ``(comments)``, nested ones included."""
    previous = None
    while previous != value:
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def keyword(value: str) -> str:
    """The leading token of a structured value, lower-case, without comments or ``;`` parameters."""
    return strip_comments(value).split(";", 1)[0].strip().lower()


def local_part(address: str) -> str:
    """``Local`` of ``local@domain``; the whole string when there is no ``@`` (``MAILER-DAEMON``)."""
    address = address.strip()
    return address.rpartition("@")[0] if "@" in address else address


def shown(value: str) -> str:
    """A value fit for a one-line reason: control characters and runs of space collapsed, long cut."""
    text = _SPACE.sub(" ", "".join(c if c.isprintable() else " " for c in value)).strip()
    if not text:
        return "(empty)"
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


def title(name: str) -> str:
    """Conventional spelling of a header name for reasons: ``list-id`` -> ``List-Id``."""
    return "-".join(part.capitalize() for part in name.split("-"))
