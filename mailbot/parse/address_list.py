"""RFC 5322 address lists read the way mail servers and DMARC read them: the angle-addr wins.

The stdlib's ``getaddresses`` splits ``alice@cust.example <mallory@evil.example>`` into two addresses,
and taking the first made that mail alice's, while every mail server delivers it as mallory's and DMARC
checks mallory's domain. Here a mailbox is what RFC 5322 3.4 says it is: ``display-name angle-addr``
or a bare ``addr-spec``. The display name is everything before the ``<``, even text that looks like an
address; quoted strings and comments are tokens of their own, so a ``<`` or ``,`` inside them is text.

Whatever gives one mailbox a second address (two angle-addrs, an address after the angle-addr, two
bare addresses without a comma between them) is returned as a further mailbox: the caller decides what
several addresses mean (for From: nobody can tell who wrote, see ``ParsedMail.sender_ambiguity``).
Values are raw (RFC 2047 not decoded, 8-bit bytes surrogate-escaped); scanning is linear in the length
of the value, since a header may be a megabyte long.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_WORD = re.compile(r"[^\"()<,;:\s]+")  # an atom, dot-atom or address piece: anything but a delimiter
_SPACE = re.compile(r"\s+")
_QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)(\"?)", re.DOTALL)  # linear: the alternatives are disjoint
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_PAREN_OR_ESCAPE = re.compile(r"[()\\]")
_ROUTE = re.compile(r"^\s*@[^:<>]*:")  # obsolete source route: <@relay1,@relay2:user@domain>


@dataclass(frozen=True)
class Mailbox:
    name: str  # the display name as written, quotes removed (RFC 2047 still encoded)
    address: str  # the addr-spec; "" for the null address <>


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "quoted", "comment", "angle", "space", or the delimiter itself: "," ";" ":"
    text: str


def mailboxes(value: str) -> list[Mailbox]:
    """Every mailbox of an unfolded address-list value, groups flattened, in order."""
    found: list[Mailbox] = []
    current: list[_Token] = []
    for token in _tokens(value):
        if token.kind in (",", ";"):
            found += _mailbox(current)
            current = []
        elif token.kind == ":" and not any(t.kind == "angle" for t in current):
            current = []  # "Group name:" -- the group's name is nobody's address
        else:
            current.append(token)
    return found + _mailbox(current)


def _tokens(value: str) -> Iterator[_Token]:
    pos, end = 0, len(value)
    while pos < end:
        char = value[pos]
        if char == '"':
            match = _QUOTED.match(value, pos)
            assert match is not None  # the pattern matches any string that starts with a quote
            yield _Token("quoted", _ESCAPE.sub(r"\1", match.group(1)))
            pos = match.end()
        elif char == "(":
            close = comment_end(value, pos)
            yield _Token("comment", value[pos + 1 : close - 1 if value[close - 1] == ")" else close])
            pos = close
        elif char == "<":
            close = value.find(">", pos + 1)
            close = end if close < 0 else close  # unterminated: the rest is the address
            yield _Token("angle", value[pos + 1 : close])
            pos = close + 1
        elif char in ",;:":
            yield _Token(char, char)
            pos += 1
        elif char.isspace():
            match = _SPACE.match(value, pos)
            assert match is not None
            yield _Token("space", " ")
            pos = match.end()
        else:
            match = _WORD.match(value, pos)
            if match is None:  # a stray ")" or similar: one character of text
                yield _Token("word", char)
                pos += 1
            else:
                yield _Token("word", match.group())
                pos = match.end()


def comment_end(value: str, start: int) -> int:
    """Index after the ``)`` that closes the comment at ``start`` (nested, with escapes)."""
    depth, pos = 0, start
    while (match := _PAREN_OR_ESCAPE.search(value, pos)) is not None:
        char, pos = match.group(), match.end()
        if char == "\\":
            pos += 1
        elif char == "(":
            depth += 1
        else:
            depth -= 1
            if depth == 0:
                return pos
    return len(value)  # unterminated: the rest is the comment


def _mailbox(tokens: list[_Token]) -> list[Mailbox]:
    angles = [index for index, token in enumerate(tokens) if token.kind == "angle"]
    if not angles:
        return _bare(tokens)
    first = angles[0]
    name = "".join(t.text for t in tokens[:first] if t.kind in ("word", "quoted", "space")).strip()
    found = [Mailbox(name, _addr_spec(tokens[first].text))]
    found += [Mailbox("", _addr_spec(tokens[index].text)) for index in angles[1:]]
    after = [t for t in tokens[first + 1 :] if t.kind != "angle"]
    found += [Mailbox("", word) for word in _words(after) if "@" in word]
    return found


def _bare(tokens: list[_Token]) -> list[Mailbox]:
    """A mailbox without angle brackets: one addr-spec, its name in a trailing comment (old style)."""
    words = _words(tokens)
    if not words:
        return []
    comments = [t.text.strip() for t in tokens if t.kind == "comment" and t.text.strip()]
    name = comments[-1] if comments else ""
    with_at = [word for word in words if "@" in word]
    if len(with_at) > 1:  # "alice@cust.example mallory@evil.example": two addresses, no comma
        return [Mailbox(name if index == 0 else "", word) for index, word in enumerate(with_at)]
    return [Mailbox(name, " ".join(words))]  # several words are no address; the rules say so


def _words(tokens: list[_Token]) -> list[str]:
    """The words of a run of tokens; white space around "@" and "." joins (obsolete syntax allows it)."""
    words: list[list[str]] = []  # pieces, joined once at the end (repeated += would be quadratic)
    gap = False
    for token in tokens:
        if token.kind in ("space", "comment"):
            gap = True
            continue
        if token.kind not in ("word", "quoted"):
            continue
        text = f'"{token.text}"' if token.kind == "quoted" else token.text
        if words and (not gap or words[-1][-1][-1] in "@." or text[0] in "@."):
            words[-1].append(text)
        else:
            words.append([text])
        gap = False
    return ["".join(pieces) for pieces in words]


def _addr_spec(inner: str) -> str:
    """The address inside angle brackets, without an obsolete route and surrounding space."""
    return _ROUTE.sub("", inner, count=1).strip()
