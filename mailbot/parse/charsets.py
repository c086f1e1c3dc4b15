"""Bytes to text with charset fallbacks that never raise and avoid mojibake.

Mail in the wild carries wrong labels: UTF-8 bytes labelled ``iso-8859-1`` (decodes "fine" to
``Ã¼``), Windows-1252 bytes labelled ``utf-8`` or ``us-ascii``, unknown labels such as
``unknown-8bit``, or 8-bit bytes with no label at all. The order tried is: the declared charset
(unless it is a single-byte charset and the bytes are valid non-ASCII UTF-8), then UTF-8, then
Windows-1252, then Latin-1 (which cannot fail). Each fallback is reported as a short note so the
caller can record it as a defect.
"""

from __future__ import annotations

import codecs

from mailbot.logredact import quoted

_FALLBACKS = ("utf-8", "cp1252", "latin-1")
# Codecs that map every byte to some character, so a wrong label never fails loudly.
_SINGLE_BYTE_PREFIXES = ("iso8859-", "cp125", "cp437", "cp85", "koi8", "mac-", "latin", "ascii")


def codec_name(label: str | None) -> str | None:
    """Python codec name for a MIME charset label, or None when unknown or not a text codec."""
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if not label:
        return None
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError, TypeError):
        return None
    # bytes-to-bytes codecs (base64, zlib, rot13 ...) are not text encodings
    return info.name if getattr(info, "_is_text_encoding", True) else None


def _is_utf8_with_non_ascii(data: bytes) -> bool:
    if data.isascii():
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def clean(text: str) -> str:
    """Drop NUL characters and lone surrogates, which databases and JSON refuse."""
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def decode_bytes(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode ``data`` declared as ``label``; returns (text, note) where note explains a fallback."""
    codec = codec_name(label)
    if codec is None and data.isascii():
        return clean(data.decode("ascii")), None
    if codec is not None:
        mojibake_risk = codec.startswith(_SINGLE_BYTE_PREFIXES) and _is_utf8_with_non_ascii(data)
        if not mojibake_risk:
            try:
                return clean(data.decode(codec)), None
            except (UnicodeError, LookupError, ValueError, TypeError):
                pass
    for fallback in _FALLBACKS:
        try:
            text = data.decode(fallback)
        except UnicodeDecodeError:
            continue
        if codec is not None:
            note = f"declared charset {quoted(label)} does not fit the bytes; read as {fallback}"
        elif label:
            note = f"unknown charset {quoted(label)}; read as {fallback}"
        else:
            note = f"8-bit text without a charset label; read as {fallback}"
        return clean(text), note
    raise AssertionError("latin-1 decodes every byte string")  # pragma: no cover
