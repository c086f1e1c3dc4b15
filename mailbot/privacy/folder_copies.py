"""Find and delete the mail server's copies of erased mails: the IMAP side of mailbot.privacy.folders.

A copy is the one we stored only when its bytes hash to the stored SHA-256: the Message-ID merely
narrows the search (form mailers and hostile senders reuse Message-IDs, and another person's mail with
the same id must stay). The bytes are hashed as ingest hashed them (mailbot.ingest.imap: BODY.PEEK[],
or only the header of a mail over `[limits] max_message_bytes`), so the same mail gives the same hash.

What can go wrong: the connection breaks (ImapSource turns it into a TransientError: the caller retries
every row not finished); the server refuses one row's SEARCH (that row alone is retried later, the
others go on). A crash after EXPUNGE and before the caller's commit deletes nothing twice: the next
attempt finds no copy and counts none.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError

from mailbot.config import ImapSettings, imap_folder_key
from mailbot.logredact import mask_addresses

DERIVED_DOMAIN = "mailbot.invalid"
FETCH_BYTES = 8_000_000  # fetched at once while hashing candidates: a folder of large mails stays in bounds
_SAFE_RUN = re.compile(r"[!#-\[\]-~]+")  # printable ASCII without space, quote and backslash


@dataclass(frozen=True)
class Queued:
    """One open row of folder_deletions, as the sweep needs it."""

    id: int
    message_id: str
    sha256: str


@dataclass
class Sweep:
    """What one batch came to: copies deleted per row, and rows the server refused (with why)."""

    deleted: dict[int, int] = field(default_factory=dict)
    refused: dict[int, str] = field(default_factory=dict)


def folders_to_search(settings: ImapSettings) -> list[str]:
    """Processed and Quarantine, where decided mail goes, then the inbox (mail erased before it was
    moved), each once (IMAP compares INBOX case-insensitively)."""
    names: dict[str, str] = {}
    for name in (settings.processed_folder, settings.quarantine_folder, settings.folder):
        names.setdefault(imap_folder_key(name), name)
    return list(names.values())


def search_criteria(message_id: str, sha256: str) -> list[Any]:
    """The IMAP SEARCH that finds every candidate copy (a superset: the hash decides).

    A mail without a usable Message-ID was stored under an id derived from its bytes
    (parse.core.derived_message_id), which no header holds: its candidates are the mails whose
    Message-ID header has no "@" (or that have none). Otherwise the id without its angle brackets
    (header search is a substring search); an id with characters a SEARCH string cannot carry as
    ASCII is searched by its longest plain piece, or the whole folder when it has none.
    """
    if message_id == derived_message_id_for(sha256):
        return ["NOT", "HEADER", "Message-ID", "@"]
    inner = message_id.strip().removeprefix("<").removesuffix(">")
    pieces = _SAFE_RUN.findall(inner)
    if not pieces:
        return ["ALL"]
    return ["HEADER", "Message-ID", max(pieces, key=len)]


def derived_message_id_for(sha256: str) -> str:
    """The id ingest gave a mail with these bytes that had no Message-ID of its own: the form of
    parse.core.derived_message_id, which hashes the very bytes that `sha256` is the hash of."""
    return f"<{sha256[:32]}@{DERIVED_DOMAIN}>"


def sweep(client: IMAPClient, settings: ImapSettings, rows: Sequence[Queued], max_bytes: int) -> Sweep:
    """Delete the rows' copies from every folder mailbot manages; the connection stays usable."""
    result = Sweep(deleted={row.id: 0 for row in rows})
    existing = {imap_folder_key(str(name)) for _flags, _delimiter, name in client.list_folders()}
    for folder in folders_to_search(settings):
        if imap_folder_key(folder) not in existing:
            continue  # nothing was ever moved there (or someone removed it with its mail)
        pending = [row for row in rows if row.id not in result.refused]
        if pending:
            _sweep_folder(client, folder, pending, max_bytes, result)
    return result


def _sweep_folder(
    client: IMAPClient, folder: str, rows: Sequence[Queued], max_bytes: int, result: Sweep
) -> None:
    client.select_folder(folder)
    candidates: dict[int, list[Queued]] = {}
    for row in rows:
        try:
            uids = client.search(search_criteria(row.message_id, row.sha256))
        except IMAPClientAbortError:
            raise  # the connection is gone: every row of the batch is retried
        except IMAPClientError as exc:
            result.refused[row.id] = safe_error(f"IMAP SEARCH in {folder} refused: {exc}", row.message_id)
            continue
        for uid in uids:
            candidates.setdefault(int(uid), []).append(row)
    if not candidates:
        return
    hashes = _hashes(client, sorted(candidates), max_bytes)
    doomed: list[int] = []
    for uid, wanting in candidates.items():
        owner = next((row for row in wanting if hashes.get(uid) == row.sha256), None)
        if owner is not None:
            doomed.append(uid)
            result.deleted[owner.id] += 1
    delete_uids(client, sorted(doomed))


def _hashes(client: IMAPClient, uids: Sequence[int], max_bytes: int) -> dict[int, str]:
    """uid -> SHA-256 of the bytes ingest would have stored, fetched a few megabytes at a time."""
    sizes = {
        int(uid): int(data.get(b"RFC822.SIZE", 0))
        for uid, data in client.fetch(uids, ["RFC822.SIZE"]).items()
    }
    hashes: dict[int, str] = {}
    large = [uid for uid, size in sizes.items() if size > max_bytes]
    if large:  # ingest kept only their header
        for uid, data in client.fetch(large, ["BODY.PEEK[HEADER]"]).items():
            hashes[int(uid)] = hashlib.sha256(bytes(data.get(b"BODY[HEADER]", b""))).hexdigest()
    group: list[int] = []
    group_bytes = 0
    for uid in sorted(uid for uid, size in sizes.items() if size <= max_bytes):
        if group and group_bytes + sizes[uid] > FETCH_BYTES:
            hashes |= _whole_hashes(client, group)
            group, group_bytes = [], 0
        group.append(uid)
        group_bytes += sizes[uid]
    if group:
        hashes |= _whole_hashes(client, group)
    return hashes


def _whole_hashes(client: IMAPClient, uids: Sequence[int]) -> dict[int, str]:
    fetched = client.fetch(list(uids), ["BODY.PEEK[]"])
    return {
        int(uid): hashlib.sha256(bytes(data[b"BODY[]"])).hexdigest()
        for uid, data in fetched.items()
        if b"BODY[]" in data
    }


def delete_uids(client: IMAPClient, uids: Sequence[int]) -> None:
    """\\Deleted, then UID EXPUNGE of exactly these; a server without UIDPLUS can only EXPUNGE every
    mail flagged \\Deleted in the folder (what mailbot's own move falls back to as well)."""
    if not uids:
        return
    client.add_flags(list(uids), [b"\\Deleted"], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(list(uids))
    else:
        client.expunge()


def safe_error(text: str, *message_ids: str) -> str:
    """An error for `last_error`: no Message-ID (a server may echo the SEARCH) and no address."""
    for message_id in message_ids:
        for form in (message_id, message_id.strip("<>")):
            if form:
                text = text.replace(form, "<Message-ID>")
    return mask_addresses(text)[:500]
