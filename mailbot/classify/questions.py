"""Split a mail into its questions, so that a mail asking two things is not answered with one article.

Pure text work. A question is a sentence ending in "?"; the statements written since the previous
question belong to it ("Ich habe mein Passwort vergessen. Wie setze ich es zurück?" is one question
with its context). A mail with fewer than two questions gives (), so the classifier runs a second time
only for the few mails that ask several things.
"""

from __future__ import annotations

import re

from mailbot.classify.normalise import MAX_BODY_CHARS

MAX_QUESTIONS = 6  # beyond that the mail is a list for a person, not a question for an article

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n")
_SPACE = re.compile(r"\s+")


def question_segments(body: str) -> tuple[str, ...]:
    """Each question of the mail with the statements before it; () unless there are two or more."""
    segments: list[str] = []
    context: list[str] = []
    for sentence in _SENTENCE_END.split(body[:MAX_BODY_CHARS]):  # what the classifier reads of a mail
        sentence = _SPACE.sub(" ", sentence).strip()
        if not sentence:
            continue
        context.append(sentence)
        if sentence.endswith("?"):
            segments.append(" ".join(context))
            context = []
    if len(segments) < 2 or len(segments) > MAX_QUESTIONS:
        return ()
    return tuple(segments)
