"""Text a person wrote (an agent's `tickets reply` message, a Jira comment) for both parts of a mail.

It is plain text, never Markdown or template code, and both parts must show the same words in the
same paragraphs: `paragraph_blocks` splits it once, `paragraphs_to_html` and `paragraphs_to_text`
only dress the result. Line endings are normalised, trailing spaces go (so a "-- " line cannot
turn the rest into a signature in one part only), runs of blank lines become one paragraph break.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from mailbot.parse.greeting import is_greeting
from mailbot.parse.signature import signature_start

_PARAGRAPH_BREAK_RE = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


def paragraph_blocks(text: str | None) -> list[list[str]]:
    """Paragraphs (separated by blank lines) as lists of lines without trailing white space."""
    if not text:
        return []
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    blocks = []
    for block in _PARAGRAPH_BREAK_RE.split(text):
        if block.strip():
            blocks.append([line.rstrip() for line in block.split("\n")])
    return blocks


def paragraphs_to_html(text: str | None) -> Markup:
    """Escaped; blank lines separate ``<p>`` paragraphs, single line breaks become ``<br>``."""
    paragraphs = [
        Markup("<p>") + Markup("<br>\n").join(escape(line) for line in lines) + Markup("</p>")
        for lines in paragraph_blocks(text)
    ]
    return Markup("\n").join(paragraphs)


def paragraphs_to_text(text: str | None) -> str:
    """The same paragraphs and line breaks as `paragraphs_to_html`, as plain text."""
    return "\n\n".join("\n".join(lines) for lines in paragraph_blocks(text))


def opens_with_greeting(text: str | None) -> bool:
    """The message starts with its own salutation ("Hallo Frau Müller,"), so the mail adds none."""
    blocks = paragraph_blocks(text)
    return bool(blocks) and is_greeting(blocks[0][0])


def closes_itself(text: str | None) -> bool:
    """The message ends with its own closing ("Viele Grüße\\nKatrin"), so the mail adds none."""
    lines = "\n\n".join("\n".join(block) for block in paragraph_blocks(text)).split("\n")
    return signature_start(lines) is not None
