"""`mailbot quarantine list|show|release`: quarantined mail stays retrievable and can be tried again.

Releasing puts the stored mail back to "received" with a fresh attempt count, so the next pass decides
it like new mail (after a parser fix or a KB change); its copy on the server stays in the Quarantine
folder. Mail that was too large was
stored as its header only: it is released only with `--force`, and then decided on its header alone,
which never sends anything automatic (mailbot.rules.header_only): it becomes a ticket for the team.
None of it needs the mail passwords. Headers, subjects and reasons are escaped before they reach the
terminal (mailbot.terminal); `show --raw` writes the bytes only where they do not reach a terminal.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.db.schema import InboundMail, InboundState
from mailbot.rules.header_only import stored_header_only
from mailbot.terminal import safe_cell, safe_json, safe_line, safe_text


def add_parser(commands: Any, config_option: Any) -> None:
    quarantine = commands.add_parser("quarantine", help="list, show and release quarantined mail")
    sub = quarantine.add_subparsers(dest="quarantine_command", required=True)
    listing = sub.add_parser("list", help="every quarantined mail with its reason")
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one quarantined mail: reason, headers; --raw writes the message")
    show.add_argument("id", type=int)
    show.add_argument("--raw", action="store_true", help="the stored message as it arrived, on stdout")
    release = sub.add_parser("release", help="decide it again on the next pass")
    release.add_argument("id", type=int)
    release.add_argument(
        "--force",
        action="store_true",
        help="also mail stored as its header only (a ticket, no automatic mail)",
    )
    for parser in (listing, show, release):
        config_option(parser)


def run_quarantine_command(args: argparse.Namespace) -> int:
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    installation = load_installation(args.config, require_secrets=False)
    fleet = Fleet.open(installation, full=False, only=getattr(args, "client", None))
    mailboxes = sorted(fleet.apps)
    try:
        with fleet.sessions.begin() as session:
            if args.quarantine_command == "list":
                return _list(session, mailboxes, args.json, installation.several)
            row = session.get(InboundMail, args.id)
            if row is None or row.mailbox not in mailboxes or row.state != InboundState.QUARANTINED:
                hint = "see `mailbot quarantine list`"
                print(f"mailbot: no quarantined mail #{args.id}; {hint}", file=sys.stderr)
                return 1
            if args.quarantine_command == "show":
                return _show(row, args.raw)
            return _release(row, args.force)
    finally:
        fleet.close()


def _list(session: Session, mailboxes: list[str], as_json: bool, several: bool) -> int:
    """Every quarantined mail of the clients given, oldest first; each names its client when there are
    several."""
    rows = session.scalars(
        select(InboundMail)
        .where(InboundMail.mailbox.in_(mailboxes), InboundMail.state == InboundState.QUARANTINED)
        .order_by(InboundMail.id)
    ).all()
    items = [
        {
            **({"client": r.mailbox} if several else {}),
            "id": r.id,
            "received_at": r.received_at.isoformat(),
            "from": r.from_addr,
            "subject": r.subject,
            "size": r.size,
            "reason": r.reason,
        }
        for r in rows
    ]
    if as_json:
        print(safe_json(items))
    else:
        for item in items:
            sender, subject = safe_cell(item["from"]) or "?", safe_cell(item["subject"])
            client = f"{item['client']}  " if several else ""
            print(f"{client}#{item['id']}  {item['received_at']}  {sender}  '{subject}'")
            print(f"    {safe_cell(item['reason'])}")
        print(f"{len(items)} quarantined")
    return 0


def _show(row: InboundMail, raw: bool) -> int:
    if raw:
        if sys.stdout.isatty():  # the sender's bytes, escape sequences and all, would drive the terminal
            hint = f"redirect it to a file: mailbot quarantine show {row.id} --raw > mail-{row.id}.eml"
            print(f"mailbot: --raw writes the mail as it arrived; {hint}", file=sys.stderr)
            return 1
        sys.stdout.buffer.write(row.raw)
        return 0
    header = row.raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    print(f"#{row.id}  received {row.received_at.isoformat()}  {row.size} bytes  attempts {row.attempts}")
    print(f"reason: {safe_line(row.reason)}")
    if row.last_error:
        print(f"last error: {safe_line(row.last_error)}")
    print("header:")
    print(safe_text(header.decode("utf-8", "replace")))
    return 0


def _release(row: InboundMail, force: bool) -> int:
    header_only = stored_header_only(row.size, len(row.raw))
    if header_only and not force:
        print(
            f"mailbot: #{row.id} was too large and only its header is stored; raise [limits] "
            "max_message_bytes and fetch it again from the server's Quarantine folder, or release it "
            "with --force to decide it on its header alone (a ticket for the team, no automatic mail)",
            file=sys.stderr,
        )
        return 1
    previous = row.reason
    row.state = InboundState.RECEIVED
    row.attempts = 0
    row.outcome = None
    row.processed_at = None
    row.lease_until = None
    row.last_error = f"released from quarantine (was: {previous})"[:2000]
    row.reason = None
    note = " on its header alone: a ticket for the team, nothing automatic is sent" if header_only else ""
    print(f"#{row.id} released: the next pass decides it again{note}")
    return 0
