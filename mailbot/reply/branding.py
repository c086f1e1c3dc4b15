"""What a client's mails look like without a template of its own: the checks on `[branding]` values.

Branding values are operator configuration, not customer text, but they still end up inside HTML
(a colour in a ``style`` attribute, lines in paragraphs), so they are held to shapes that cannot
carry markup: a colour is exactly ``#rgb`` or ``#rrggbb`` (no ``;``, quote, bracket or word that
could open a second CSS declaration or close the attribute), lines are one line each without control
characters. The templates autoescape them as well; the checks make a wrong value a configuration
error at start-up instead of a strange mail.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

DEFAULT_ACCENT = "#2f6feb"  # the blue of today's article quote: the default reproduces today's mails
MAX_LINES = 8
MAX_LINE_CHARS = 200
_HEX_COLOUR = re.compile(r"#(?:[0-9a-f]{3}|[0-9a-f]{6})")
# C0/C1 controls, DEL, line and paragraph separators, bidi and zero-width format characters
_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]")


def accent_colour(value: str) -> str:
    """`value` as a lower-case ``#rrggbb``/``#rgb`` colour; ValueError for anything else."""
    colour = value.lower() if isinstance(value, str) else value
    if not isinstance(colour, str) or not _HEX_COLOUR.fullmatch(colour):
        raise ValueError(
            f'{value!r} is not a colour like "#0a7d4f": write # and 3 or 6 hex digits (no names, '
            "no rgb(), nothing after the digits)"
        )
    return colour


def text_on(colour: str) -> str:
    """Dark or white text, whichever reads better on `colour` (WCAG relative luminance)."""
    digits = colour.removeprefix("#")
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)

    def linear(channel: str) -> float:
        value = int(channel, 16) / 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(digits[i : i + 2]) for i in (0, 2, 4))
    luminance = 0.2126 * red + 0.7152 * green + 0.0722 * blue
    # contrast against white (1.05 / (L + 0.05)) vs against #1f2328 (L ~ 0.016): pick the larger
    return "#ffffff" if 1.05 / (luminance + 0.05) >= (luminance + 0.05) / 0.066 else "#1f2328"


def brand_lines(value: str | Sequence[str], what: str) -> list[str]:
    """Lines of a signature or footer: a string is one line; each line one line of plain text."""
    lines = [value] if isinstance(value, str) else list(value)
    if len(lines) > MAX_LINES:
        raise ValueError(f"{what}: at most {MAX_LINES} lines, got {len(lines)}")
    cleaned = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, str):
            raise ValueError(f"{what}: line {number} is not text")
        bad = _FORBIDDEN.search(line)
        if bad:
            raise ValueError(
                f"{what}: line {number} contains the control character {bad.group()!r}; "
                "write one list entry per line instead of line breaks"
            )
        if len(line) > MAX_LINE_CHARS:
            raise ValueError(f"{what}: line {number} is longer than {MAX_LINE_CHARS} characters")
        cleaned.append(line.strip())
    return cleaned
