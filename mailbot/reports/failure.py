"""Does a customer's follow-up say that our automatic answer failed? ("hilft nicht", "still not working")

An automatic answer counts as a resolution only when no failure signal follows it (issue 14), so this
detector decides the automation figures a client sees. It is pure and conservative, like
`mailbot.tickets.closing`: a false signal makes a good article look bad and a missed one flatters the
bot, and the customer who meant it is not harmed by either (a follow-up goes to the team anyway). So a
phrase counts only when it clearly speaks of the answer: a negated "helped / solved / answered", "it
still ...", "I already tried that", "that was not my question", or a request for a person. A new fault
report in the present tense ("die App stürzt ab", "I can't log in") is no signal by itself: whether it
is the same question again is decided by the caller's classifier (`same_article_again`).

The table `SIGNALS` is read top to bottom, NEGATIVE rows before HUMAN rows; the first row that matches
wins and its matched phrase is the evidence. Matching runs on a folded copy of the text (lower case,
ä/ae, ö/oe, ü/ue, ß/ss, one space for any run of white space, typographic apostrophes straightened), and
the evidence is cut from the original text. Word windows (`_gap`) cross neither punctuation nor words
that start a new clause ("ob", "dass", "if", "but"), so in "Ich weiß nicht, ob ich mich bedanken darf,
aber es hat geholfen" the "nicht" never reaches "geholfen". Every repetition is bounded and only the
first MAX_CHARS characters are read, so a huge body costs no regex time.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from mailbot.reports.failure_patterns import SIGNALS, FailureKind
from mailbot.tickets.closing import is_closing

MAX_CHARS = 2000  # a follow-up says what went wrong near its top; the rest is not read
MAX_EVIDENCE = 80
REPEAT_EVIDENCE = "same article as the automatic answer"  # fixed words: no customer text


@dataclass(frozen=True)
class FailureSignal:
    kind: FailureKind
    evidence: str  # the matched phrase, at most MAX_EVIDENCE characters; no other customer text


_PRAISE = re.compile(r"\b(?:ohne (?:sie|ihre\w*|ihr|euch|eure\w*|dich|deine\w*)|without (?:you|your))\b")
_SENTENCE_END = re.compile(r"[.!?;\n]")

_FOLD = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "’": "'", "‘": "'", "´": "'", "`": "'", "ʼ": "'"}
)


def fold(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each of its characters, the index of the character it came from."""
    out: list[str] = []
    origin: list[int] = []
    space = False
    for i, char in enumerate(text):
        if char.isspace():
            if not space and out:
                out.append(" ")
                origin.append(i)
            space = True
            continue
        space = False
        for folded in char.lower().translate(_FOLD):
            out.append(folded)
            origin.append(i)
    if out and out[-1] == " ":
        out.pop()
        origin.pop()
    return "".join(out), origin


def _praised(folded: str, start: int, end: int) -> bool:
    before = [m.end() for m in _SENTENCE_END.finditer(folded, 0, start)]
    after = _SENTENCE_END.search(folded, end)
    sentence = folded[before[-1] if before else 0 : after.start() if after else len(folded)]
    return bool(_PRAISE.search(sentence))


def _evidence(text: str, origin: list[int], start: int, end: int) -> str:
    phrase = " ".join(text[origin[start] : origin[end - 1] + 1].split())
    return phrase[:MAX_EVIDENCE]


def failure_signal(body: str, *, same_article_again: bool = False) -> FailureSignal | None:
    """The failure the follow-up `body` reports about the automatic answer, or None.

    `body` has its quoted history and signature stripped (as `mailbot.parse` gives it).
    `same_article_again` says the caller's classifier put the follow-up on the article that was sent:
    that is a REPEAT unless the reply only thanks. NEGATIVE is reported before HUMAN before REPEAT.
    """
    text = unicodedata.normalize("NFC", body[:MAX_CHARS])
    folded, origin = fold(text)
    if not folded:
        return None
    for row in SIGNALS:
        for match in row.pattern.finditer(folded):
            if match.end() == match.start():
                continue
            if row.kind is FailureKind.NEGATIVE and _praised(folded, match.start(), match.end()):
                continue
            return FailureSignal(row.kind, _evidence(text, origin, match.start(), match.end()))
    if same_article_again and not is_closing(body):
        return FailureSignal(FailureKind.REPEAT, REPEAT_EVIDENCE)
    return None
