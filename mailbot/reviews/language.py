"""The language a review is written in: German, English, another one, or too short to tell.

The stores say nothing reliable about it (Apple's territory is a storefront, Google's reviewerLanguage the
device's setting), so the text decides. mailbot's mail detector knows only German and English, which turns a
French review into "English, not sure". Reviews are short and come in any language, so a second, cheap
detector over the languages app reviews are commonly written in (lingua's low-accuracy mode: ~30 MB and
milliseconds, where the accurate mode over 15 languages took 310 MB) says when a text is something else.
The cheap one errs on short German (it read "Super App, bin total zufrieden!" as Dutch), so it overrules a
German/English reading only when that reading is unsure, or when the cheap detector gives our language
almost nothing. A wrong "other" costs a person's look; a wrong "ours" a draft a person reads first.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from lingua import Language as LinguaLanguage
from lingua import LanguageDetector, LanguageDetectorBuilder

from mailbot.domain import Language
from mailbot.parse.language import MIN_WORDS, WORD, detector, prose

OTHER_AT_LEAST = 0.5  # the cheap detector's value for another language before it counts at all
OURS_SURE = 0.93  # the accurate detector's value for German/English that the cheap one cannot overrule ...
OURS_SEEN = 0.1  # ... as long as the cheap one gives that language at least this much
SHORT_OTHER = 0.95  # a text of one or two words is another language only when the cheap detector is sure
SHORT_OURS = 0.9  # ... and German or English (not certain) when the accurate one is this sure
_COMMON = (
    LinguaLanguage.GERMAN,
    LinguaLanguage.ENGLISH,
    LinguaLanguage.FRENCH,
    LinguaLanguage.SPANISH,
    LinguaLanguage.ITALIAN,
    LinguaLanguage.DUTCH,
    LinguaLanguage.PORTUGUESE,
    LinguaLanguage.POLISH,
    LinguaLanguage.TURKISH,
    LinguaLanguage.RUSSIAN,
    LinguaLanguage.UKRAINIAN,
    LinguaLanguage.SWEDISH,
    LinguaLanguage.DANISH,
    LinguaLanguage.CZECH,
    LinguaLanguage.ARABIC,
    LinguaLanguage.CHINESE,
    LinguaLanguage.JAPANESE,
    LinguaLanguage.KOREAN,
)
_OURS = {LinguaLanguage.GERMAN: Language.DE, LinguaLanguage.ENGLISH: Language.EN}


@dataclass(frozen=True)
class ReviewLanguage:
    language: Language | None  # None: written in a language mailbot does not write
    certain: bool  # False: too short to tell; `language` is then the client's default
    seen: str = ""  # the other language's name, for the person who decides


@cache
def _common_detector() -> LanguageDetector:
    return LanguageDetectorBuilder.from_languages(*_COMMON).with_low_accuracy_mode().build()


def review_language(title: str, body: str, default: Language) -> ReviewLanguage:
    text = prose(f"{title}\n{body}".strip())
    common = {v.language: v.value for v in _common_detector().compute_language_confidence_values(text)}
    others = ((lang, v) for lang, v in common.items() if lang not in _OURS)
    other, value = max(others, key=lambda lv: lv[1], default=(None, 0.0))
    if not text:
        return ReviewLanguage(default, False)
    best = detector().compute_language_confidence_values(text)[0]
    if len(WORD.findall(text)) < MIN_WORDS:  # "Top!", "👍", "Très bien": a guess at most
        if other is not None and value >= SHORT_OTHER:
            return ReviewLanguage(None, True, other.name.title())
        return ReviewLanguage(_OURS[best.language] if best.value >= SHORT_OURS else default, False)
    ours = _OURS[best.language]
    seen_ours = common.get(best.language, 0.0)
    overruled = value >= OTHER_AT_LEAST and value > seen_ours
    if other is not None and overruled and not (best.value >= OURS_SURE and seen_ours >= OURS_SEEN):
        return ReviewLanguage(None, True, other.name.title())
    return ReviewLanguage(ours, True)
