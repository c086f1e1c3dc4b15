"""What two clients may never share: a ticket prefix, a support address, a mailbox, a store app.

A shared prefix makes one client's reference look like another's to people and tools; a shared
support address or mailbox would have two clients take (and answer) the same mail; a shared store app
would have one client's reviews (keyed by store, app and review id) read and answered as another's.
Pure: settings in, messages naming both files out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from mailbot.addresses import canonical
from mailbot.config import Settings


def _prefix(settings: Settings) -> tuple[str, ...]:
    return (settings.support.ticket_prefix,)


def _address(settings: Settings) -> tuple[str, ...]:
    return (canonical(settings.support.address),)


def _mailbox(settings: Settings) -> tuple[str, ...]:
    if settings.imap is not None:
        imap = settings.imap
        return (f"IMAP {imap.username or ''}@{imap.host}:{imap.port or ''}/{imap.folder}",)
    assert settings.maildir is not None
    return (f"Maildir {settings.maildir.path.resolve()}",)


def _store_apps(settings: Settings) -> tuple[str, ...]:
    reviews = settings.reviews
    return tuple(f"{app.store} {app.app}" for app in reviews.apps) if reviews is not None else ()


_KEYS: tuple[tuple[str, Callable[[Settings], tuple[str, ...]], str], ...] = (
    ("[support] ticket_prefix", _prefix, "give each client its own prefix"),
    ("[support] address", _address, "each client needs its own support address"),
    ("mail source", _mailbox, "each client reads its own mailbox (or folder)"),
    ("[[reviews.apps]]", _store_apps, "a store app belongs to one client: list it under that client only"),
)


def clashes(clients: Mapping[str, Settings]) -> dict[str, list[str]]:
    """slug → problems, for every client that shares a prefix, address, mailbox or store app with another.

    Both sides are named in both messages: whoever reads either file's error sees the other file.
    """
    found: dict[str, list[str]] = {}
    for label, value_of, fix in _KEYS:
        seen: dict[str, str] = {}
        for slug in sorted(clients):
            for value in value_of(clients[slug]):
                other = seen.setdefault(value, slug)
                if other == slug:
                    continue
                first, second = _file(clients[other], other), _file(clients[slug], slug)
                message = f"{label} {value!r} is set for two clients, in {first} and in {second}: {fix}"
                for name in (other, slug):
                    if message not in found.get(name, []):
                        found.setdefault(name, []).append(message)
    return found


def _file(settings: Settings, slug: str) -> Path | str:
    return settings.source_file if settings.source_file is not None else slug
