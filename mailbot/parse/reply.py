"""The customer's own words: quoted history, signature, disclaimer and greeting removed.

mail-parser-reply is the core: it splits a body at reply headers ("On ... wrote:", "Am ... schrieb
...:", Outlook "From:/Sent:" and "Von:/Gesendet:" blocks, "-----Original Message-----") and finds
signatures. Measured on the talon, github and mail-parser-reply fixtures and the forge signature
corpus (``bench/reply_stripping.py``), what it misses is added in ``quotes.py`` (``>`` quotes
without a known header, bottom posting, German Outlook separators), ``signature.py`` (more
closers, a guard so a closer-looking sentence does not cut text, and sign-offs by bare name),
``disclaimer.py`` (legal notices, list footers, "external sender" banners) and ``greeting.py``
(leading "Hallo Support-Team," lines). The body is also the excerpt the team sees, so only
whole lines go that carry nothing the team would miss.

``EmailMessage`` is used directly because ``EmailReplyParser`` does not pass
``keep_hyphen_lists``, and without it a "- item" list line counts as a signature start. Its
disclaimer removal is not used: it drops any line holding "Achtung:" and "Mail".
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mailparser_reply.parser import EmailMessage

from mailbot.parse.disclaimer import strip_banner, strip_disclaimers
from mailbot.parse.greeting import strip_greeting
from mailbot.parse.quotes import cut_at_separator, resolve_quotes
from mailbot.parse.signature import name_block_start, signature_ok, signature_start

MAX_CHARS = 100_000  # the newest message is at the top; more text only costs regex time
_LANGUAGES = ("de", "en")
_BLANK_RUN = re.compile(r"\n{3,}")
_SPACE_RUN = re.compile(r"[^\S\n]{3,}")
_TRAILING_RULE = re.compile(r"(?:\n[ \t]*[-_=*~]{2,}[ \t]*)+\Z")


@dataclass(frozen=True)
class Reply:
    text: str  # the newest message, signature included (what talon calls the reply)
    body: str  # the customer's own words: without signature, disclaimer, banner and greeting


def _defuse(text: str) -> str:
    """Shorten white-space runs: the library's signature regex is quadratic in their length
    (16,000 blank lines took 13 s)."""
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return _SPACE_RUN.sub("  ", _BLANK_RUN.sub("\n\n", text))


def _tidy(text: str) -> str:
    return _TRAILING_RULE.sub("", _BLANK_RUN.sub("\n\n", text).strip()).strip()


def split_reply(text: str) -> Reply:
    """Split a plain-text body into the newest message and the customer's own words in it.

    Disclaimers go before signatures are looked for, so a name above a disclaimer is the last
    block; the greeting goes last, as it stays when nothing else is left ("Hello\n\nSent from
    my iPhone" is "Hello")."""
    text = _defuse(text.replace("\r\n", "\n").replace("\r", "\n")[:MAX_CHARS])
    text = cut_at_separator(_BLANK_RUN.sub("\n\n", resolve_quotes(text)))
    message = EmailMessage(text=text, languages=list(_LANGUAGES), keep_hyphen_lists=True).read()
    first = message.replies[0] if message.replies else None
    if first is None or first.headers:  # the text starts with a reply header: nothing new on top
        return Reply("", "")
    newest = first.content
    cut = len(newest)
    found = first.signatures
    if found and newest.endswith(found) and signature_ok(found.split("\n")):
        cut -= len(found)
    lines = strip_disclaimers(newest[:cut].split("\n"))
    for find in (signature_start, name_block_start):  # a closer first, else a bare name block
        start = find(lines)
        lines = lines if start is None else lines[:start]
    return Reply(_tidy(newest), _tidy("\n".join(strip_greeting(strip_banner(lines)))))


def strip_quotes(text: str) -> str:
    """The newest message with its signature (talon's notion of the reply)."""
    return split_reply(text).text


def extract_body(text: str) -> str:
    """The customer's own words; never empty while ``text`` has content, never longer than `MAX_CHARS`
    (a mail that is all quotes is read from its opening)."""
    reply = split_reply(text)
    return reply.body or reply.text or text[:MAX_CHARS].strip()
