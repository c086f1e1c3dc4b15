"""`mailbot reviews check`: can mailbot read each of a client's store apps? One read call per app.

Tells "works", "no access or wrong role", "agreement missing", "credentials refused" and "no reviews yet"
apart, each with the fix in words, so that a missing grant in the client's console never looks like an
app without reviews. A key that cannot be read names its file or variable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailbot.errors import ConfigError
from mailbot.reviews.channels import open_channel
from mailbot.terminal import safe_line

if TYPE_CHECKING:
    from mailbot.app import App


def check_apps(app: App) -> list[tuple[str, bool, str, str]]:
    """(app label, ok, outcome, message) per configured app."""
    settings = app.settings.reviews
    if settings is None:
        return []
    results = []
    for store_app in settings.apps:
        label = f"{store_app.store} {store_app.app} ({store_app.name})"
        try:
            channel = open_channel(store_app, settings.timeout_seconds)
        except ConfigError as exc:
            results.append((label, False, "key not readable", str(exc)))
            continue
        try:
            ok, outcome, message = channel.check()
        finally:
            channel.close()
        results.append((label, ok, outcome, message))
    return results


def print_checks(app: App) -> int:
    results = check_apps(app)
    if not results:
        print(f"{app.mailbox}: no store apps configured: add [[reviews.apps]] to the client's configuration")
        return 1
    for label, ok, outcome, message in results:
        print(f"{'ok  ' if ok else 'FAIL'} {safe_line(label)}: {outcome}")
        print(f"     {safe_line(message)}")
    return 0 if all(ok for _, ok, _, _ in results) else 1
