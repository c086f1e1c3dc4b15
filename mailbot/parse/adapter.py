"""The only place that imports mail-parser.

mail-parser does the MIME parse (with its guard against pathologically deep nesting), collects
the defects of every part plus its own address and MIME-header diagnostics, and recovers parts that
the stdlib leaves in a multipart epilogue. What it returns is then narrowed to what mailbot trusts:

* its decoded headers are not used (see ``headers.py``: an RFC 2047 unfolding bug);
* its text parts are kept only as a last resort (see ``parts.py``: it decodes with the declared
  charset alone and turns wrong-charset bytes into U+FFFD or mojibake);
* its attachment list is not used (unnamed parts get random file names, so the same bytes would
  not give the same result, and payloads come back as base64 text).
"""

from __future__ import annotations

import email
import logging
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32

import mailparser
from mailparser.exceptions import MailParserRecursionError

from mailbot.errors import Quarantine
from mailbot.logredact import shortened

# mail-parser logs a warning for every part type it does not render (pgp-signature, calendar ...);
# what matters is recorded as defects instead.
# mail-parser's own messages quote the mail ("Failed decoding header part: <the header>", the Received
# chain) even at ERROR; what it could not read becomes a recorded defect of ours instead (issue 15)
logging.getLogger("mailparser").setLevel(logging.CRITICAL)
log = logging.getLogger(__name__)

# stdlib defect class -> what it means for the reader of the mail
_MIME_DEFECTS = {
    "NoBoundaryInMultipartDefect": "declares no boundary, the parts cannot be separated",
    "StartBoundaryNotFoundDefect": "boundary never appears, the parts cannot be separated",
    "CloseBoundaryNotFoundDefect": "has no closing boundary, the last part may be cut off",
    "MultipartInvariantViolationDefect": "is a multipart without any parts",
    "FirstHeaderLineIsContinuationDefect": "starts with a folded (indented) header line",
    "MisplacedEnvelopeHeaderDefect": "has a mbox 'From ' line among its headers",
    "MissingHeaderBodySeparatorDefect": "has no blank line between headers and body",
    "InvalidBase64PaddingDefect": "has base64 with wrong padding",
    "InvalidBase64CharactersDefect": "has base64 with invalid characters",
    "InvalidBase64LengthDefect": "has base64 of impossible length, some bytes are lost",
    "InvalidMultipartContentTransferEncodingDefect": "is a multipart with a transfer encoding",
}
# mail-parser diagnostics that are noise for a support robot or handled elsewhere
_SKIPPED_GROUPS = {"received-headers", "date-headers"}
_SKIPPED_CLASSES = {"CharsetDecodeDefect"}  # charsets are decoded again in parts.py
_ADDRESS_HEADERS = {"from", "sender", "reply-to", "to", "cc"}


@dataclass(frozen=True)
class MimeView:
    """mail-parser's result, reduced to what the rest of the package uses."""

    message: Message  # the stdlib tree mail-parser built; walked by parts.py
    plain: tuple[str, ...]  # mail-parser's text parts, used only if the tree walk finds no text
    html: tuple[str, ...]
    defects: tuple[str, ...]  # short human sentences


def load(raw: bytes) -> MimeView:
    """Parse raw bytes with mail-parser; the stdlib parse alone when mail-parser trips over damage."""
    try:
        parsed = mailparser.parse_from_bytes(raw)
    except MailParserRecursionError as exc:
        raise Quarantine("broken MIME: the parts are nested too deeply to be read") from exc
    except (AttributeError, TypeError, ValueError, IndexError) as exc:
        # mail-parser 4.8 fails on some truncated multiparts (an epilogue of None, a part without a
        # boundary) whose readable parts the stdlib tree still holds: read those instead
        # the exception's text may quote the broken part: its type only, unless debugging
        log.info("mail-parser failed (%s); reading the stdlib MIME tree", type(exc).__name__)
        log.debug("mail-parser failed: %s: %s", type(exc).__name__, shortened(str(exc), 300))
        return _stdlib_view(raw)
    return MimeView(
        message=parsed.message,
        plain=tuple(str(text) for text in parsed.text_plain),
        html=tuple(str(text) for text in parsed.text_html),
        defects=tuple(_human_defects(parsed.defects)),
    )


def _stdlib_view(raw: bytes) -> MimeView:
    message = email.message_from_bytes(raw, policy=compat32)
    defects: list[str] = []
    for part in message.walk():
        for defect in getattr(part, "defects", []):
            text = _one_defect(part.get_content_type(), type(defect).__name__)
            if text and text not in defects:
                defects.append(text)
    return MimeView(message=message, plain=(), html=(), defects=tuple(defects))


def _human_defects(groups: list[dict[str, list[object]]]) -> list[str]:
    """Turn mail-parser's ``[{group: ["Class: detail", ...]}]`` into short sentences."""
    out: list[str] = []
    for group in groups:
        for key, entries in group.items():
            if key in _SKIPPED_GROUPS:
                continue
            for entry in entries:
                text = _one_defect(str(key), str(entry))
                if text and text not in out:
                    out.append(text)
    return out


def _one_defect(key: str, entry: str) -> str | None:
    cls, _, detail = entry.partition(": ")
    detail = detail.strip()
    if cls in _SKIPPED_CLASSES:
        return None
    if key == "address-headers":
        header, _, problem = detail.partition(": ")
        name = header.split("[", 1)[0]
        if name not in _ADDRESS_HEADERS:
            return None
        return f"{name.title()} header: {problem.replace('-', ' ')}"
    if key == "mime-headers":
        return f"MIME header problem: {detail}"
    return f"{key} {_MIME_DEFECTS.get(cls, detail or cls)}"
