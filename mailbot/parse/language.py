"""German or English, decided with lingua on the customer's own words.

lingua restricted to the two languages mailbot answers in is accurate on short texts, but a
greeting or a single word ("Hallo", "ok") is still a coin toss: below ``MIN_WORDS`` words or
``MIN_CONFIDENCE`` the subject is added, and if that does not settle it either, the mailbox's
default language wins. The detector is built once, on first use, and shared; its models are
read right then (~0.4-0.8 s; lingua would read them at the first detection) so that the scratch
memory of reading them (~48 MB) goes back to the system at once (mailbot.heap).
"""

from __future__ import annotations

import re
from functools import cache

from lingua import Language as LinguaLanguage
from lingua import LanguageDetector, LanguageDetectorBuilder

from mailbot.domain import Language
from mailbot.heap import release_free_heap

MIN_WORDS = 3
MIN_CONFIDENCE = 0.7
MAX_CHARS = 2000  # the opening of a mail decides; more only costs time
WARM_UP = "Guten Tag, ich habe eine Frage. Hello, I have a question."  # words of five letters and more

WORD = re.compile(r"[^\W\d_]{2,}")
_NOISE = re.compile(r"://|www\.|@|\d|::|[/\\_=&#<>|{}\[\]~^*+]")
_TO_DOMAIN = {LinguaLanguage.GERMAN: Language.DE, LinguaLanguage.ENGLISH: Language.EN}


@cache
def detector() -> LanguageDetector:
    detector = LanguageDetectorBuilder.from_languages(LinguaLanguage.GERMAN, LinguaLanguage.ENGLISH).build()
    detector.compute_language_confidence_values(WARM_UP)  # reads every n-gram model of both languages
    release_free_heap()
    return detector


def prose(text: str) -> str:
    """Words only: URLs, addresses, paths and code identifiers skew lingua's n-grams."""
    return " ".join(token for token in text[: MAX_CHARS * 2].split() if not _NOISE.search(token))[:MAX_CHARS]


def _confident(text: str) -> Language | None:
    text = prose(text)
    if len(WORD.findall(text)) < MIN_WORDS:
        return None
    values = detector().compute_language_confidence_values(text)
    if not values or values[0].value < MIN_CONFIDENCE:
        return None
    return _TO_DOMAIN.get(values[0].language)


def detect_language(body: str, subject: str = "", default: Language = Language.EN) -> Language:
    """The language of ``body``; falls back to subject + body, then to ``default``."""
    return _confident(body) or _confident(f"{subject}\n{body}") or default
