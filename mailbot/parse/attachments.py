"""The attachments of a stored mail with their bytes, for handing them on (e.g. to a Jira request).

``parse_mail`` lists attachments by name, type and size only, so that a ParsedMail stays small;
this reads the same parts again, in the same order and by the same test (``parts.walk``), and
returns their decoded bytes. Like ``parse_mail`` it raises nothing but ``Quarantine``.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import Message

from mailbot.errors import Quarantine
from mailbot.parse.adapter import load
from mailbot.parse.parts import _BODY_TYPES, _filename, _payload_bytes


@dataclass(frozen=True)
class AttachmentFile:
    filename: str  # as the sender named it ("" when unnamed)
    content_type: str  # lower-case, e.g. "image/png"
    data: bytes  # decoded; an attached message is its serialised bytes


def attachment_files(raw: bytes) -> list[AttachmentFile]:
    """Every attachment of `raw`; a part whose bytes cannot be decoded is left out."""
    try:
        message = load(bytes(raw)).message
    except Quarantine:
        raise
    except Exception as exc:  # the package's contract: nothing but Quarantine
        raise Quarantine(f"unparseable: {type(exc).__name__}: {str(exc)[:200]}") from exc
    found: list[AttachmentFile] = []
    stack: list[Message] = [message]
    while stack:
        part = stack.pop()
        ctype = part.get_content_type()
        if ctype.startswith("multipart/"):
            payload = part.get_payload()
            if isinstance(payload, list):
                stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
            continue
        filename = _filename(part)
        if _BODY_TYPES.get(ctype) and not filename and part.get_content_disposition() != "attachment":
            continue  # body text, not an attachment (the same test as parts.walk)
        data = _bytes(part, ctype)
        if data is not None:
            found.append(AttachmentFile(filename, ctype.lower(), data))
    return found


def _bytes(part: Message, ctype: str) -> bytes | None:
    try:
        if ctype.startswith("message/"):
            inner = part.get_payload()
            if isinstance(inner, list):
                return b"".join(p.as_bytes() for p in inner if isinstance(p, Message))
        return _payload_bytes(part)
    except Exception:  # a damaged part: the rest of the mail still counts
        return None
