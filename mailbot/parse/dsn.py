"""What a bounce says about a mail: which mail it returns and what became of each recipient.

A delivery status notification (RFC 3464, inside RFC 6522 multipart/report) says it in fields: one
block per recipient in ``message/delivery-status`` (Final-Recipient, Action, Status, Diagnostic-Code),
and the returned mail or its header in ``message/rfc822`` / ``text/rfc822-headers``. A plain-text
bounce only quotes the mail, so Message-IDs shaped like ours (``<mb.token.signature@domain>``, see
`mailbot.reply.compose.make_message_id`) are also looked for anywhere in its text. Everything here is
the bounce's claim: the caller believes an id only when it is signed by us or in our outbox.

Pure, and bounded like every parser of mail text: at most `MAX_RECIPIENTS` recipients, `MAX_IDS` ids,
`MAX_SCANNED_BYTES` of text looked through.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.policy import compat32
from itertools import islice

from mailbot.header_text import one_line
from mailbot.parse.headers import decode_value, message_ids

MAX_RECIPIENTS = 20
MAX_IDS = 20
MAX_PARTS = 50
MAX_SCANNED_BYTES = 2_000_000
MAX_FIELD_CHARS = 300
_STATUS_TYPES = ("message/delivery-status", "message/global-delivery-status")
_RETURNED = ("message/rfc822", "message/global", "text/rfc822-headers", "message/global-headers")
_OUR_ID = re.compile(rb"<mb\.[A-Za-z0-9._-]{1,64}\.[0-9a-f]{20}@[^>@\s]{1,255}>")
_BLOCK_SEPARATOR = re.compile(r"\r?\n[ \t]*\r?\n")


@dataclass(frozen=True)
class RecipientStatus:
    """One recipient of the returned mail, as the reporting server saw it."""

    recipient: str  # Final-Recipient (else Original-Recipient), without its "rfc822;" type
    action: str  # "failed", "delayed", "delivered", "relayed", "expanded"; "" when not given
    status: str  # "5.1.1"
    diagnostic: str  # Diagnostic-Code without its "smtp;" type, on one line

    def __str__(self) -> str:
        said = f" ({self.diagnostic})" if self.diagnostic else ""
        return (
            f"{self.recipient or '(recipient not named)'}: {self.action or 'no action'} {self.status}{said}"
        )


@dataclass(frozen=True)
class DeliveryReport:
    """What one bounce claims; `is_dsn` when it carries RFC 3464 fields, else only quoted ids count."""

    is_dsn: bool
    recipients: tuple[RecipientStatus, ...]
    message_ids: tuple[str, ...]  # of the returned mail first, then ids shaped like ours in the text

    @property
    def failed(self) -> tuple[RecipientStatus, ...]:
        return tuple(r for r in self.recipients if r.action == "failed")

    @property
    def only_delayed(self) -> bool:
        """A warning that delivery is still being tried, not a failure."""
        return bool(self.recipients) and all(r.action == "delayed" for r in self.recipients)


def read_delivery_report(raw: bytes) -> DeliveryReport:
    """The claims of bounce `raw`; empty when it says nothing about a mail (never raises)."""
    try:
        message = BytesParser(policy=compat32).parsebytes(raw[:MAX_SCANNED_BYTES])
    except Exception:  # a bounce too broken to parse can still quote an id
        return DeliveryReport(False, (), _ids_like_ours([raw[:MAX_SCANNED_BYTES]]))
    recipients: list[RecipientStatus] = []
    returned: list[str] = []
    texts: list[bytes] = [raw[:MAX_SCANNED_BYTES]]
    is_dsn = False
    for part in islice(message.walk(), MAX_PARTS):
        ctype = part.get_content_type()
        if ctype in _STATUS_TYPES:
            is_dsn = True
            recipients += _recipients(_blocks(part))
        elif ctype in _RETURNED:
            returned += _returned_ids(part)
        elif ctype.startswith("text/"):
            texts.append(_payload(part))  # decoded: quoted-printable may have split an id over two lines
    ids = dict.fromkeys([*returned, *_ids_like_ours(texts)])
    return DeliveryReport(is_dsn, tuple(recipients[:MAX_RECIPIENTS]), tuple(islice(ids, MAX_IDS)))


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        return b""
    return data[:MAX_SCANNED_BYTES] if isinstance(data, bytes) else b""


def _text(part: Message) -> str:
    return _payload(part).decode("utf-8", "replace")


def _blocks(part: Message) -> list[Message]:
    """The field blocks of a delivery-status part: the stdlib splits message/delivery-status itself;
    the global (UTF-8) variant it reads as one message (first block the header, the rest its body),
    so that one is split here."""
    payload = part.get_payload()
    if part.get_content_type() == "message/delivery-status" and isinstance(payload, list):
        return [block for block in payload if isinstance(block, Message)]
    if isinstance(payload, list):
        data = b"".join(inner.as_bytes() for inner in payload if isinstance(inner, Message))
        text = data.decode("utf-8", "replace")  # RFC 6533: the global variant is UTF-8
    else:
        text = _text(part)
    parser = HeaderParser(policy=compat32)
    return [
        parser.parsestr(block) for block in _BLOCK_SEPARATOR.split(text[:MAX_SCANNED_BYTES]) if block.strip()
    ]


def _recipients(blocks: list[Message]) -> list[RecipientStatus]:
    """Per-recipient blocks (the first block is about the message; it names no recipient)."""
    found = []
    for block in blocks[: MAX_RECIPIENTS + 1]:
        recipient = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
        action = _field(block, "Action").lower()
        if not (recipient or action):
            continue
        status = _field(block, "Status")
        found.append(RecipientStatus(recipient, action, status, _field(block, "Diagnostic-Code")))
    return found


def _field(block: Message, name: str) -> str:
    """One field's value, without its "rfc822;" / "smtp;" type, on one line, bounded."""
    value = block.get(name)
    if value is None:
        return ""
    kind, semicolon, rest = decode_value(str(value)).partition(";")
    text = rest if semicolon and kind.strip() and " " not in kind.strip() else kind
    return one_line(text)[:MAX_FIELD_CHARS]


def _returned_ids(part: Message) -> list[str]:
    """The Message-ID of the returned mail or header block (text/rfc822-headers is text to parse)."""
    payload = part.get_payload()
    if isinstance(payload, list) and payload and isinstance(payload[0], Message):
        header = payload[0]
    else:
        header = HeaderParser(policy=compat32).parsestr(_text(part))
    value = header.get("Message-ID")
    return message_ids(str(value)) if value is not None else []


def _ids_like_ours(texts: list[bytes]) -> list[str]:
    found: dict[str, None] = {}
    for text in texts:
        for match in islice(_OUR_ID.finditer(text), MAX_IDS):
            found.setdefault(match.group().decode("ascii"))
    return list(found)
