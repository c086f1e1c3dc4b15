"""Leading salutation lines ("Hallo Support-Team,", "Dear Sir or Madam,", "Hi there,").

They say nothing about the topic, and since nearly every mail has one they only add noise to the
classifier. Conservative on purpose: a line goes only when it is a whole salutation, i.e. a
greeting word followed by nothing but an addressee (capitalised names, "Damen und Herren",
"team", "zusammen" ...). "Hi, my printer is broken" keeps its line, as does a mail that is
nothing but "Hello". German and English.
"""

from __future__ import annotations

import re

_MAX_LINES = 2  # "Dear Team,\n\nHello\n\n..." has two
_MAX_ADDRESSEE = 6
_MAX_BARE_ADDRESSEE = 3  # without closing punctuation, "Hello I Need Help" must not pass as one
_MAX_FREE_ADDRESSEE = 2  # "Hallo ihr Lieben,", "Hello my friend,": any words when short and closed
_OPENER = re.compile(
    r"^(?:hi|hello|hey|hiya|dear|greetings|good (?:morning|afternoon|evening|day)"
    r"|hallo|hall(?:ö|oe)chen|liebe[rs]?|sehr geehrte[rs]?|geehrte[rs]?|guten (?:tag|morgen|abend)"
    r"|moin(?: moin)?|servus|gr(?:ü|ue)(?:ß|ss) (?:gott|dich|euch)|gr(?:ü|ue)ezi|tag)(?=$|[\s,!.:;])",
    re.IGNORECASE,
)
# lower-case words an addressee may contain; capitalised words (names, German nouns) pass anyway
_ADDRESSEE_WORDS = frozenset(
    {"all", "everyone", "everybody", "folks", "there", "team", "guys", "sir", "madam", "or", "and", "the"}
    | {"support", "customer", "service", "mr", "mrs", "ms", "dr", "prof", "von", "van", "de", "der", "den"}
    | {"zusammen", "miteinander", "allerseits", "leute", "und", "oder", "damen", "herren", "frau", "herr"}
    | {"liebe", "lieber", "liebes", "geehrte", "geehrter", "zu"}
)
_NAME = re.compile(r"^[A-ZÄÖÜ][^\W\d_]*(?:[-'’.][^\W\d_]+)*\.?$")
_CLOSING = ",!.:;"
# closers that start like a greeting: "Liebe Grüße", "Lieben Gruß"
_NOT_A_GREETING = re.compile(r"gr(?:ü|ue)(?:ß|ss)|gruss|regards|wishes", re.IGNORECASE)


def is_greeting(line: str) -> bool:
    """True when ``line`` is a salutation and nothing else."""
    line = line.strip()
    opener = _OPENER.match(line)
    if not opener or _NOT_A_GREETING.search(line[opener.end() :]):
        return False
    words = line[opener.end() :].replace(",", " ").strip().rstrip(_CLOSING).split()
    closed = line.endswith((",", "!"))
    if len(words) > _MAX_ADDRESSEE or (not closed and len(words) > _MAX_BARE_ADDRESSEE):
        return False
    if closed and len(words) <= _MAX_FREE_ADDRESSEE:
        return True
    return all(
        word.lower().rstrip(".") in _ADDRESSEE_WORDS or (_NAME.match(word) and word != "I") for word in words
    )


def strip_greeting(lines: list[str]) -> list[str]:
    """``lines`` without leading salutation lines; unchanged when nothing else would be left."""
    index, removed = 0, 0
    while index < len(lines) and removed < _MAX_LINES:
        if not lines[index].strip():
            index += 1
        elif is_greeting(lines[index]):
            index += 1
            removed += 1
        else:
            break
    rest = lines[index:]
    return rest if removed and any(line.strip() for line in rest) else lines
