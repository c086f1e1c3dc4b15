"""Signature start, guarded so that a closer-looking sentence does not cut real text.

mail-parser-reply treats any line starting with a closer it lists ("Thanks,", "Best,", "Grüße")
as a signature running to the end of the mail, so "Thanks, but it still fails" followed by the
real question would lose the question. Here a closer counts only as a short line followed by a
short (name) line. "-- " delimiters and "Sent from my iPhone" lines count as they are. Closers
the library does not list are added ("Viele Grüße", "Freundliche Grüße", "LG", "Cheers", "Best
regards, Max", "Von meinem iPhone gesendet" ...). A lone "Thanks" as the very last line is the
customer's words, not a signature (as in the forge annotations).

Many signatures have no closer at all: a name after the last sentence, maybe with title, company
and phone lines under it ("Diane\\nx-37059"). ``name_block_start`` finds those: a paragraph that
starts with a name (or an address / phone number) and runs to the end in short lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice

_SHORT_WORDS = 6
_BLOCK_WORDS = 8  # a line of a name block: "1717 H Street NW * Washington, DC 20006"
_BLOCK_LINES = 10
_NAME_WORDS = 4
# no line of a signature block is longer; a longer one is text, and is not matched against _NAME, whose
# optional phone number may start anywhere in its last word (quadratic on a 100,000-letter "name")
_BLOCK_LINE_CHARS = 200
_SENT_FROM_WORDS = 8  # "Sent from my Verizon Wireless 4G LTE smartphone"
_ANSWERS = frozenset(  # one-word answers, not names
    {"yes", "no", "ok", "okay", "done", "sure", "fine", "great", "perfect", "super", "cool"}
    | {"ja", "nein", "klar", "gern", "gerne", "erledigt", "prima", "top", "passt", "danke", "bitte"}
)
_DELIMITER = re.compile(r"^(?:--|__|[-_]{32,})$")
_RULE = re.compile(r"^[-_=*~]{3,}$")
_LIST_ITEM = re.compile(r"^\s*[-–*•]")
_DETAIL = re.compile(r"\d{3}|@|www\.|https?://", re.IGNORECASE)
_SENT_FROM = re.compile(
    r"^(?:sent (?:from|with|via)|get outlook for|gesendet (?:von|mit|via)"
    r"|von meinem \w+(?: \w+)? gesendet)\b",
    re.IGNORECASE,
)
_NAME_TOKEN = r"(?:[A-ZÄÖÜ][^\W\d_]*(?:[-'’.][^\W\d_]+)*\.?)"
_NAMES = rf"(?-i:{_NAME_TOKEN}(?: {_NAME_TOKEN}){{0,2}})"
_THANKS = r"(?:thanks|thank you|many thanks|thanks again|danke|vielen dank|danke schön)"
_CLOSER = re.compile(
    # German greetings, optionally followed by a name: "Viele Grüße, Max", "MfG"
    r"^(?:mit )?(?:freundlich\w*|herzlich\w*|schön\w*|best\w*|lieb\w*|viel\w*|sonnig\w*)?\s?"
    r"(?:grü(?:ß|ss)\w*|gru(?:ß|ss)\w*)\b"
    r"|^(?:mfg|lg|vg|bg|cheers|sincerely|yours sincerely|yours truly|best wishes|all the best"
    r"|(?:kind|best|warm|warmest|many) regards|regards)\b(?:[,.!]?[ \t]*[\w .'-]{0,40})$"
    # thanks: alone on its line or with a name ("Thanks, the fix worked" is text)
    rf"|^(?:best|{_THANKS})\b[\s,.!]*$|^{_THANKS}[,.!]?[ \t]+{_NAMES}[.!]?$",
    re.IGNORECASE,
)
_LONE_THANKS = re.compile(rf"^{_THANKS}\b[\s,.!]*$", re.IGNORECASE)
_PHONE = (  # five digits at least: "Office 2019" is no phone number
    r"(?:(?i:tel|phone|fon|mobil|mobile|cell|fax)\.?:?[ \t]*)?(?:x-?)?"
    r"(?=(?:\D*\d){5})\+?[\d(][\d \t./()-]{3,}"
)
_NAME = re.compile(
    # "Erika Mustermann", "-John", "/John", "i. A. Max Müller", "Christian and Steve"
    rf"^(?i:i\. ?a\.|i\. ?v\.|ppa\.|pp\.)? ?[-–/]? ?{_NAME_TOKEN}"
    rf"(?:[ \t]+(?:{_NAME_TOKEN}|&|and|und|von|van|de|der|zu)){{0,{_NAME_WORDS - 1}}}[,.]?"
    rf"(?:[ \t]*[-–,;/]?[ \t]*{_PHONE}\.?)?$"  # "Barry Tycholiz - 713-853-1587."
)
_CONTACT = re.compile(rf"^(?:[\w.+-]+@[\w-]+(?:\.[\w-]+)+|{_PHONE})$")


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
    if _SENT_FROM.match(opening):  # "Sent from my desk, which is easier" is a sentence
        return len(opening.split()) <= _SENT_FROM_WORDS and "," not in opening
    if second is None and _LONE_THANKS.match(opening):
        return False
    if not _CLOSER.match(opening) and opening.endswith((".", "!", "?")):
        return False  # "Thanks, and talk to you soon." is a sentence
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


def _name(line: str) -> bool:
    """A name, not a one-word answer ("Done.", "Ja") or a lone "Thanks"."""
    words = line.rstrip(",.!").split()
    if len(words) == 1 and (line.endswith(".") or words[0].lower() in _ANSWERS):
        return False
    return bool(_NAME.match(line)) and not _LONE_THANKS.match(line)


def _block_line(line: str) -> bool:
    """A line that may stand in a signature block: short, and not a question or a sentence."""
    if len(line) > _BLOCK_LINE_CHARS:
        return False
    words = line.split()
    if _RULE.match(line) or _SENT_FROM.match(line) or _CONTACT.match(line):
        return True
    if len(words) > _BLOCK_WORDS or line.endswith(("?", "!", ":")):
        return False
    return not (line.endswith(".") and len(words) > _NAME_WORDS)


def _contact_detail(line: str) -> bool:
    """A line of the address part of a signature: a number, address, link, or a few words."""
    return bool(_RULE.match(line) or _SENT_FROM.match(line) or _DETAIL.search(line)) or len(line.split()) <= 3


def name_block_start(lines: list[str]) -> int | None:
    """Index of a trailing name block: the last paragraph start that is a name (or a contact line
    after a finished sentence), with short lines to the end, any further paragraphs only contact
    details, and above it text that does not end with ":" (an address the customer gives)."""
    written = [index for index, line in enumerate(lines) if line.strip()]
    below_contact = paragraph_contact = True
    for position in range(len(written) - 1, max(len(written) - _BLOCK_LINES, 1) - 1, -1):
        index, above = written[position], written[position - 1]
        line = lines[index].strip()
        if not _block_line(line):
            return None  # a sentence: no block can start above it
        paragraph_contact = paragraph_contact and _contact_detail(line)
        if above == index - 1:
            continue  # not the first line of a paragraph
        if (
            _LIST_ITEM.match(line)
            and position + 1 < len(written)
            and _LIST_ITEM.match(lines[written[position + 1]])
        ):
            return None  # "- Export bricht ab\n- Login dauert": a list, not a "-John" signature
        before = lines[above].rstrip()
        contact = _CONTACT.match(line) and before.endswith((".", "!", "?", ">", ")"))
        if below_contact and not before.endswith(":") and (_name(line) or contact):
            return index
        below_contact = below_contact and paragraph_contact
        paragraph_contact = True
    return None
