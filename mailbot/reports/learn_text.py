"""The text of a training example taken from a customer's mail: what the classifier reads, masked.

An example goes into a knowledge-base file that people read, review and commit, so nothing that names
or identifies the customer may go with it: e-mail addresses, phone numbers, IBANs and long digit runs
(customer, order, card numbers) are masked. The masks keep the shape the classifier reads anyway
(mailbot.classify.normalise turns every address into "email" and every digit run into "0"), so a masked
example teaches exactly what the real mail would. The question is composed as the classifier composes
it (subject only when it adds a topic, reply markers and ticket references dropped), in the customer's
own case and spelling, on one line, shortened at a word.
"""

from __future__ import annotations

import re

from mailbot.classify.normalise import classification_mapped

MAX_EXAMPLE_CHARS = 300  # the opening of a mail names its topic; a KB example is one readable line
MASKED_ADDRESS = "name@example.org"
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"']+@[^\s<>()\[\],;:\"']+\.[^\s<>()\[\],;:\"']+")
# country code, check digits, then 11 to 30 letters or digits, in groups of four as printed or not
_IBAN = re.compile(r"\b([A-Z]{2})(\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?)\b")
# a phone number: at least 7 digits with the separators people write (+49 170 1234567, (030) 12-34)
_PHONE = re.compile(r"(?<![\w])\+?\(?\d[\d ()/.-]{5,}\d(?![\w])")
_LONG_DIGITS = re.compile(r"\d{5,}")
_SPACE = re.compile(r"\s+")
_MIN_PHONE_DIGITS = 7


def mask(text: str) -> str:
    """Addresses, IBANs, phone numbers and digit runs of 5 or more replaced, their shape kept."""
    text = _ADDRESS.sub(MASKED_ADDRESS, text)
    text = _IBAN.sub(lambda m: m.group(1) + re.sub(r"[A-Z0-9]", "0", m.group(2)), text)
    text = _PHONE.sub(_phone_mask, text)
    return _LONG_DIGITS.sub(lambda m: "0" * len(m.group()), text)


def _phone_mask(match: re.Match[str]) -> str:
    found = match.group()
    if sum(char.isdigit() for char in found) < _MIN_PHONE_DIGITS:
        return found  # a date, a version or a price, not a phone number
    return re.sub(r"\d", "0", found)


def shorten(text: str, limit: int = MAX_EXAMPLE_CHARS) -> str:
    """One line of at most `limit` characters, cut at a word where there is one."""
    line = _SPACE.sub(" ", text).strip()
    if len(line) <= limit:
        return line
    cut = line[:limit]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:-")


def example_text(subject: str, body: str) -> str:
    """The customer's question as a training example: composed as the classifier reads it, masked,
    one line, shortened."""
    composed = classification_mapped(subject, body).original
    return shorten(mask(composed))
