"""A stored mail's MIME tree as byte ranges, so that one part can be replaced and every other byte stays.

Re-serialising a parsed `email.message.Message` changes bytes the sender wrote (header folding, line
ends, transfer encodings), and the team and Jira must get an image exactly as the customer sent it;
the retention job must keep the text parts of a mail byte for byte. So the tree is read here from the
bytes themselves: each entity is (start, body, end) offsets into the mail, headers are parsed by the
stdlib only to read Content-Type, -Disposition and the file name, and `replace` splices new bytes in
for whole entities.

Hostile input fails with `Unreadable` (a reason): nesting deeper than MAX_DEPTH, more than MAX_PARTS
parts. A multipart whose boundary is missing or never appears is one opaque leaf (the stdlib reads
it as one blob too); a part without a blank line is all headers when it starts with one, else all body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from email import message_from_bytes
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailbot.parse.parts import _BODY_TYPES, _filename

MAX_DEPTH = 16  # nested multiparts; real mail rarely goes past 4
MAX_PARTS = 500  # entities in one mail
_BLANK_LINE = re.compile(rb"\r?\n\r?\n")
_HEADER_LINE = re.compile(rb"[!-9;-~]+:")
_FIELD_START = re.compile(rb"^(?=[^ \t\r\n])", re.MULTILINE)
_BOUNDARY_OK = re.compile(r"[ -~]{1,200}")  # RFC 2046 says 70; some mailers write longer ones


class Unreadable(ValueError):
    """The mail's MIME structure cannot be split safely; `str(exc)` says why (no customer text)."""


@dataclass(frozen=True, eq=False)  # identity: an entity is one place in one mail
class Entity:
    start: int  # first byte of its header block
    body: int  # first byte of its body (after the blank line)
    end: int  # one past its last byte; the line break before the next delimiter is not part of it
    header: Message  # the Content-* fields only, parsed (compat32)
    children: tuple[Entity, ...] = ()
    multipart: bool = False

    @property
    def content_type(self) -> str:
        return self.header.get_content_type().lower()

    @property
    def filename(self) -> str:
        return _filename(self.header)

    @property
    def is_body_text(self) -> bool:
        """Text the sender wrote: text/plain or text/html without a file name, not marked attachment.

        The same test as `mailbot.parse.parts.walk`, so what the parser reads as the mail's text is
        exactly what stays; everything else (inline images referenced by cid too) is an attachment.
        """
        try:
            disposition = self.header.get_content_disposition()
        except Exception:  # a malformed parameter list
            disposition = None
        return bool(_BODY_TYPES.get(self.content_type)) and not self.filename and disposition != "attachment"


def read_tree(raw: bytes) -> Entity:
    """The tree of `raw`; raises Unreadable."""
    counter = [0]
    return _entity(raw, 0, len(raw), 0, counter, "text/plain")


def leaves(entity: Entity) -> Iterator[Entity]:
    """The non-multipart entities in document order."""
    if not entity.multipart:
        yield entity
        return
    for child in entity.children:
        yield from leaves(child)


def decoded_body(raw: bytes, entity: Entity) -> bytes:
    """The entity's body with its transfer encoding undone; an attached message as it is stored."""
    if entity.multipart or entity.content_type.startswith(("message/", "multipart/")):
        return raw[entity.body : entity.end]
    fields = _content_fields(raw[entity.start : entity.body])
    part = message_from_bytes(fields + raw[entity.body : entity.end])
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else raw[entity.body : entity.end]


def header_fields(block: bytes) -> list[bytes]:
    """The header block's fields, each with its continuation lines and line ends, as written."""
    starts = [m.start() for m in _FIELD_START.finditer(block)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    fields = [block[a:b] for a, b in zip(starts, [*starts[1:], len(block)], strict=True)]
    return [_one_line_end(field) for field in fields if field.strip()]


def _one_line_end(field: bytes) -> bytes:
    """The field with the blank line that ends a header block (if it is the last) taken off."""
    text = field.rstrip(b"\r\n")
    rest = field[len(text) :]
    return text + (b"\r\n" if rest.startswith(b"\r\n") else b"\n" if rest else b"")


def is_content_field(field: bytes) -> bool:
    return field[:8].lower() == b"content-"


def replace(raw: bytes, replacements: Mapping[Entity, bytes]) -> bytes:
    """`raw` with each given entity's bytes (header and body) swapped for new ones; the rest as it was."""
    out: list[bytes] = []
    position = 0
    for entity in sorted(replacements, key=lambda e: e.start):
        if entity.start < position:
            raise ValueError("replacements overlap")
        out += [raw[position : entity.start], replacements[entity]]
        position = entity.end
    out.append(raw[position:])
    return b"".join(out)


# --- reading ---------------------------------------------------------------------------------------


def _content_fields(block: bytes) -> bytes:
    fields = [f for f in header_fields(block) if is_content_field(f)]
    return b"".join(f if f.endswith(b"\n") else f + b"\r\n" for f in fields) + b"\r\n"


def _entity(raw: bytes, start: int, end: int, depth: int, counter: list[int], default_type: str) -> Entity:
    counter[0] += 1
    if counter[0] > MAX_PARTS:
        raise Unreadable(f"more than {MAX_PARTS} MIME parts")
    if depth > MAX_DEPTH:
        raise Unreadable(f"MIME parts nested deeper than {MAX_DEPTH} levels")
    body = _body_start(raw, start, end)
    header = BytesHeaderParser(policy=compat32).parsebytes(_content_fields(raw[start:body]))
    header.set_default_type(default_type)  # a multipart/digest's parts are mails unless they say otherwise
    if header.get_content_maintype() != "multipart":
        return Entity(start, body, end, header)
    boundary = header.get_boundary()
    if not boundary or not _BOUNDARY_OK.fullmatch(boundary):
        return Entity(start, body, end, header)  # opaque: cannot be split
    ranges = _part_ranges(raw, body, end, boundary.encode("ascii"))
    if not ranges:
        return Entity(start, body, end, header)  # the boundary never appears: opaque
    inner = "message/rfc822" if header.get_content_type() == "multipart/digest" else "text/plain"
    children = tuple(_entity(raw, a, b, depth + 1, counter, inner) for a, b in ranges)
    return Entity(start, body, end, header, children, multipart=True)


def _body_start(raw: bytes, start: int, end: int) -> int:
    """Where the body begins: after the first empty line, or at once when the entity starts with one."""
    for eol in (b"\r\n", b"\n"):
        if raw.startswith(eol, start) and start + len(eol) <= end:
            return start + len(eol)
    found = _BLANK_LINE.search(raw, start, end)
    if found is not None:
        return found.end()
    if _HEADER_LINE.match(raw, start, end):
        return end  # headers only (a mail stored with its header alone, an empty part)
    return start  # no headers at all: the whole part is body (text/plain by default, as the stdlib reads it)


def _part_ranges(raw: bytes, body: int, end: int, boundary: bytes) -> list[tuple[int, int]]:
    """(start, end) of each part between the delimiter lines of `boundary` (RFC 2046 5.1.1)."""
    delimiter = re.compile(rb"^--" + re.escape(boundary) + rb"(--)?[ \t]*(\r\n|\n|\Z)", re.MULTILINE)
    ranges: list[tuple[int, int]] = []
    opened: int | None = None
    for match in delimiter.finditer(raw, body, end):
        if opened is not None:
            stop = match.start()
            stop -= 2 if raw[stop - 2 : stop] == b"\r\n" else 1 if raw[stop - 1 : stop] == b"\n" else 0
            ranges.append((opened, max(opened, stop)))
        if match.group(1):  # the close delimiter: what follows is the epilogue
            return ranges
        opened = match.end()
    if opened is not None:
        ranges.append((opened, end))  # no close delimiter: the last part runs to the end
    return ranges
