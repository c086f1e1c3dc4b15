"""Ticket references in subject lines.

The subject reference ``[MB-000123]`` is the fallback when a customer's mail client drops the
threading headers, so every reply carries exactly one, and a long thread must not pile up
``Re: AW: WG:`` chains or duplicate references.
"""

from __future__ import annotations

import re
from itertools import islice

from mailbot.header_text import one_line

__all__ = ["bare_subject", "find_references", "format_reference", "one_line", "reply_subject"]

_PREFIX_RE = re.compile(r"[A-Za-z][A-Za-z0-9]{0,15}")
_REFERENCE_RE = re.compile(r"([A-Za-z][A-Za-z0-9]{0,15})-([0-9]{1,12})")
MAX_NUMBER = 10**12 - 1
# Only the opening of a subject is read (a topic is named in its first words; Exim accepts 1 MB), and
# the topic we write back is cut to what a mail client shows, so an answer's subject stays a line.
SUBJECT_SCAN_CHARS = 2000
MAX_TOPIC_CHARS = 200
MAX_REFERENCES_READ = 10  # each one costs a database lookup; nobody means more tickets in one subject

# Reply/forward markers of common de/en clients: "Re:", "AW:", "Antw:", "WG:", "Fwd:", "Fw:",
# counted forms such as "Re[2]:" or "Re(2):", and the full-width colon some clients write.
_REPLY_MARKER_RE = re.compile(
    r"(?:re|aw|antw(?:ort)?|wg|fwd?)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*",
    re.IGNORECASE | re.ASCII,
)
# A separator that only served a removed reference: "[MB-000012] - Problem", "[MB-000012]: Problem",
# "Problem – [MB-000012]", as helpdesks and agents write them. A dash inside the topic stays.
_BEFORE_REFERENCE = r"(?:(?<=\s)[-–—|]\s*)?"
_AFTER_REFERENCE = r"(?:\s*[-–—|:](?=\s|$))?"
_SEPARATORS = "-–—|"  # a dangling one: "Problem -" would lose its dash at the next reply


def format_reference(prefix: str, number: int) -> str:
    """``("MB", 123) -> "MB-000123"``: six digits at least, so references sort and read alike."""
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"invalid ticket reference prefix {prefix!r}: use 1-16 letters/digits, e.g. 'MB'")
    if isinstance(number, bool) or not 0 <= number <= MAX_NUMBER:
        raise ValueError(f"ticket number {number!r} out of range 0..{MAX_NUMBER}")
    return f"{prefix}-{number:06d}"


def _reference_pattern(prefix: str) -> re.Pattern[str]:
    # re.ASCII: only ASCII digits and ASCII case folding (no Kelvin sign matching "K").
    return re.compile(r"\[" + re.escape(prefix) + r"-([0-9]{1,12})\]", re.IGNORECASE | re.ASCII)


def _without(references: str, text: str) -> str:
    """The topic of subject `text`: one line without the bracketed `references` (a pattern) and their
    separators, reply markers and a dangling separator, at most `MAX_TOPIC_CHARS` long."""
    pattern = re.compile(_BEFORE_REFERENCE + references + _AFTER_REFERENCE, re.IGNORECASE | re.ASCII)
    return _shortened(_topic(" ".join(pattern.sub(" ", one_line(text[:SUBJECT_SCAN_CHARS])).split())))


def _topic(text: str) -> str:
    """`text` (single-spaced) without leading reply markers and a trailing lone separator, until
    neither is left; by moving two indexes, so that "Re: " a million times is one pass."""
    start, end = 0, len(text)
    while True:
        if start < end and (marker := _REPLY_MARKER_RE.match(text, start, end)) and marker.end() > start:
            start = marker.end()
        elif start < end and text[end - 1] in _SEPARATORS and (end - 1 == start or text[end - 2].isspace()):
            end = max(start, end - 2)
        else:
            return text[start:end]


def _shortened(topic: str) -> str:
    """`topic` cut after a word to at most `MAX_TOPIC_CHARS`, marked with "…"; a topic cut once is
    not cut again, so a reply to our reply keeps its subject."""
    if len(topic) <= MAX_TOPIC_CHARS:
        return topic
    cut = topic[: MAX_TOPIC_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_TOPIC_CHARS // 2 else cut).rstrip() + "…"


def find_references(subject: str, prefix: str) -> tuple[int, ...]:
    """Numbers of every bracketed ``[PREFIX-digits]`` in `subject`, in order of appearance.

    Brackets are required so that "MB-2024 Planung" is not mistaken for a ticket. Duplicates are
    kept: the caller decides what several references mean. At most `MAX_REFERENCES_READ`, from the
    first `SUBJECT_SCAN_CHARS` characters.
    """
    if not _PREFIX_RE.fullmatch(prefix):
        raise ValueError(f"invalid ticket reference prefix {prefix!r}")
    found = _reference_pattern(prefix).finditer(subject[:SUBJECT_SCAN_CHARS])
    return tuple(int(m.group(1)) for m in islice(found, MAX_REFERENCES_READ))


def bare_subject(subject: str) -> str:
    """The subject without reply/forward markers and bracketed ticket references of any prefix."""
    return _without(rf"\[{_REFERENCE_RE.pattern}\]", subject)


def reply_subject(original: str, reference: str, fallback: str = "Support") -> str:
    """``"Re: <clean original> [MB-000123]"`` for a reply in the ticket `reference`.

    Strips leading reply/forward markers (also behind a leading reference) and every reference
    with the same prefix, wherever it stands: a mail belongs to one ticket, and a subject that
    names an older ticket too would make the next follow-up ambiguous. `fallback` stands in for
    an empty subject; the templates pass a phrase in the customer's language.
    """
    match = _REFERENCE_RE.fullmatch(reference)
    if not match:
        raise ValueError(f"invalid ticket reference {reference!r}: expected e.g. 'MB-000123'")
    prefix = match.group(1)
    text = _without(_reference_pattern(prefix).pattern, original) or one_line(fallback)
    return " ".join(("Re:", text, f"[{reference}]")) if text else f"Re: [{reference}]"
