"""What makes two stored mails the same mail: the keys that ingest's unique constraints compare.

- `sha256`: the very same bytes (the same delivery seen twice, a re-appended copy).
- `fingerprint`: the same Message-ID, From header and body, however the transport headers differ
  (the same mail delivered to two addresses of the mailbox, or re-sent by a relay).

The Message-ID alone is not a key: form mailers and broken clients reuse ids like `<1@localhost>` for
every sender, and treating those as duplicates lost customers' mails silently.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailbot.parse import message_id_of

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LINE_END = re.compile(rb"\r\n|\r")
MAX_FROM_BYTES = 4096  # enough for any honest From header; a longer one is compared by its start


@dataclass(frozen=True)
class ContentKeys:
    message_id: str
    sha256: str
    fingerprint: str


def content_keys(raw: bytes) -> ContentKeys:
    header, body = _split(raw)
    message = BytesHeaderParser(policy=compat32).parsebytes(header)
    sender = " ".join(str(message.get("From", "")).split())[:MAX_FROM_BYTES]
    message_id = message_id_of(raw, message)  # the header block parsed once (issue 13)
    digest = hashlib.sha256()
    for chunk in (message_id.encode("utf-8", "surrogateescape"), sender.encode("utf-8", "surrogateescape"),
                  _LINE_END.sub(b"\n", body).rstrip()):  # fmt: skip
        digest.update(len(chunk).to_bytes(8, "big"))
        digest.update(chunk)
    return ContentKeys(message_id, hashlib.sha256(raw).hexdigest(), digest.hexdigest())


def _split(raw: bytes) -> tuple[bytes, bytes]:
    match = _HEADER_END.search(raw)
    if match is None:
        return raw, b""
    return raw[: match.end()], raw[match.end() :]
