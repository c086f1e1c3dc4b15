"""Text normalisation shared by training and prediction, so both see the same characters.

`normalise_mapped` gives the same text and remembers where each character came from, so a phrase
found in the normalised text ("none of our 0 drivers") can be quoted in the customer's own words
("None of our 40 drivers").

What a mail can make the classifier read is bounded: the opening `MAX_BODY_CHARS` of the body and
`MAX_SUBJECT_CHARS` of the subject (a mail names its topic at the start; Exim accepts a 1 MB
subject), and every pattern here is linear in its input, so no sender can hold the worker up.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mailbot.reply.subject import bare_subject

MAX_SUBJECT_CHARS = 300  # beyond a few hundred characters a subject names no topic
MAX_BODY_CHARS = 20_000  # the opening of a mail says what it is about; the rest only costs time

_URL = re.compile(r"https?://\S+|www\.\S+")
# tried at the start of a token only: `\S+@\S+` tried every position of a token without "@" and
# scanned to its end each time (quadratic: a 1 MB subject took over ten minutes)
_EMAIL = re.compile(r"(?<!\S)\S+@\S+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case NFKC text with URLs, addresses and numbers reduced to placeholders.

    Umlauts stay (character n-grams learn "ü" and "ue" as neighbours from the examples); only the
    noise that differs from mail to mail without changing the topic is flattened.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" url ", text)
    text = _EMAIL.sub(" email ", text)
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class MappedText:
    """A normalised `text` and, per character, the span of `original` it stands for."""

    text: str
    original: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def original_span(self, start: int, end: int) -> str:
        """The original characters behind `text[start:end]`."""
        if start >= end:
            return ""
        return self.original[self.starts[start] : self.ends[end - 1]]

    def __add__(self, other: MappedText) -> MappedText:
        shift = len(self.original)
        return MappedText(
            self.text + other.text,
            self.original + other.original,
            self.starts + tuple(start + shift for start in other.starts),
            self.ends + tuple(end + shift for end in other.ends),
        )


def identity(text: str) -> MappedText:
    return MappedText(text, text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))


def normalise_mapped(text: str) -> MappedText:
    """`normalise(text)` with the original span of every character (always the same text).

    NFKC and case folding run per base character with its combining marks; in the rare text where
    that differs from folding the whole (Hangul syllables from jamo, a few Indic vowel signs), the
    map starts from the folded text, so a quote is then lower-case (with its numbers and addresses).
    """
    mapped = _folded(text)
    for pattern, replacement in ((_URL, " url "), (_EMAIL, " email "), (_DIGITS, "0"), (_SPACE, " ")):
        mapped = _substitute(mapped, pattern, replacement)
    text, starts, ends = mapped.text, mapped.starts, mapped.ends
    first, end = len(text) - len(text.lstrip()), len(text.rstrip())
    return MappedText(text[first:end], mapped.original, starts[first:end], ends[first:end])


def _folded(text: str) -> MappedText:
    whole = unicodedata.normalize("NFKC", text).casefold()
    chars: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    cluster = 0
    for index in range(1, len(text) + 1):
        if index < len(text) and unicodedata.combining(text[index]):
            continue  # a mark belongs to the cluster of its base character
        folded = unicodedata.normalize("NFKC", text[cluster:index]).casefold()
        chars.append(folded)
        starts += [cluster] * len(folded)
        ends += [index] * len(folded)
        cluster = index
    if "".join(chars) != whole:
        return identity(whole)
    return MappedText(whole, text, tuple(starts), tuple(ends))


def _substitute(mapped: MappedText, pattern: re.Pattern[str], replacement: str) -> MappedText:
    """`pattern.sub(replacement, ...)` on the text; each replacement stands for the whole match."""
    text, starts, ends = mapped.text, mapped.starts, mapped.ends
    out: list[str] = []
    out_starts: list[int] = []
    out_ends: list[int] = []
    done = 0
    for match in pattern.finditer(text):
        begin, end = match.span()
        out.append(text[done:begin])
        out_starts += starts[done:begin]
        out_ends += ends[done:begin]
        if begin < end:
            out.append(replacement)
            out_starts += [starts[begin]] * len(replacement)
            out_ends += [ends[end - 1]] * len(replacement)
        done = end
    out.append(text[done:])
    out_starts += starts[done:]
    out_ends += ends[done:]
    return MappedText("".join(out), mapped.original, tuple(out_starts), tuple(out_ends))


# subjects that name no topic: they add the same noise to every class
_GENERIC_SUBJECT_WORDS = frozenset(
    [
        "frage",
        "fragen",
        "anfrage",
        "kundenanfrage",
        "hilfe",
        "problem",
        "probleme",
        "support",
        "kontakt",
        "info",
        "information",
        "hallo",
        "dringend",
        "wichtig",
        "bitte",
        "ihre",
        "meine",
        "eine",
        "zu",
        "zur",
        "zum",
        "question",
        "questions",
        "request",
        "help",
        "issue",
        "problems",
        "contact",
        "hello",
        "hi",
        "urgent",
        "important",
        "please",
        "your",
        "my",
        "a",
        "an",
        "the",
        "about",
    ]
)


def classification_text(subject: str, body: str) -> str:
    """What the classifier reads of a mail: its body, plus the subject when that adds a topic.

    Reply markers and ticket references are dropped; a subject of generic words only ("Frage",
    "Question") or one that just repeats the body's first words is left out, since it would weigh
    those words twice (measured on the CLINC150 e-mail cases in bench/quality.py). Only the opening
    of each is read (`MAX_SUBJECT_CHARS`, `MAX_BODY_CHARS`).
    """
    topic = normalise(bare_subject(subject[:MAX_SUBJECT_CHARS]))
    text = normalise(body[:MAX_BODY_CHARS])
    return f"{topic}\n{text}" if _adds_a_topic(topic, text) else text


def classification_mapped(subject: str, body: str) -> MappedText:
    """`classification_text` that can quote the customer's words (subject and body as written)."""
    topic = normalise_mapped(bare_subject(subject[:MAX_SUBJECT_CHARS]))
    text = normalise_mapped(body[:MAX_BODY_CHARS])
    if not _adds_a_topic(topic.text, text.text):
        return text
    return topic + MappedText("\n", "\n", (0,), (1,)) + text


def _adds_a_topic(topic: str, text: str) -> bool:
    words = topic.split()
    return bool(words) and not all(word in _GENERIC_SUBJECT_WORDS for word in words) and topic not in text
