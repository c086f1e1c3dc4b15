"""Does a customer's reply only say thanks, or that the problem is solved? ("Danke, hat geklappt!")

Pure and conservative, like `status_query`: a short reply counts only when it thanks or says the
matter is settled and nothing in it says otherwise. "danke, aber es geht immer noch nicht", a
question, "thanks in advance", a screenshot, a request ("bitte schicken Sie mir ..."): any of these
and it is not a closing mail, and the reply goes to the team as before. Missing a thank-you costs
the team one notice; taking a complaint for a thank-you would leave a customer without help, so
every doubt falls on the side of "not closing".
"""

from __future__ import annotations

import re

MAX_WORDS = 40  # thanks are short; a longer reply probably says more than thanks
MAX_CHARS = 2000  # forty words fit many times over; a longer text is not read (and costs no regex time)


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


_CLOSING = _any(
    # thanks
    r"\bdank(?:e|en|eschön|eschoen)?\b|\bvielen dank\b|\bherzlichen dank\b|\bmerci\b",
    r"\bthanks?\b|\bthank you\b|\bcheers\b|\bmuch appreciated\b",
    # it worked, it is solved
    r"\bhat (?:\w+ )?(?:geklappt|funktioniert|geholfen)\b|\b(?:klappt|funktioniert|geht) (?:jetzt|wieder)\b",
    r"\b(?:problem|fehler|anliegen|frage|sache) (?:ist |hat sich |wurde )?(?:\w+ )?"
    r"(?:gelöst|geloest|behoben|erledigt|geklärt|geklaert)\b",
    r"\bhat sich erledigt\b|\bist erledigt\b",
    r"\b(?:that|it|this) (?:\w+ )?(?:worked|helped|did the trick|fixed it)\b|\bworks (?:now|again|fine)\b",
    r"\b(?:solved|resolved|fixed|sorted)\b|\ball good\b",
)
# anything that says the matter is not settled, asks something or brings something new
_NOT_CLOSING = _any(
    r"\?",
    r"\baber\b|\bjedoch\b|\bleider\b|\bimmer noch\b|\bnoch immer\b|\bweiterhin\b|\bnach wie vor\b",
    r"\bnicht\b|\bnichts\b|\bkein(?:e|en|er|em)?\b|\btrotzdem\b|\berneut\b",
    r"\bnoch (?:eine|ein|etwas|was)\b|\bfrage\b|\bim voraus\b|\bvorab\b|\banbei\b|\bangehängt\b",
    r"\bbut\b|\bhowever\b|\bunfortunately\b|\bstill\b|\bnot\b|n't\b|\bno\b|\bnothing\b",
    r"\bin advance\b|\banother\b|\bone more\b|\bquestion\b|\battached\b|\bscreenshot",
)
# "bitte"/"please" asks for something: only asking to close the ticket keeps a reply a closing one
_REQUEST = _any(r"\bbitte\b|\bplease\b")
_CLOSE_IT = _any(
    r"\b(?:ticket|vorgang|anfrage|request|case|issue)\b.{0,30}\b(?:schließen|schliessen|zumachen|close)\b",
    r"\b(?:schließen|schliessen|close)\b.{0,30}\b(?:ticket|vorgang|anfrage|request|case|issue)\b",
)


def is_closing(body: str) -> bool:
    """True for a short reply that only thanks or says the matter is settled."""
    if len(body) > MAX_CHARS:
        return False
    words = re.findall(r"\w+", body)
    if not words or len(words) > MAX_WORDS:
        return False
    if not (_CLOSING.search(body) or _CLOSE_IT.search(body)) or _NOT_CLOSING.search(body):
        return False
    return not _REQUEST.search(body) or bool(_CLOSE_IT.search(body))
