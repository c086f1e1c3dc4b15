"""`mailbot privacy export --client C --address a@b [--out FILE]`: what mailbot holds about a person.

Reads the database only. The log and the terminal name the person by a masked address; the archive is
written to a temporary name and renamed, readable by its owner only (it holds personal data).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from mailbot.atomic_file import write_atomically
from mailbot.clock import Clock
from mailbot.errors import ConfigError
from mailbot.logredact import mask_addresses
from mailbot.settings_base import check_address


def add_parser(commands: Any, config_option: Any, now_option: Any) -> None:
    privacy = commands.add_parser("privacy", help="what mailbot holds about a person (GDPR Art. 15)")
    sub = privacy.add_subparsers(dest="privacy_command", required=True)
    export = sub.add_parser("export", help="everything about one address of one client, as a zip archive")
    export.add_argument("--address", required=True, help="the person's e-mail address")
    export.add_argument("--out", type=Path, help="the archive (default: privacy-export-<client>-<date>.zip)")
    config_option(export)
    now_option(export)
    erase = sub.add_parser("erase", help="erase everything about one address of one client (GDPR Art. 17)")
    erase.add_argument("--address", required=True, help="the person's e-mail address")
    erase.add_argument("--by", default="", help="who asked for or carried out the erasure (recorded)")
    erase.add_argument("--dry-run", action="store_true", help="say what would be erased, change nothing")
    config_option(erase)
    now_option(erase)
    retention = sub.add_parser(
        "retention",
        help="anonymise what [privacy] retention_days and the other limits say is due, now (every client, "
        "or --client SLUG)",
    )
    retention.add_argument("--dry-run", action="store_true", help="count what is due, change nothing")
    config_option(retention)
    now_option(retention)


def run_privacy_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.privacy.anonymise import pseudonym
    from mailbot.privacy.export import archive, collect
    from mailbot.reports.one_client import one_client

    if args.privacy_command == "retention":
        return _retention(args, clock)
    address = args.address.strip()
    try:
        check_address(address)
    except ValueError as exc:
        raise ConfigError(f"mailbot privacy {args.privacy_command} --address: {exc}") from None
    if args.privacy_command == "erase":
        return _erase(args, clock, address)
    with one_client(args, clock, "privacy export") as app:
        now = app.clock()
        with app.sessions() as session:
            alias = pseudonym(app.message_id_key, address)
            held = collect(session, app.mailbox, address, (alias,))
        data = archive(held, app.mailbox, address, now)
        out = args.out or Path(f"privacy-export-{app.mailbox}-{now.date().isoformat()}.zip")
    write_atomically(out, data, private=True)
    counts = f"{len(held.inbound)} received, {len(held.tickets)} ticket(s), {len(held.outbox)} sent"
    what = "nothing held" if held.empty else counts
    print(f"{app.mailbox}: {mask_addresses(address)}: {what}; {out}")
    return 0


def _erase(args: argparse.Namespace, clock: Clock, address: str) -> int:
    from mailbot.db.engine import release_erased_pages
    from mailbot.privacy.erase import erase
    from mailbot.privacy.folders import delete_queued_copies
    from mailbot.privacy.jira_erase import jira_erasure_lines
    from mailbot.reports.one_client import one_client

    with one_client(args, clock, "privacy erase") as app:
        with app.sessions.begin() as session:
            done = erase(
                session,
                app,
                address,
                args.by or os.environ.get("USER", ""),
                app.clock(),
                dry_run=args.dry_run,
            )
        copies = None
        if not args.dry_run:
            release_erased_pages(app.engine)
            copies = delete_queued_copies(app)  # at once where the server is reachable; else the worker
    what = ", ".join(f"{n} {name.replace('_', ' ')}" for name, n in done.counts.items())
    verb = "would erase" if args.dry_run else "erased"
    print(f"{app.mailbox}: {mask_addresses(address)}: {verb} {what}")
    if done.closed:
        closing = "would close" if args.dry_run else "closed (the team is told)"
        print(f"open tickets {closing}: {', '.join(done.closed)}")
    for line in jira_erasure_lines(done.jira, dry_run=args.dry_run):
        print(line)
    if done.folder_copies:
        print(done.folder_copies)
    if copies is not None and (copies.done or copies.retry):
        later = f"; {copies.retry} left for the worker (not reachable from here)" if copies.retry else ""
        print(f"mail server: {copies.deleted} copies deleted now{later}")
    return 0


def _retention(args: argparse.Namespace, clock: Clock) -> int:
    """Every client's due data, or the one named by --client (like the worker, which does them all)."""
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet
    from mailbot.privacy.retention import apply_retention

    installation = load_installation(args.config, require_secrets=False)
    fleet = Fleet.open(installation, clock, full=False, only=args.client)
    try:
        for app in fleet:
            done = apply_retention(app, app.clock(), dry_run=args.dry_run)
            what = ", ".join(f"{n} {kind.replace('_', ' ')}" for kind, n in done.counts.items())
            print(f"{app.mailbox}: {'due' if args.dry_run else 'anonymised'}: {what}")
    finally:
        fleet.close()
    return 0
