"""`mailbot clients list` and `mailbot clients rename`: what the installation serves, and moving an
installation's rows from one client key to another.

Every row has carried its mailbox's key (`mailbox`) since the first schema, so a single-file
installation's rows are already one client's: the key `[support] mailbox` (default "default"). When
that installation moves into a clients folder, its folder is named for the client ("aktivo"), and
`rename default aktivo` moves every row to the new key in one transaction, so nothing is lost and
the old tickets stay that client's. It refuses when the new key already has rows: two clients' rows
must never be mixed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import Column, delete, func, select, update
from sqlalchemy.orm import Session

from mailbot.clients.layout import SLUG
from mailbot.clients.loading import load_installation
from mailbot.db.engine import make_session_factory, open_engine
from mailbot.db.schema import Base, InstallationSecret
from mailbot.terminal import safe_json

SECRETS = InstallationSecret.__tablename__


def add_parser(commands: Any, config_option: Callable[[argparse.ArgumentParser], None]) -> None:
    clients = commands.add_parser(
        "clients", help="the clients this installation serves; move rows to a new key"
    )
    sub = clients.add_subparsers(dest="clients_command", required=True)
    listing = sub.add_parser("list", help="every client: address, prefix, mailbox, knowledge base, problems")
    listing.add_argument("--json", action="store_true")
    rename = sub.add_parser(
        "rename", help="move every row of client OLD to NEW (e.g. default → aktivo); stop the worker first"
    )
    rename.add_argument("old")
    rename.add_argument("new")
    for parser in (listing, rename):
        config_option(parser)


def run_clients_command(args: argparse.Namespace) -> int:
    installation = load_installation(args.config, require_secrets=False)
    if args.clients_command == "list":
        rows = [
            {
                "client": slug,
                "address": settings.support.address,
                "ticket_prefix": settings.support.ticket_prefix,
                "source": _source(settings),
                "knowledge_base": str(settings.knowledge_base.path),
                "config": str(settings.source_file),
                "problem": None,
            }
            for slug, settings in sorted(installation.clients.items())
        ]
        rows += [
            {"client": slug, "problem": problem} for slug, problem in sorted(installation.problems.items())
        ]
        if args.json:
            print(safe_json(rows))
        else:
            for row in rows:
                if row["problem"]:
                    print(f"{row['client']}: NOT SERVED\n  " + row["problem"].replace("\n", "\n  "))
                else:
                    print(f"{row['client']}: {row['address']}, {row['ticket_prefix']}-…, {row['source']}")
        return 1 if installation.problems else 0
    return _rename(installation.database_url, args.old, args.new)


def _source(settings: Any) -> str:
    if settings.imap is not None:
        return f"IMAP {settings.imap.username or ''}@{settings.imap.host}/{settings.imap.folder}"
    return f"Maildir {settings.maildir.path}"


def _mailbox_columns() -> list[Column[Any]]:
    return [table.c.mailbox for table in Base.metadata.sorted_tables if "mailbox" in table.c]


def _rename(database_url: str, old: str, new: str) -> int:
    if not SLUG.match(new):
        print(
            f"mailbot: {new!r} is not a client name (lower-case letters, digits, '-', '_')", file=sys.stderr
        )
        return 2
    engine = open_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            if _count(session, new, but=SECRETS):
                print(
                    f"mailbot: client {new!r} already has rows in the database; rows of two clients are "
                    "never mixed: choose another name",
                    file=sys.stderr,
                )
                return 1
            # a start of the new client (refused, as a lost database, while the rows had the old key)
            # made it a signing key of its own, which signed nothing: the old one is kept
            secrets = Base.metadata.tables[SECRETS].c.mailbox
            session.execute(delete(secrets.table).where(secrets == new))
            moved = 0
            for column in _mailbox_columns():
                result = session.execute(update(column.table).where(column == old).values(mailbox=new))
                moved += result.rowcount or 0  # type: ignore[attr-defined]
        if not moved:
            print(f"mailbot: no rows of client {old!r}; nothing moved", file=sys.stderr)
            return 1
        print(f"moved {moved} row(s) from client {old!r} to {new!r}")
        return 0
    finally:
        engine.dispose()


def _count(session: Session, mailbox: str, but: str) -> int:
    return sum(
        int(session.scalar(select(func.count()).select_from(c.table).where(c == mailbox)) or 0)
        for c in _mailbox_columns()
        if c.table.name != but
    )
