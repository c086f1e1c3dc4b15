"""Does a customer's mail only ask where their request stands? ("Status?", "Gibt es Neuigkeiten?")

Pure and conservative: only short mails whose words are about the state of the request count; a
reply that adds information ("still crashes, here is a screenshot") goes to the team as usual.

Two strengths. `is_status_request` reads a reply *in a ticket's thread*, where "Wann wird das
behoben?" can only mean that ticket. `asks_for_news` reads a mail *without* a reference: there
"Wann kann ich kündigen?" is a new question, so only words that ask for news of something already
reported count ("Wie ist der Stand?", "Any update on my request?").
"""

from __future__ import annotations

import re

MAX_WORDS = 25  # a status question is short; anything longer probably carries news for the team
MAX_CHARS = 1000  # twenty-five words fit many times over; a longer text is not read

_NEWS_PATTERNS = [
    r"^\W*(?:status|stand|update|neuigkeiten|news)\W*$",  # the whole mail is one word: "Status?"
    r"\b(?:wie|was) (?:ist|sieht) (?:es mit )?(?:der|den|dem) (?:aktuelle[nm]? )?(?:stand|status)\b",
    r"\bstand der dinge\b",
    r"\bneuigkeiten\b",
    r"\bgibt es (?:schon )?(?:etwas|was) neues\b",
    r"\bschon (?:etwas|was) (?:passiert|bekannt|herausgefunden)\b",
    r"\bany (?:news|update|updates|progress)\b",
    r"\bupdate on (?:my|this|the|our)\b",
    r"\bwhat(?:'s| is) the (?:status|state)\b",
    r"\b(?:status|state) of (?:my|our|the) (?:request|ticket|issue|case|report|enquiry|inquiry)\b",
    r"\bhear (?:anything|back)\b",
]
_THREAD_PATTERNS = [
    r"\bstatus\b",
    r"\bstand\b",
    r"\bwie (?:sieht|steht) es\b",
    r"\bwann (?:kann ich|können wir|bekomme ich|ist|wird)\b",
    r"\bhow (?:is it going|are things)\b",
    r"\bwhen (?:will|can|do)\b",
]
_NEWS = re.compile("|".join(_NEWS_PATTERNS), re.IGNORECASE)
_STATUS = re.compile("|".join(_NEWS_PATTERNS + _THREAD_PATTERNS), re.IGNORECASE)


def _short(body: str) -> bool:
    if len(body) > MAX_CHARS:
        return False
    words = re.findall(r"\w+", body)
    return 0 < len(words) <= MAX_WORDS


def is_status_request(body: str) -> bool:
    """A reply in a ticket's thread that only asks where the ticket stands."""
    return _short(body) and bool(_STATUS.search(body))


def asks_for_news(body: str) -> bool:
    """A mail without a reference that only asks for news of a request already made."""
    return _short(body) and bool(_NEWS.search(body.strip()))
