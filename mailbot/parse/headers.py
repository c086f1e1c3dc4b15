"""Header values: unfolding, RFC 2047 decoding, addresses, message ids and dates.

mail-parser is not used for these: it drops the space after an encoded word that is followed by a
folded plain word (``=?utf-8?q?besch=C3=A4digt?=`` CRLF SP ``(10001)`` became ``beschädigt(10001)``),
which breaks subject-based ticket matching. Here unfolding follows RFC 5322 (remove the CRLF, keep
the white space) and only white space *between two encoded words* is dropped (RFC 2047 section 6.2).
Raw header values come from the stdlib parser as ASCII with surrogate escapes for 8-bit bytes;
those bytes are decoded with the body charset fallbacks.
"""

from __future__ import annotations

import base64
import binascii
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from mailbot.logredact import quoted
from mailbot.parse.address_list import mailboxes
from mailbot.parse.charsets import clean, decode_bytes

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_LINE_BREAK = re.compile(r"[\r\n]")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?]*)\?=")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
# RFC 5322 2.1.1: no line over 998 characters, so no id can be longer; longer ones are not ids (and
# would not fit the database); of a longer References list the root and the newest are kept
MAX_MESSAGE_ID_CHARS = 990
MAX_IDS = 100
_UTC_UNKNOWN_ZONE = re.compile(r"-0000\b")  # RFC 5322: UTC, local zone unknown


def unfold(value: str) -> str:
    """RFC 5322 unfolding: a line break followed by white space is removed, the white space kept."""
    return _LINE_BREAK.sub("", _FOLD.sub("", value))


def _plain(text: str) -> str:
    """Text outside encoded words; 8-bit bytes arrive surrogate-escaped from the stdlib parser."""
    if text.isascii():
        return text
    try:
        data = text.encode("ascii", "surrogateescape")
    except UnicodeEncodeError:
        return clean(text)  # already real text
    return decode_bytes(data, None)[0]


def _word_bytes(encoding: str, payload: str) -> bytes | None:
    try:
        data = payload.encode("ascii", "surrogateescape")
        if encoding in "qQ":
            return binascii.a2b_qp(data, header=True)
        data = data.rstrip(b"=")  # senders get the padding wrong both ways
        return base64.b64decode(data + b"=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError):  # includes UnicodeEncodeError: not a wire-format word
        return None


def decode_value(raw: str) -> str:
    """Unfold and decode one header value into text."""
    value = unfold(raw)
    if "=?" not in value:
        return clean(_plain(value))
    out: list[str] = []
    pending: list[tuple[str, bytes]] = []  # adjacent encoded words, joined before decoding

    def flush() -> None:
        if pending:
            data = b"".join(chunk for _, chunk in pending)
            out.append(decode_bytes(data, pending[0][0].split("*", 1)[0])[0])
            pending.clear()

    pos = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        word = _word_bytes(match.group(2), match.group(3))
        if word is None:  # broken encoding: keep the text as written
            flush()
            out.append(_plain(between + match.group(0)))
            pos = match.end()
            continue
        if between and not (pending and between.isspace()):
            flush()
            out.append(_plain(between))
        charset = match.group(1).lower()
        if pending and pending[-1][0] != charset:
            flush()
        pending.append((charset, word))
        pos = match.end()
    flush()
    out.append(_plain(value[pos:]))
    return clean("".join(out))


def addresses(raw_values: list[str], *, keep_empty: bool = False) -> list[tuple[str, str]]:
    """(decoded display name, bare addr-spec) pairs from raw header values, read strictly as RFC 5322
    reads them (``mailbot.parse.address_list``: the address in angle brackets wins).

    Parsing happens before decoding: a decoded name may contain commas or angle brackets. Pairs
    without an address (``<>``, groups, garbage) are dropped unless ``keep_empty`` and they have a name.
    """
    pairs = []
    for value in raw_values:
        for mailbox in mailboxes(unfold(value)):
            addr, name = _plain(mailbox.address).strip(), decode_value(mailbox.name).strip()
            if addr or (keep_empty and name):
                pairs.append((name, clean(addr)))
    return pairs


def message_ids(raw: str | None) -> list[str]:
    """Message ids in angle brackets, in order, without duplicates."""
    if not raw:
        return []
    value = _plain(unfold(raw))
    found = ["".join(inner.split()) for inner in _ANGLE_ID.findall(value)]
    if not found:
        found = [token.strip("<>") for token in value.split()]
    ids: dict[str, None] = {}  # ordered, and linear on a header of a million ids
    for inner in found:
        if inner and len(inner) <= MAX_MESSAGE_ID_CHARS:
            ids.setdefault(clean(f"<{inner}>"))
    kept = list(ids)
    return [kept[0], *kept[-(MAX_IDS - 1) :]] if len(kept) > MAX_IDS else kept  # the root and the newest


def parse_date(raw: str) -> tuple[datetime | None, str | None]:
    """Aware datetime and an optional defect note; a date without zone is read as UTC."""
    value = _plain(unfold(raw)).strip()
    try:
        parsed = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError, OverflowError):
        return None, f"Date header {quoted(value)} cannot be read"
    if parsed.tzinfo is None:
        if _UTC_UNKNOWN_ZONE.search(value):
            return parsed.replace(tzinfo=UTC), None
        return parsed.replace(tzinfo=UTC), f"Date header {quoted(value)} has no usable time zone; read as UTC"
    return parsed, None
