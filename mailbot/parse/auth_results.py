"""``Authentication-Results`` (RFC 8601) as data: who checked, and what each method found.

Pure and tolerant: a header is read as far as it makes sense (comments skipped, quoted values
unquoted, a result without its properties kept), and ``None`` means there was nothing to read.
Nothing here says whether a header can be believed: anyone can write one, and only the headers of
the receiving server's own ``authserv-id`` count (``mailbot.rules.sender_auth``).

Real headers bend the grammar: Microsoft 365 writes no authserv-id (``spf=pass (sender IP is ...)
smtp.mailfrom=...``; such a header gets the authserv-id ""), Gmail leaves base64 ``header.b`` values
unquoted (``/``, ``+`` and ``=`` inside), OpenDKIM adds comments in the middle. Linear in the length
of the value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mailbot.parse.address_list import comment_end

_WORD = re.compile(r"[^\s;=\"(]+")
_SPACE = re.compile(r"\s+")
_QUOTED = re.compile(r"\"((?:[^\"\\]|\\.)*)(\"?)", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_VERSION = re.compile(r"^\d{1,9}$")


@dataclass(frozen=True)
class MethodResult:
    """One ``method=result`` with its reason and properties (``header.from``, ``smtp.mailfrom`` ...)."""

    method: str  # lower-case, without a method version ("dkim/1" -> "dkim")
    result: str  # lower-case: pass, fail, softfail, none, neutral, temperror, permerror, policy ...
    properties: tuple[tuple[str, str], ...] = ()  # (lower-case "ptype.property", value as written)
    reason: str = ""

    def prop(self, name: str) -> str | None:
        """The first value of a property, e.g. ``prop("header.from")``."""
        return next((value for key, value in self.properties if key == name), None)


@dataclass(frozen=True)
class AuthenticationResults:
    authserv_id: str  # as written ("" when the header has none); compare case-insensitively
    version: int | None
    results: tuple[MethodResult, ...]


@dataclass(frozen=True)
class _Token:
    kind: str  # "word", "quoted", "=" or ";"
    text: str
    glued: bool  # no white space or comment before it


def parse_authentication_results(value: str) -> AuthenticationResults | None:
    """One header value (unfolded or not); None for a value without an authserv-id or any result."""
    segments: list[list[_Token]] = [[]]
    for token in _tokens(value):
        if token.kind == ";":
            segments.append([])
        else:
            segments[-1].append(token)
    head = segments[0]
    if not head:
        return None
    if len(head) > 1 and head[1].kind == "=":  # Microsoft 365: straight into the first result
        authserv_id, version, infos = "", None, segments
    else:
        if head[0].kind not in ("word", "quoted"):
            return None
        authserv_id = head[0].text
        version = int(head[1].text) if len(head) > 1 and _VERSION.match(head[1].text) else None
        infos = segments[1:]
    results = tuple(result for info in infos if (result := _result(info)) is not None)
    if not authserv_id and not results:
        return None
    return AuthenticationResults(authserv_id, version, results)


def _tokens(value: str) -> Iterator[_Token]:
    pos, end, glued = 0, len(value), True
    while pos < end:
        char = value[pos]
        if char.isspace():
            match = _SPACE.match(value, pos)
            assert match is not None
            pos, glued = match.end(), False
            continue
        if char == "(":
            pos, glued = comment_end(value, pos), False
            continue
        if char == '"':
            match = _QUOTED.match(value, pos)
            assert match is not None
            token = _Token("quoted", _ESCAPE.sub(r"\1", match.group(1)), glued)
        elif char in ";=":
            match = None
            token = _Token(char, char, glued)
        else:
            match = _WORD.match(value, pos)
            assert match is not None  # any other character starts a word
            token = _Token("word", match.group(), glued)
        yield token
        pos = match.end() if match is not None else pos + 1
        glued = True


def _result(tokens: list[_Token]) -> MethodResult | None:
    """``method[/version]=result [reason=value] [ptype.property=value ...]``; None for anything else."""
    pairs = _pairs(tokens)
    if not pairs:
        return None
    method, result = pairs[0]
    method = method.split("/", 1)[0].strip().lower()
    if not method or not result:
        return None
    reason = next((value for key, value in pairs[1:] if key == "reason"), "")
    properties = tuple((key, value) for key, value in pairs[1:] if key != "reason")
    return MethodResult(method, result.lower(), properties, reason)


def _pairs(tokens: list[_Token]) -> list[tuple[str, str]]:
    """``key=value`` pairs in order, keys lower-case. An unquoted value may itself hold "=" (base64
    padding in ``header.b``): a "=" or word glued to a value belongs to it. Stray words are skipped."""
    pairs: list[tuple[str, list[str]]] = []  # value pieces, joined at the end (linear)
    index, count = 0, len(tokens)
    while index < count:
        token = tokens[index]
        if token.glued and pairs and token.kind in ("=", "word") and _continues_value(tokens, index):
            pairs[-1][1].append(token.text)
            index += 1
            continue
        if (
            token.kind == "word"
            and index + 2 < count
            and tokens[index + 1].kind == "="
            and tokens[index + 2].kind in ("word", "quoted")
        ):
            pairs.append((token.text.lower(), [tokens[index + 2].text]))
            index += 3
        else:
            index += 1
    return [(key, "".join(pieces)) for key, pieces in pairs]


def _continues_value(tokens: list[_Token], index: int) -> bool:
    """Token `index` is glued to the value before it (not the start of the next ``key=``)."""
    token = tokens[index]
    if token.kind == "=":
        return True
    return not (index + 1 < len(tokens) and tokens[index + 1].kind == "=")
