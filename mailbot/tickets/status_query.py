"""Does a customer's reply only ask where the ticket stands? ("Status?", "Gibt es Neuigkeiten?")

Pure and conservative: only short mails whose words are about the state of the request count; a
reply that adds information ("still crashes, here is a screenshot") goes to the team as usual.
"""

from __future__ import annotations

import re

MAX_WORDS = 25  # a status question is short; anything longer probably carries news for the team

_PATTERNS = [
    r"\bstatus\b",
    r"\bstand\b",
    r"\bneuigkeiten\b",
    r"\bwie (?:sieht|steht) es\b",
    r"\bwann (?:kann ich|können wir|bekomme ich|ist|wird)\b",
    r"\bschon (?:etwas|was) (?:passiert|bekannt)\b",
    r"\bgibt es (?:schon )?(?:etwas|was) neues\b",
    r"\bany (?:news|update|updates|progress)\b",
    r"\bupdate on\b",
    r"\bwhat(?:'s| is) the (?:status|state)\b",
    r"\bhow (?:is it going|are things)\b",
    r"\bwhen (?:will|can|do)\b",
    r"\bhear (?:anything|back)\b",
]
_STATUS = re.compile("|".join(_PATTERNS), re.IGNORECASE)


def is_status_request(body: str) -> bool:
    words = re.findall(r"\w+", body)
    if not words or len(words) > MAX_WORDS:
        return False
    return bool(_STATUS.search(body))
