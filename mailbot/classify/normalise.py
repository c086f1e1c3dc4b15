"""Text normalisation shared by training and prediction, so both see the same characters."""

from __future__ import annotations

import re
import unicodedata

from mailbot.reply.subject import bare_subject

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


# subjects that name no topic: they add the same noise to every class
_GENERIC_SUBJECT_WORDS = frozenset(
    [
        "frage",
        "fragen",
        "anfrage",
        "kundenanfrage",
        "hilfe",
        "problem",
        "probleme",
        "support",
        "kontakt",
        "info",
        "information",
        "hallo",
        "dringend",
        "wichtig",
        "bitte",
        "ihre",
        "meine",
        "eine",
        "zu",
        "zur",
        "zum",
        "question",
        "questions",
        "request",
        "help",
        "issue",
        "problems",
        "contact",
        "hello",
        "hi",
        "urgent",
        "important",
        "please",
        "your",
        "my",
        "a",
        "an",
        "the",
        "about",
    ]
)


def classification_text(subject: str, body: str) -> str:
    """What the classifier reads of a mail: its body, plus the subject when that adds a topic.

    Reply markers and ticket references are dropped; a subject of generic words only ("Frage",
    "Question") or one that just repeats the body's first words is left out, since it would weigh
    those words twice (measured on the CLINC150 e-mail cases in bench/quality.py).
    """
    topic = normalise(bare_subject(subject))
    text = normalise(body)
    words = topic.split()
    if not words or all(word in _GENERIC_SUBJECT_WORDS for word in words) or topic in text:
        return text
    return f"{topic}\n{text}"
