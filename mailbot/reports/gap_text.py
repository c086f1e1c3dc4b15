"""Text of unanswered mail as `mailbot kb gaps` reads and shows it: words for clustering, masked quotes.

Clustering reads the classifier's own normalisation (`classification_text`: case folded, numbers and
addresses as placeholders) without the words every support mail has (greetings, "bitte", "the"):
scikit-learn ships no German stop list, and without one "hallo" and "grüße" would name half the
clusters. Quotes of a customer's mail (representatives, draft examples) are shortened and have
addresses, phone numbers, IBANs and long digit runs masked, because they leave the database for
files an agent shares.
"""

from __future__ import annotations

import re

from mailbot.classify.normalise import classification_text

# German and English words that say nothing about a topic: function words, greetings, politeness,
# and what every support mail says ("app", "problem"). Small on purpose: a topic word must never be here.
_STOP_TEXT = """
    aber alle allen als also am an auch auf aus bei beim bin bis bitte da damit dann das dass de dem den
    denn der des die dies diese diesem diesen dieser dir doch dort du durch ein eine einem einen einer
    eines er es etwas euch für gibt ging hab habe haben hallo hat hatte hier hin ich ihr ihre ihrem ihren
    ihrer im in ist ja jetzt kann kein keine leider man mein meine meinem meinen meiner mich mir mit möchte
    moin muss nach nicht noch nun nur ob oder ohne schon sehr sein seine sich sie sind so soll sollte über
    um und uns unser unsere vom von vor war wäre warum was weil wenn wer werden wie wieder wir wird wo
    würde zu zum zur gerne danke dank vielen viele grüße gruß gruss grüsse freundlichen liebe lieber
    sehr geehrte geehrter damen herren guten tag morgen abend team support app mfg lg vg beste
    frage fragen problem anfrage hilfe info kurze kurz mal eigentlich irgendwie bzw ca brauche gern immer
    a about after all also am an and any are as at be been but by can could dear do does for from get
    got has have hello hey hi how i if in is it its just me my no not of on or our please regards so
    thank thanks that the their there this to up us was we what when where which why will with would
    you your best kind cheers team support app question issue help sonst
    url email 0
    """
STOP_WORDS = frozenset(_STOP_TEXT.split())
_WORD = re.compile(r"\w+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")
_PHONE = re.compile(r"(?<![\w+])\+?\d[\d /().-]{6,}\d")
_DIGITS = re.compile(r"\d{5,}")
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")


def topic_words(subject: str, text: str) -> str:
    """The words of a mail that can name a topic, in order, space-separated."""
    normal = classification_text(subject, text)
    return " ".join(w for w in _WORD.findall(normal) if w not in STOP_WORDS and not w.isdigit())


def mask(text: str) -> str:
    """`text` with e-mail addresses, URLs, IBANs, phone numbers and digit runs of 5+ replaced."""
    text = _EMAIL.sub("[E-Mail]", text)
    text = _URL.sub("[Link]", text)
    text = _IBAN.sub("[IBAN]", text)
    text = _PHONE.sub("[Nummer]", text)
    return _DIGITS.sub("[Nummer]", text)


def quote(subject: str, text: str, limit: int = 200) -> str:
    """A mail as one masked line: subject and body, cut at a word boundary near `limit` characters."""
    line = _SPACE.sub(" ", f"{subject.strip()}: {text.strip()}" if subject.strip() else text).strip()
    line = mask(line)
    if len(line) <= limit:
        return line
    cut = line[:limit].rsplit(" ", 1)[0]
    return mask(cut.rstrip(" ,;:-")) + " …"
