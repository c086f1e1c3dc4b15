"""Walk the MIME tree mail-parser built: readable text parts and the attachment list.

The stdlib ``Message`` API is used on mail-parser's own tree (no second parse) because mail-parser
loses what is needed here: it decodes text with the declared charset only (UTF-8 labelled
``iso-8859-1`` becomes ``Ã¼``; Windows-1252 bytes without a label become U+FFFD), and it names
unnamed attachments with random strings. Reading each part's decoded bytes lets ``charsets.py``
choose the right charset, and keeps the result a pure function of the input bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message

from mailbot.domain import Attachment
from mailbot.logredact import shortened
from mailbot.parse.charsets import decode_bytes
from mailbot.parse.headers import decode_value

_BODY_TYPES = {"text/plain": "plain", "text/html": "html"}


@dataclass
class Parts:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # charset fallbacks and unreadable parts

    @property
    def has_text(self) -> bool:
        return any(text.strip() for text in (*self.plain, *self.html))


def walk(message: Message) -> Parts:
    """Collect body texts and attachments in document order.

    An attached or embedded message (``message/*``) is listed as one attachment and not opened:
    its text is somebody else's mail, not the sender's own words.
    """
    parts = Parts()
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            payload = part.get_payload()  # the sub-parts; a leaf's payload is only read decoded
            if isinstance(payload, list):  # a str payload is a broken multipart: see structure.py
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        filename = _filename(part)
        kind = _BODY_TYPES.get(ctype)
        if kind and not filename and part.get_content_disposition() != "attachment":
            text = _text(part, ctype, parts.notes)
            (parts.plain if kind == "plain" else parts.html).append(text)
        else:
            parts.attachments.append(Attachment(filename, ctype, _size(part, ctype, parts.notes)))
    return parts


def _filename(part: Message) -> str:
    try:
        name = part.get_filename()
    except Exception:  # malformed RFC 2231 parameters: treat as unnamed
        return ""
    return decode_value(str(name)).strip() if name else ""


def _payload_bytes(part: Message) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def _text(part: Message, ctype: str, notes: list[str]) -> str:
    try:
        data = _payload_bytes(part)
        label = part.get_content_charset()
    except Exception as exc:
        notes.append(f"{shortened(ctype)} part could not be decoded ({type(exc).__name__}); left out")
        return ""
    text, note = decode_bytes(data, label)
    if note:
        notes.append(f"{shortened(ctype)} part: {note}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _size(part: Message, ctype: str, notes: list[str]) -> int:
    """Decoded size in bytes; for an attached message its serialised size."""
    try:
        if ctype.startswith("message/"):
            inner = part.get_payload()
            if isinstance(inner, list):
                return sum(len(p.as_bytes()) for p in inner if isinstance(p, Message))
        return len(_payload_bytes(part))
    except Exception as exc:
        notes.append(f"{shortened(ctype)} attachment could not be measured ({type(exc).__name__})")
        return 0
