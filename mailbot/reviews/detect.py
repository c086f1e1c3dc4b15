"""What a store review says, as named German/English detectors that each return *why* they fired.

A review is not a mail: it is short, public, often angry and written for other users, not for us. The
decision table (`mailbot.reviews.decide`) needs a handful of facts that the article classifier and the
severity guess cannot give: is it praise, a bug or a payment fault, a refund demand, a legal threat, an
insult, a question? Each detector is one small predicate over the review's title and body; `DETECTORS` is
the explicit table and `detect` returns every hit in table order with the reviewer's own words as the
reason, so a person reading the queue sees at a glance why a review is there.

The bug detector reuses the fault signals of `mailbot.classify.signals` (crash, does not start, login,
data loss, nothing works ...) and adds what reviews say that mails rarely do ("buggy", "Absturtz").
Phrases that name a fault only to deny it ("stürzt nie ab", "no bugs", "Besser geht es nicht") are
blanked out first, so praise full of fault words is not a bug report.

Swearing at a *thing* is frustration, not abuse: "Scheiß-Update, stürzt nur noch ab" is a bug report that
deserves a ticket and a calm reply. Abuse is an insult or a threat aimed at *people* (the developers, the
team, the company) or a word that is an insult whatever it is aimed at; those reviews go to a person.

Patterns run on `normalise`d text (case-folded, digits as "0"), so ALL CAPS reads like lower case; every
pattern is linear in its input and the text is bounded (`MAX_REVIEW_CHARS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from mailbot.classify import signals
from mailbot.classify.normalise import MappedText, normalise_mapped

MAX_REVIEW_CHARS = 8_000  # Apple allows about 6,000 characters of body; Google 500
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
SHOWN_MATCH = 60  # characters of the reviewer's words quoted in a reason


class Finding(StrEnum):
    ABUSE = "abuse"
    LEGAL = "legal"
    REFUND = "refund"
    PAYMENT = "payment"
    BUG = "bug"
    QUESTION = "question"
    PRAISE = "praise"


@dataclass(frozen=True)
class DetectorHit:
    finding: Finding
    reason: str  # 'bug: "stürzt ständig ab" (crash)'


Check = Callable[[MappedText], str | None]


@dataclass(frozen=True)
class Detector:
    finding: Finding
    check: Check


_W = r"(?:[\w'-]+ )"  # one word and the space after it; written "~" in the patterns below


def _any(*patterns: str) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns).replace("~", _W))


# --- phrases that name a fault to deny it: blanked out before looking for bugs and praise ----------------
_DENIED = _any(
    r"besser geht(?:'s| es)? ~?(?:ja |doch |wirklich |echt )?nicht",
    r"\b(?:keine?|nie|niemals|noch nie|ohne|null) ~{0,2}"
    r"(?:probleme?|fehler|bugs?|abst(?:ü|ue)rze?|absturz|macken|ausf(?:ä|ae)lle|h(?:ä|ae)nger)\b",
    r"st(?:ü|ue)rzt ~{0,3}(?:nie|niemals|nicht) (?:mehr )?ab\b",
    r"\b(?:never|doesn'?t|does not|didn'?t|did not|hasn'?t|has not|won'?t) ~{0,2}(?:crash|freez|glitch)\w*",
    r"\b(?:no|zero|without|never (?:had|seen|any|a)|not (?:a|one|a single)) ~{0,2}"
    r"(?:crash|bug|issue|problem|glitch|error|complaint)\w*",
    r"nothing to complain|can'?t complain|kann nicht meckern|nichts zu meckern|keine beschwerden",
    r"danke f(?:ü|ue)r nichts|thanks? (?:you )?for nothing",  # sarcasm: neither praise nor thanks
)


def _without_denials(text: MappedText) -> MappedText:
    """The text with every denying phrase blanked (same length, so quotes still map to the original)."""
    blanked = _DENIED.sub(lambda match: " " * len(match.group()), text.text)
    return MappedText(blanked, text.original, text.starts, text.ends)


def _quote(text: MappedText, match: re.Match[str]) -> str:
    start, end = match.start(), match.end()
    while 0 < start < len(text.text) and text.text[start].isalnum() and text.text[start - 1].isalnum():
        start -= 1
    while 0 < end < len(text.text) and text.text[end - 1].isalnum() and text.text[end].isalnum():
        end += 1
    quote = text.original_span(start, end).strip() or match.group().strip()
    return signals.shorten(quote, SHOWN_MATCH)


def _first(pattern: re.Pattern[str], text: MappedText, what: str) -> str | None:
    match = pattern.search(text.text)
    return f'{what}: "{_quote(text, match)}"' if match else None


# --- abuse: insults and threats aimed at people ----------------------------------------------------------
_PEOPLE = (
    r"(?:entwickler\w{0,6}|programmierer\w{0,6}|devs?|developers?|team|firma|company|macher\w{0,4}"
    r"|leute|people|support\w{0,6}|verein|typen|guys)\b"
)
_ABUSE = _any(
    # insults whatever they are aimed at
    r"\b(?:arschl(?:o|ö|oe)ch\w{0,4}|wichser\w{0,2}|hurens(?:o|ö|oe)hn\w{0,3}|fotze\w{0,2}|missgeburt\w{0,3}"
    r"|spast(?:i|en|is)?|vollidiot\w{0,3}|idioten|vollpfosten|drecks(?:ack|pack|firma|verein)\w{0,2}"
    r"|kackbratze\w{0,2}|schwachk(?:o|ö|oe)pf\w{0,2}|trottel|penner)\b",
    r"\b(?:assholes?|arseholes?|motherf\w{0,6}|cunts?|dickheads?|retard(?:s|ed)?|morons?|idiots|scumbags?"
    r"|wankers?|twats?|bastards?)\b",
    # profanity and contempt aimed at the people behind the app
    r"\b(?:fuck|f[*#@]{1,3}k|f[*#@]{1,3}ck|fck) (?:you|u|off|yourselves|the devs|this company)\b",
    r"\b(?:fick|ficke?t) (?:dich|euch)\b|verpisst euch|leckt mich|geht sterben|go die\b|kill yourselves?",
    r"\b(?:schei(?:ss|ß)|beschissene?[nr]?|dumme?[nr]?|bl(?:ö|oe)de?[nr]?|verdammte?[nr]?|shit(?:ty)?|stupid"
    r"|fucking|dumb) ~?" + _PEOPLE,
    r"\b(?:ihr|you) (?:seid |are |bloody |fucking )?"
    r"(?:idioten|idiots|deppen|clowns|amateure|versager|losers)\b",
    # threats
    r"\b(?:bringe?|bringen) ~{0,2}(?:euch|dich) um\b|\bumbringen\b|i(?:'ll| will) (?:find|kill|hurt) you",
    "\U0001f595",  # the middle finger
)


def check_abuse(text: MappedText) -> str | None:
    """Insults, slurs, threats or profanity aimed at the people behind the app (not at the app)."""
    return _first(_ABUSE, text, "abuse")


# --- legal threats -----------------------------------------------------------------------------------------
_LEGAL = _any(
    r"\b(?:rechts)?anw(?:a|ä|ae)lt\w{0,6}|verbraucherzentrale\w{0,2}|verbraucherschutz\w{0,6}",
    r"\bklage\b|\bverklag\w{0,4}|vor gericht|gerichtlich\w{0,4}|zum gericht|(?:amts|land)gericht\w{0,2}",
    r"\babmahn\w{0,6}|\bstrafanzeige\w{0,2}|\banzeige ~{0,2}(?:erstatten|stellen|gegen)|anzeigen werde",
    r"\bpolizei\b|\bbetrug\w{0,6}|\bbetr(?:ü|ue)g(?:er|erisch)\w{0,4}|datenschutzbeh(?:ö|oe)rde|schlichtungsstelle",
    r"\blawyers?\b|\battorneys?\b|\bsolicitors?\b|\bsue\b|\bsuing\b|\blawsuit|legal action|class action",
    r"(?:in|to|into) court\b|small claims|consumer protection|trading standards|\bombudsman\b",
    r"report (?:you|this|it|them) to (?:the )?(?:police|authorities|ftc|bbb)",
    r"\bfraud\w{0,4}|\bscam(?:s|mers?|my)?\b",
)


def check_legal(text: MappedText) -> str | None:
    """A lawyer, a court, consumer protection, the police, or an accusation of fraud."""
    return _first(_LEGAL, text, "legal")


# --- refund demands ----------------------------------------------------------------------------------------
_REFUND = _any(
    r"geld ~?zur(?:ü|ue)ck|r(?:ü|ue)ckerstatt\w{0,6}|(?<!anzeige )(?<!strafanzeige )\berstatt\w{0,6}",
    r"zur(?:ü|ue)ck(?:erstatt|zahl|buch|fordern)\w{0,6}|r(?:ü|ue)ckbuchung\w{0,2}|widerruf\w{0,6}",
    r"k(?:ä|ae)uferschutz|\brefund\w{0,4}|money back|charge ?back|reimburs\w{0,6}|want my money",
    r"give (?:me )?(?:back )?my money",
)


def check_refund(text: MappedText) -> str | None:
    """The reviewer wants money back (refund, chargeback, withdrawal)."""
    return _first(_REFUND, text, "refund")


# --- payment faults ----------------------------------------------------------------------------------------
_PAID = r"(?:bezahlt|gezahlt|gekauft|abgebucht|abonniert|paid|bought|purchased|charged|subscribed)"
_PAYMENT = _any(
    r"(?:abo|abonnement|premium|pro[- ]?version|vollversion|in-app-kauf|kauf)\w{0,10} ~{0,4}"
    r"(?:nicht (?:aktiv|freigeschaltet|aktiviert|verf(?:ü|ue)gbar|erkannt|wiederhergestellt)"
    r"|wird nicht (?:angezeigt|erkannt|freigeschaltet))",
    _PAID + r"\w{0,4},? ~{0,5}(?:aber|trotzdem|but|and still|yet|still) ~{0,5}"
    r"(?:nicht|kein|keine|immer noch|not|no|n't|still|locked)\b",
    r"(?:doppelt|zweimal|0 ?mal|mehrfach) ~{0,2}(?:abgebucht|bezahlt|berechnet|abgerechnet|belastet)",
    r"trotz ~?(?:k(?:ü|ue)ndigung|gek(?:ü|ue)ndigt\w*) ~{0,4}(?:abgebucht|berechnet|bezahlt)",
    r"(?:subscription|premium|pro|purchase|upgrade)\w{0,3} ~{0,4}(?:(?:is )?not (?:active|working|unlocked"
    r"|activated|recogni[sz]ed|showing|restored)|isn'?t (?:active|working|showing|unlocked)"
    r"|doesn'?t (?:show|work|unlock|activate))",
    r"(?:charged|billed) ~{0,2}(?:twice|double|two times|0 times|again after|after (?:i )?cancel\w*)",
    r"still (?:being )?(?:charged|billed)|double[- ]charged",
    r"restore purchases? ~{0,2}(?:doesn'?t|does not|won'?t|not|fails)|kauf wiederherstellen \w+ nicht",
)
_PAYMENT_SIGNALS = frozenset({signals.PAYMENT.name})


def check_payment(text: MappedText) -> str | None:
    """Charged twice, paid but not unlocked, charged after cancelling, payment failing."""
    found = _first(_PAYMENT, text, "payment fault")
    if found:
        return found
    for hit in signals.find_signals(text):
        if hit.signal.name in _PAYMENT_SIGNALS:
            return f"payment fault: {hit.reason}"
    return None


# --- bugs and crashes --------------------------------------------------------------------------------------
_BUG_SIGNALS = frozenset(
    signal.name
    for signal in (
        signals.CRASH,
        signals.WONT_START,
        signals.LOGIN,
        signals.BOOKING,
        signals.DATA_LOSS,
        signals.FAILURE,
        signals.OUTAGE,
        signals.WHOLE_APP,
        signals.NOTHING_WORKS,
    )
)
_BUG = _any(
    r"\bbuggy\b|\bverbuggt\w{0,2}|\bbugs\b|\bglitch\w{0,4}|\bfehlerhaft\w{0,2}|voller fehler",
    r"\babst(?:ü|ue|u)r?t?z\w{0,6}|\bst(?:ü|ue|u)rt?zt ~{0,5}ab\b|\bch?rash\w{0,4}",
    r"l(?:ä|ae)dt ~{0,2}nicht|synchroni\w{0,8} ~{0,2}nicht|won'?t sync|doesn'?t sync",
    r"(?:fliege?|fliegt) ~{0,3}raus|kicks? me out|keeps (?:crashing|freezing|logging me out)",
)


def check_bug(text: MappedText) -> str | None:
    """A crash, a freeze, login or sync failing, data lost: something that needs the 2nd level."""
    hits = signals.find_signals(text)
    if any(hit.signal is signals.RESOLVED for hit in hits):
        return None  # "stürzte ab, jetzt geht es wieder": the reviewer says it is settled
    found = _first(_BUG, text, "bug")
    if found:
        return found
    for hit in hits:
        if hit.signal.name in _BUG_SIGNALS:
            return f"bug: {hit.reason}"
    return None


# --- questions ---------------------------------------------------------------------------------------------
# a question word at the start of a sentence says "question" without a "?" (reviewers often leave it out);
# a verb first ("Kann ich nur empfehlen") does not, so those count only with their "?"
_QUESTION_OPENING = _any(
    r"(?:^|[\n.!?]\s*)(?P<word>wie|wo|wann|warum|wieso|weshalb|welche\w{0,2}|gibt es|ist es m(?:ö|oe)glich"
    r"|how|where|when|why|which|what|is there|are there|is it possible)\b(?! ~{0,3}nicht\b)",
)
_QUESTION_MARK = re.compile(r"\?")


def _sentence_start(text: str, position: int) -> int:
    return max(text.rfind(mark, 0, position) for mark in ".!?\n") + 1


def check_question(text: MappedText) -> str | None:
    """A question: a sentence opening with a question word, or one of two words or more ending in "?"."""
    start = end = -1
    opening = _QUESTION_OPENING.search(text.text)
    if opening is not None:
        word = opening.start("word")
        start = _sentence_start(text.text, word)
        mark = text.text.find("?", word)
        end = mark + 1 if mark != -1 else min(len(text.text), word + SHOWN_MATCH)
    else:
        for mark in _QUESTION_MARK.finditer(text.text):
            sentence_start = _sentence_start(text.text, mark.start())
            if len(text.text[sentence_start : mark.start()].split()) >= 2:
                start, end = sentence_start, mark.end()
                break
    if start < 0:
        return None
    quote = text.original_span(start, end).strip()
    return f'question: "{signals.shorten(quote, SHOWN_MATCH)}"'


# --- praise ------------------------------------------------------------------------------------------------
_NOT = (
    r"(?<!nicht )(?<!nicht so )(?<!nicht sehr )(?<!nicht mehr so )(?<!kein )(?<!keine )"
    r"(?<!not )(?<!not so )(?<!not very )(?<!n't )(?<!never )(?<!no )(?<!nie )"
)
_BAD_AFTER_INTENSIFIER = (
    r"(?! (?:schlecht|langsam|nervig|teuer|umst(?:ä|ae)ndlich|kompliziert|buggy|frustrierend|(?:ä|ae)rgerlich"
    r"|entt(?:ä|ae)uschend|slow|annoying|bad|expensive|frustrating|laggy))"
)
_PRAISE = _any(
    _NOT
    + r"\b(?:top|toll\w{0,2}|klasse|spitze|genial\w{0,2}|perfekt\w{0,2}|hervorragend\w{0,2}|wunderbar\w{0,2}"
    r"|fantastisch\w{0,2}|gro(?:ss|ß)artig\w{0,2}|empfehlenswert|sehr gut\w{0,2}|richtig gut\w{0,2}|echt gut"
    r"|gef(?:ä|ae)llt mir|begeistert|beste app|weiter so|daumen hoch|tolle arbeit|danke\w{0,5}"
    r"|kann ich ~?empfehlen|empfehle ~{0,3}weiter|l(?:ä|ae)uft (?:super|prima|einwandfrei|stabil)"
    r"|funktioniert (?:super|einwandfrei|perfekt|tadellos|prima|gut))\b",
    _NOT + r"\b(?:super|mega)\b" + _BAD_AFTER_INTENSIFIER,
    _NOT + r"\b(?:great|awesome|excellent|amazing|lo+ve (?:it|this|the app)|loving it|fantastic|perfect"
    r"|brilliant|superb|best app|good app|nice app|works (?:great|perfectly|well|flawlessly)"
    r"|highly recommend\w{0,2}|recommend(?:ed)? it|thank you|thanks|well done|keep it up|very good"
    r"|really good|so good|good job|top notch|wonderful|outstanding|helpful|useful|easy to use"
    r"|einfach zu bedienen)\b",
    "[\U0001f44d\U0001f44f\U0001f64c\U0001f60d\U0001f970\U0001f929\u2764\u2b50\U0001f31f\U0001f4af\U0001f525"
    "\U0001f60a\U0001f642\U0001f4aa\u2728\U0001f496\U0001f499\U0001f49a]",
)


def check_praise(text: MappedText) -> str | None:
    """Praise or thanks ("Top!", "love it", "👍"); negated praise ("nicht so toll") does not count."""
    return _first(_PRAISE, text, "praise")


DETECTORS: tuple[Detector, ...] = (
    Detector(Finding.ABUSE, check_abuse),
    Detector(Finding.LEGAL, check_legal),
    Detector(Finding.REFUND, check_refund),
    Detector(Finding.PAYMENT, check_payment),
    Detector(Finding.BUG, check_bug),
    Detector(Finding.QUESTION, check_question),
    Detector(Finding.PRAISE, check_praise),
)
# these read the text as written: "keine Probleme, aber ich will mein Geld zurück" is still a refund
_SEES_DENIALS = frozenset({Finding.ABUSE, Finding.LEGAL, Finding.REFUND, Finding.QUESTION})


def review_text(title: str, body: str) -> MappedText:
    """Title and body as the detectors read them: normalised, bounded, quotable in the original words.

    The title ends in a line break, so a sentence of the body never starts inside the title.
    """
    parts = [normalise_mapped(part[:MAX_REVIEW_CHARS]) for part in (title, body)]
    present = [part for part in parts if part.text]
    if not present:
        return normalise_mapped("")
    mapped = present[0]
    for part in present[1:]:
        mapped = mapped + MappedText("\n", "\n", (0,), (1,)) + part
    # one character for one, so the map stays valid: "doesn’t" reads like "doesn't"
    return MappedText(mapped.text.translate(_APOSTROPHES), mapped.original, mapped.starts, mapped.ends)


def detect(title: str, body: str) -> tuple[DetectorHit, ...]:
    """Every detector that fires on a review, in table order, each with the reviewer's words."""
    text = review_text(title, body)
    plain = _without_denials(text)
    hits = []
    for detector in DETECTORS:
        reason = detector.check(text if detector.finding in _SEES_DENIALS else plain)
        if reason is not None:
            hits.append(DetectorHit(detector.finding, reason))
    return tuple(hits)


def found(hits: tuple[DetectorHit, ...], finding: Finding) -> DetectorHit | None:
    """The hit of `finding` among `hits`, or None."""
    return next((hit for hit in hits if hit.finding is finding), None)
