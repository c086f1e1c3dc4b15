"""The client a report command works on: the one named by --client, or the only one configured.

Opens only the database (no mail password, no model), like `mailbot status`."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING

from mailbot.clock import Clock
from mailbot.errors import ConfigError

if TYPE_CHECKING:
    from mailbot.app import App


@contextlib.contextmanager
def one_client(args: argparse.Namespace, clock: Clock, command: str) -> Iterator[App]:
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    installation = load_installation(args.config, require_secrets=False)
    if installation.several and not args.client:
        raise ConfigError(f"mailbot {command}: several clients are configured; name one with --client SLUG")
    fleet = Fleet.open(installation, clock, full=False, only=args.client)
    try:
        (app,) = fleet
        yield app
    finally:
        fleet.close()
