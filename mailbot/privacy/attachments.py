"""Which attachments leave mailbot, and what the stored mail keeps of them (issue 15: minimisation).

Pure functions, no I/O:
- `forwardable`: may one attachment go to the team or to Jira? `[privacy] forward_attachment_types`
  (an allow-list, "image/*" wildcards) and `forward_attachment_max_mb` decide; Jira's own
  `[jira] attachment_max_mb` is checked after it by the Jira job (the smaller limit wins).
- `forwarded_copy`: the customer's mail as the team notice attaches it, every attachment that may not
  be forwarded replaced by a short text part naming it; the bytes of everything else unchanged.
- `without_attachments`: the stored mail with every attachment replaced by such a part and the text
  parts unchanged, for the retention job (ticket solved + `attachment_days`); idempotent.

What counts as an attachment is what `mailbot.parse` counts: every part but text/plain and text/html
without a file name (so an inline image that an HTML mail references by cid is an attachment, and
its HTML shows a missing image), and an attached mail (message/rfc822) as one whole attachment.

Declared types can lie. The bytes of the common types are checked against their signatures (PNG,
JPEG, GIF, WebP, PDF), programs and archives are refused whatever they claim to be (PE, ELF, Mach-O,
ZIP, RAR, 7z, gzip), and so are file names ending in a program's extension; SVG (XML that may carry
scripts) passes only when listed by name, never through "image/*". Beyond that the content is not
inspected (a PDF's scripts, a malicious but valid image): that is the mail client's and Jira's job.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from mailbot.config import PrivacySettings
from mailbot.domain import Language
from mailbot.header_text import one_line
from mailbot.privacy.mime_tree import (
    Entity,
    Unreadable,
    decoded_body,
    header_fields,
    is_content_field,
    leaves,
    read_tree,
    replace,
)

log = logging.getLogger(__name__)
HEAD_BYTES = 1024  # what `forwardable` looks at of the content (PDF allows junk before "%PDF-")
NAME_CHARS = 120
MAX_FORWARD_DEPTH = 3  # a mail forwarded as an attachment of a forwarded mail ...
REMOVED_HEADER = b"X-Mailbot-Removed"  # marks our replacement parts in the stored and forwarded mail
# In the team's copy the note is shown inline where the attachment was; in the stored mail it is an
# attachment itself, so that the mail's text as mailbot.parse reads it stays exactly as it was.
FORWARD_NOTE_DISPOSITION = b"inline"
STORED_NOTE_DISPOSITION = b'attachment; filename="attachment-removed.txt"'

_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}
_PROGRAMS_AND_ARCHIVES = (
    b"MZ", b"\x7fELF", b"\xcf\xfa\xed\xfe", b"\xce\xfa\xed\xfe", b"\xca\xfe\xba\xbe", b"PK\x03\x04",
    b"Rar!\x1a\x07", b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b",
)  # fmt: skip
_PROGRAM_EXTENSIONS = frozenset({
    ".exe", ".com", ".scr", ".pif", ".bat", ".cmd", ".msi", ".msp", ".dll", ".cpl", ".jar", ".js", ".jse",
    ".vbs", ".vbe", ".wsf", ".wsh", ".hta", ".ps1", ".psm1", ".lnk", ".reg", ".iso", ".img", ".vhd", ".apk",
    ".app", ".dmg", ".sh", ".docm", ".xlsm", ".pptm",
})  # fmt: skip
_WHY: dict[str, dict[Language, str]] = {
    "type": {
        Language.EN: "type {type} is not in [privacy] forward_attachment_types",
        Language.DE: "Dateityp {type} ist nicht in [privacy] forward_attachment_types erlaubt",
    },
    "size": {
        Language.EN: "{size} is over [privacy] forward_attachment_max_mb ({limit})",
        Language.DE: "{size} ist größer als [privacy] forward_attachment_max_mb ({limit})",
    },
    "mismatch": {
        Language.EN: "the content is not {type} as declared",
        Language.DE: "der Inhalt ist nicht {type} wie angegeben",
    },
    "program": {
        Language.EN: "the content is a program or an archive",
        Language.DE: "der Inhalt ist ein Programm oder ein Archiv",
    },
    "extension": {
        Language.EN: "a file name ending in {ext} is never forwarded",
        Language.DE: "Dateinamen auf {ext} werden nie weitergeleitet",
    },
}
_KEPT = {
    Language.EN: "Attachment removed: {name} ({type}, {size}), {why}. It stays in mailbot until {until}.",
    Language.DE: "Anhang entfernt: {name} ({type}, {size}), {why}. Er bleibt in mailbot bis {until}.",
}
_UNTIL = {
    Language.EN: ("the ticket is solved", "{days} days after the ticket is solved"),
    Language.DE: ("zur Lösung des Tickets", "{days} Tage nach der Lösung des Tickets"),
}
_WITHHELD = {
    Language.EN: "The original mail is not attached: {why}. Its text is above; the mail stays in mailbot.",
    Language.DE: "Die Originalnachricht ist nicht angehängt: {why}. Ihr Text steht oben; sie ist in mailbot.",
}


@dataclass(frozen=True)
class Removed:
    """An attachment left out, as the team or the stored mail names it."""

    name: str
    content_type: str
    size: int
    why: str


@dataclass(frozen=True)
class ForwardCopy:
    """`raw` is the copy to attach, or None when the mail could not be split (`failure` says why)."""

    raw: bytes | None
    removed: tuple[Removed, ...] = ()
    failure: str | None = None


def forwardable(
    content_type: str,
    size: int,
    settings: PrivacySettings,
    *,
    filename: str = "",
    head: bytes | None = None,
    language: Language = Language.EN,
) -> tuple[bool, str]:
    """(may it be forwarded, why not) for one attachment; `head`: its first bytes, when known."""
    ctype = media_type(content_type)
    ext = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if ext in _PROGRAM_EXTENSIONS:
        return False, _WHY["extension"][language].format(ext=ext)
    if not any(_matches(ctype, pattern) for pattern in settings.forward_attachment_types):
        return False, _WHY["type"][language].format(type=ctype)
    limit = int(settings.forward_attachment_max_mb * 1024 * 1024)
    if size > limit:
        sizes = {"size": size_text(size, language), "limit": size_text(limit, language)}
        return False, _WHY["size"][language].format(**sizes)
    if head is not None and head.startswith(_PROGRAMS_AND_ARCHIVES):
        return False, _WHY["program"][language]
    if head is not None and not _looks_like(ctype, head):
        return False, _WHY["mismatch"][language].format(type=ctype)
    return True, ""


def media_type(content_type: str) -> str:
    """ "Image/PNG; name=x" -> "image/png"; no type at all counts as application/octet-stream."""
    ctype = content_type.split(";", 1)[0].strip().lower()
    return ctype if "/" in ctype else "application/octet-stream"


def size_text(count: int, language: Language = Language.EN) -> str:
    text = f"{count / 1048576:.1f} MB" if count >= 1048576 else f"{count / 1024:.1f} kB"
    return text.replace(".", ",") if language is Language.DE else text


def forwarded_copy(raw: bytes, settings: PrivacySettings, lang: Language) -> ForwardCopy:
    """The mail for the team notice: attachments `forwardable` refuses replaced by a note in `lang`.

    Never raises: a mail whose structure cannot be split (or any fault here) gives `raw=None` and the
    reason, and the notice attaches `withheld_note` instead (its text still carries the mail's words).
    """
    try:
        tree = read_tree(raw)
        swaps: dict[Entity, bytes] = {}
        removed: list[Removed] = []
        for leaf in leaves(tree):
            if leaf.is_body_text or _is_ours(raw, leaf):
                continue
            data = decoded_body(raw, leaf)
            name = display_name(leaf.filename)
            head, ctype = data[:HEAD_BYTES], leaf.content_type
            ok, why = forwardable(ctype, len(data), settings, filename=name, head=head, language=lang)
            if not ok:
                gone = Removed(name, leaf.content_type, len(data), why)
                removed.append(gone)
                swaps[leaf] = _note_part(raw, leaf, _kept_note(gone, settings.attachment_days, lang))
        return ForwardCopy(replace(raw, swaps) if swaps else raw, tuple(removed))
    except Exception as exc:  # a notice without the copy beats no notice
        return ForwardCopy(None, failure=_failure(exc))


def withheld_note(failure: str, language: Language) -> bytes:
    """A stand-in for the original mail when it cannot be forwarded: a tiny mail saying why (the
    customer's words reach the team in the notice's excerpt, never through a copy that may be cut)."""
    return _text_entity([], _WITHHELD[language].format(why=failure), b"\r\n")


def without_attachments(raw: bytes, note: str) -> bytes:
    """`raw` with every attachment body replaced by a text part naming it (name, type, size) and `note`.

    Text parts, headers and the structure stay byte for byte, so the ticket's text reads as before; a
    second call returns the same bytes. A mail without a text part of its own is read by mailbot.parse
    from its text attachments or from a mail it forwards as an attachment: those are its text then and
    stay (a forwarded mail stripped of its own attachments). A mail whose structure cannot be split
    keeps its header block and gets one text part saying so instead of its body (nothing of an
    attachment may survive).
    """
    try:
        return _stripped(raw, one_line(note), 0)
    except (Unreadable, RecursionError, ValueError, LookupError, TypeError) as exc:
        return _unreadable_stripped(raw, note, _failure(exc))


def _stripped(raw: bytes, note: str, depth: int) -> bytes:
    found = list(leaves(read_tree(raw)))
    texts_are_body = not any(leaf.is_body_text for leaf in found)
    swaps: dict[Entity, bytes] = {}
    for leaf in found:
        if leaf.is_body_text or _is_ours(raw, leaf):
            continue
        if texts_are_body and leaf.content_type in ("text/plain", "text/html"):
            continue
        if texts_are_body and _forwarded_inline(leaf) and depth < MAX_FORWARD_DEPTH:
            inner = _stripped(raw[leaf.body : leaf.end], note, depth + 1)
            if inner != raw[leaf.body : leaf.end]:
                swaps[leaf] = raw[leaf.start : leaf.body] + inner
            continue
        size = len(decoded_body(raw, leaf))
        text = f"Attachment removed: {display_name(leaf.filename) or '(unnamed)'} ({leaf.content_type}, "
        text += f"{size_text(size)}). {note}"
        swaps[leaf] = _note_part(raw, leaf, text.rstrip(), disposition=STORED_NOTE_DISPOSITION)
    return replace(raw, swaps) if swaps else raw


def _forwarded_inline(leaf: Entity) -> bool:
    """An attached mail written as it is (7bit/8bit), which can be stripped in place."""
    encoding = str(leaf.header.get("Content-Transfer-Encoding", "7bit")).strip().lower()
    return leaf.content_type == "message/rfc822" and encoding in ("7bit", "8bit", "binary")


def display_name(filename: str) -> str:
    """The file name as a note shows it: one line, no control or bidi characters, bounded."""
    name = one_line(filename).strip()
    return name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"


# --- pieces ----------------------------------------------------------------------------------------


def _matches(ctype: str, pattern: str) -> bool:
    pattern = media_type(pattern)
    if pattern == ctype:
        return True
    if ctype == "image/svg+xml":  # XML that may carry scripts: only when listed by name
        return False
    main, _, sub = pattern.partition("/")
    return sub == "*" and (main == "*" or ctype.partition("/")[0] == main)


def _looks_like(ctype: str, head: bytes) -> bool:
    if ctype in _SIGNATURES:
        return head.startswith(_SIGNATURES[ctype])
    if ctype == "image/webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    if ctype == "application/pdf":
        return b"%PDF-" in head
    return True  # not a type whose signature is checked


def _kept_note(gone: Removed, days: int, language: Language) -> str:
    soon, later = _UNTIL[language]
    until = later.format(days=days) if days else soon
    unnamed = "(ohne Namen)" if language is Language.DE else "(unnamed)"
    return _KEPT[language].format(
        name=gone.name or unnamed,
        type=gone.content_type,
        size=size_text(gone.size, language),
        why=gone.why,
        until=until,
    )


def _is_ours(raw: bytes, leaf: Entity) -> bool:
    """A part this module wrote already (a second run leaves it as it is)."""
    block = raw[leaf.start : leaf.body]
    return any(f.lower().startswith(REMOVED_HEADER.lower() + b":") for f in header_fields(block))


def _eol(raw: bytes, leaf: Entity) -> bytes:
    """The line end the part's neighbourhood uses (its header block and the delimiter line before it)."""
    return b"\r\n" if b"\r\n" in raw[max(0, leaf.start - 2) : max(leaf.body, leaf.start + 2)] else b"\n"


def _note_part(raw: bytes, leaf: Entity, text: str, disposition: bytes = FORWARD_NOTE_DISPOSITION) -> bytes:
    """The leaf's non-Content header fields (a whole mail's From, Subject ...) and a text part."""
    eol = _eol(raw, leaf)
    kept = [f for f in header_fields(raw[leaf.start : leaf.body]) if not is_content_field(f)]
    return _text_entity(kept, text, eol, disposition)


def _text_entity(
    kept: Sequence[bytes], text: str, eol: bytes, disposition: bytes = FORWARD_NOTE_DISPOSITION
) -> bytes:
    data = text.encode("utf-8")
    if data.isascii():
        encoding, body = b"7bit", data
    else:
        encoded = base64.b64encode(data)
        encoding, body = b"base64", eol.join(encoded[i : i + 76] for i in range(0, len(encoded), 76))
    fields = b"".join(f if f.endswith(b"\n") else f + eol for f in kept)
    return (
        fields
        + b'Content-Type: text/plain; charset="utf-8"' + eol
        + b"Content-Transfer-Encoding: " + encoding + eol
        + b"Content-Disposition: " + disposition + eol
        + REMOVED_HEADER + b": yes" + eol
        + eol
        + body
    )  # fmt: skip


def _unreadable_stripped(raw: bytes, note: str, failure: str) -> bytes:
    """The header block kept, the body one text part (the structure could not be split)."""
    crlf, lf = raw.find(b"\r\n\r\n"), raw.find(b"\n\n")
    block = raw[: crlf + 2] if crlf >= 0 else raw[: lf + 1] if lf >= 0 else b""
    eol = b"\r\n" if b"\r\n" in block or not block else b"\n"
    kept = [f for f in header_fields(block) if not is_content_field(f)]
    text = f"Attachments removed; the body could not be split into parts ({failure}). {one_line(note)}"
    return _text_entity(kept, text.rstrip(), eol) + eol


def _failure(exc: BaseException) -> str:
    if isinstance(exc, Unreadable):
        return str(exc)
    if isinstance(exc, RecursionError):
        return "MIME parts nested too deep"
    log.warning("attachments: cannot split a mail: %s", type(exc).__name__)
    return f"the MIME structure cannot be read ({type(exc).__name__})"
