"""The name a customer mail greets with, made from the display name of the customer's address.

Display names are what mail systems make of them: "Müller, Katrin" (directories), "MEIER HANS"
(older systems, surname first in capitals), "MEIER Hans", "hans meier", "support@shop.de",
"+49 171 2345678", "K.", "Katrin 🌸 Müller (Aktivo GmbH)", "Kontaktformular". `greeting_name` turns
the ones that are a person's name into how the person is addressed ("Katrin Müller", "Hans Meier",
"Dr. Hans Meier", "Frau Müller") and everything else into "", which the templates greet neutrally
("Guten Tag," / "Hello,"): a neutral greeting is never wrong, a wrong name always is.

Pure, no I/O; the order of `_STEPS` is the order a reader would apply: take off what is not part of
the name (quotes, comments in brackets, a company after " | "), refuse what is no name (addresses,
numbers, functions and companies, lone letters), then put it in order and fix the case. Names
written in mixed case ("McDonald", "von der Leyen", "DeVries") keep their spelling.
"""

from __future__ import annotations

import re
import unicodedata

from mailbot.header_text import without_controls
from mailbot.reply.given_names import GIVEN_NAMES

MAX_NAME_WORDS = 5  # "Maria del Carmen García López" has five
MAX_DISPLAY_NAME_CHARS = 200  # a longer display name is no person's name (and not worth the regex time)

_OUTER_QUOTES = "\"'`„“”‚‘’«»‹›"
# comments, an address in brackets, a nickname in quotes ('Hans "Hansi" Meier'); other quotes go later
_BRACKETED = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|<[^<>]*>|\{[^{}]*\}|\"[^\"\s]*\"|“[^“”\s]*”|„[^“”\s]*“")
# "Hans Meier | Aktivo GmbH", "Hans Meier - Vertrieb", "Hans Meier via Kontaktformular"
_TRAILER = re.compile(r"\s+(?:[|/–—-]|via|im auftrag von|on behalf of)\s.*$", re.IGNORECASE)
_ADDRESS_LIKE = re.compile(r"@|://|\bwww\.|=\?|\?=|\w\.\w{2,}", re.IGNORECASE)
_TITLE_DOT = re.compile(r"\b(dr|prof)\.(?=\w)", re.IGNORECASE)  # "Dr.Hans" -> "Dr. Hans"
_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$|^[^\W\d_]\.$")

TITLES = {"dr": "Dr.", "prof": "Prof.", "professor": "Prof."}
SALUTATIONS = {
    "herr": "Herr", "hr": "Herr", "frau": "Frau", "fr": "Frau",
    "mr": "Mr", "mister": "Mr", "mrs": "Mrs", "ms": "Ms", "miss": "Miss",
}  # fmt: skip
# After a comma or at the end: degrees and generational suffixes, not part of how one is greeted.
SUFFIXES = frozenset(
    {
        "mba",
        "phd",
        "msc",
        "bsc",
        "ma",
        "ba",
        "llm",
        "meng",
        "beng",
        "md",
        "esq",
        "jr",
        "sr",
        "ii",
        "iii",
        "iv",
    }
    | {"dipling", "diplkfm", "diplkffr", "diplinf", "diplpsych", "mag", "ing", "bed", "med"}
)
PARTICLES = frozenset(
    {"von", "vom", "van", "der", "den", "de", "del", "della", "di", "da", "du", "dos", "das", "la", "le"}
    | {"zu", "zum", "zur", "ten", "ter", "te", "op", "al", "el", "bin", "ibn", "y"}
)
# A sender that is a function, a form, a company or a placeholder, not a person.
NOT_A_PERSON = frozenset(
    {"team", "support", "service", "services", "kundenservice", "kundendienst", "customer", "customers"}
    | {"info", "information", "infos", "kontakt", "contact", "office", "büro", "buero", "sekretariat"}
    | {"verwaltung", "buchhaltung", "accounting", "accounts", "billing", "rechnung", "rechnungswesen"}
    | {"invoice", "invoices", "sales", "vertrieb", "einkauf", "purchasing", "marketing", "personalabteilung"}
    | {"admin", "administrator", "webmaster", "postmaster", "hostmaster", "mailer", "daemon", "noreply"}
    | {"no-reply", "donotreply", "do-not-reply", "reply", "newsletter", "notification", "notifications"}
    | {"benachrichtigung", "system", "bot", "formular", "kontaktformular", "form", "website", "webseite"}
    | {"shop", "onlineshop", "store", "helpdesk", "hotline", "abteilung", "department", "dept", "zentrale"}
    | {"gmbh", "mbh", "ag", "kg", "ohg", "gbr", "ug", "ev", "e.v", "ltd", "inc", "llc", "corp", "plc"}
    | {"co", "company", "corporation", "group", "gruppe", "holding", "sarl", "bv", "nv", "gmbh&co"}
    | {"unknown", "unbekannt", "anonymous", "anonym", "user", "benutzer", "nutzer", "kunde", "kundin"}
    | {"null", "none", "undefined", "nan", "test", "n/a", "name", "vorname", "nachname"}
    | {"und", "and", "&", "+"}
)


def greeting_name(display_name: str | None) -> str:
    """How to greet the owner of `display_name` ("Katrin Müller"), or "" for a neutral greeting."""
    if len(display_name or "") > MAX_DISPLAY_NAME_CHARS:
        return ""
    text = _clean(display_name or "")
    if not text or _ADDRESS_LIKE.search(text) or any(ch.isdigit() for ch in text):
        return ""
    parts = [part.strip() for part in text.split(",") if part.strip()]
    parts = [part for part in parts if not all(_key(word) in SUFFIXES for word in part.split())]
    if not parts or len(parts) > 2:
        return ""
    swapped = len(parts) == 2  # "Müller, Katrin": surname first, the order is known
    words = (parts[1] + " " + parts[0]).split() if swapped else parts[0].split()
    return _compose(words, swapped)


def _clean(value: str) -> str:
    # escape sequences, controls and format characters go without a trace ("Ka\u200btrin" is
    # "Katrin"); white space, separators and private or unassigned characters split words
    text = unicodedata.normalize("NFC", without_controls(value))
    text = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    text = " ".join(text.split()).strip(_OUTER_QUOTES + " ")
    previous = None
    while previous != text:  # nested: "Hans (Vertrieb (Nord)) Meier"
        previous, text = text, _BRACKETED.sub(" ", text)
    text = _TRAILER.sub("", text)
    text = _TITLE_DOT.sub(lambda m: m.group(0) + " ", text)
    # emoji and other symbols go; letters, marks, digits (checked later) and name punctuation stay
    text = "".join(ch if _kept(ch) else " " for ch in text)
    return " ".join(text.split()).strip(_OUTER_QUOTES + " ,-")


def _kept(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LMN" or ch in " -'’.,&+/@:?="


def _key(word: str) -> str:
    return word.casefold().replace(".", "").replace("-", "")


def _compose(words: list[str], swapped: bool) -> str:
    salutation, titles, names = "", [], []
    for word in words:
        key = _key(word)
        if key in NOT_A_PERSON or any(part in NOT_A_PERSON for part in word.casefold().split("-")):
            return ""  # "Kontaktformular", "Aktivo GmbH", "Kunden-Service"
        if key in TITLES and not names:
            titles.append(TITLES[key])
        elif key in SALUTATIONS and not names:
            salutation = salutation or SALUTATIONS[key]
        elif names and key in SUFFIXES and len(names) >= 2:
            continue  # "Hans Meier MBA", "Dr. med. Hans Meier" keep the name
        elif titles and not names and word.islower() and word.endswith("."):
            continue  # "Dr. med.", "Dr. rer. nat."
        elif _NAME_WORD.match(word.strip("'’-")):
            names.append(word.strip("'’-"))
        else:
            return ""  # "Hans.Meier", "&", stray punctuation: not a name as written
    if not names or len(names) > MAX_NAME_WORDS or all(len(word.rstrip(".")) == 1 for word in names):
        return ""
    names = _in_order(names, swapped)
    if len(names) == 1 and not (salutation or titles or _is_given(names[0])):
        return ""  # a lone surname or nickname: "Guten Tag Meier," reads rude
    prefix = [salutation] if salutation and len(names) == 1 else []
    return " ".join([*prefix, *titles, *names])


def _in_order(names: list[str], swapped: bool) -> list[str]:
    """Given names first, in the case a person would write them."""
    if any(_mixed(word) for word in names):
        # "MEIER Hans": the words in capitals are the surname (a common directory convention)
        lead = 0
        while lead < len(names) and _shouted(names[lead]):
            lead += 1
        if not swapped and 0 < lead < len(names):
            names = names[lead:] + names[:lead]
        return [_title_case(word, i) if _needs_case(word) else word for i, word in enumerate(names)]
    # all capitals or all lower case: nothing tells the order but the given names
    cased = [_title_case(word, i) for i, word in enumerate(names)]
    if not swapped and len(cased) >= 2 and _is_given(cased[-1]) and not _is_given(cased[0]):
        start = len(cased) - 1
        while start > 0 and _is_given(cased[start - 1]):
            start -= 1
        cased = cased[start:] + cased[:start]
        cased = [_title_case(word, i) for i, word in enumerate(cased)]
    return cased


def _shouted(word: str) -> bool:
    letters = [ch for ch in word if ch.isalpha()]
    return (
        len(letters) > 1 and not any(ch.islower() for ch in letters) and any(ch.isupper() for ch in letters)
    )


def _mixed(word: str) -> bool:
    return any(ch.islower() for ch in word) and any(ch.isupper() for ch in word)


def _needs_case(word: str) -> bool:
    """Capitals or a lower-case word that is no particle; "McDonald", "von", "DeVries" stay."""
    return _shouted(word) or (word.islower() and word.casefold() not in PARTICLES)


def _title_case(word: str, index: int) -> str:
    """'MEIER' -> 'Meier', 'O'BRIEN' -> 'O'Brien', 'MCDONALD' -> 'McDonald'; particles after the
    first word in lower case ('VON DER LEYEN' -> 'von der Leyen' after a given name)."""
    if index > 0 and word.casefold() in PARTICLES:
        return word.casefold()
    parts = []
    for part in word.split("-"):
        pieces = re.split(r"(['’])", part.lower())
        joined = "".join(piece[:1].upper() + piece[1:] for piece in pieces)
        if joined.startswith("Mc") and len(joined) > 3:
            joined = "Mc" + joined[2].upper() + joined[3:]
        parts.append(joined)
    return "-".join(parts)


def _is_given(word: str) -> bool:
    return all(part.casefold() in GIVEN_NAMES for part in word.split("-"))
