"""Text normalisation shared by training and prediction, so both see the same characters."""

from __future__ import annotations

import re
import unicodedata

_URL = re.compile(r"https?://\S+|www\.\S+")
_EMAIL = re.compile(r"\S+@\S+")
_DIGITS = re.compile(r"\d+")
_SPACE = re.compile(r"\s+")


def normalise(text: str) -> str:
    """Lower-case NFKC text with URLs, addresses and numbers reduced to placeholders.

    Umlauts stay (character n-grams learn "ü" and "ue" as neighbours from the examples); only the
    noise that differs from mail to mail without changing the topic is flattened.
    """
    text = unicodedata.normalize("NFKC", text).casefold()
    text = _URL.sub(" url ", text)
    text = _EMAIL.sub(" email ", text)
    text = _DIGITS.sub("0", text)
    return _SPACE.sub(" ", text).strip()


def classification_text(subject: str, body: str) -> str:
    """What the classifier reads of a mail: the subject (without reply prefixes) and the body."""
    return normalise(f"{subject}\n{body}")
