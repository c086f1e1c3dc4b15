"""`mailbot tickets list|show|attachments|reply|resolve|reopen|severity`: what a support agent does from
a shell.

`list` and `show` only read the database: they need neither the mailbox nor the SMTP password, and
never load the classifier. Each action changes the ticket and queues the customer's mail in one
transaction, then delivers the outbox once, so the customer hears at once and a crash in between loses
nothing (the next worker pass sends what is queued). Customer text is escaped before it reaches the
terminal (mailbot.terminal).

An agent's text (`--message`, `--file PATH`, `--file -` for standard input) must be UTF-8 and at most
MAX_AGENT_TEXT_BYTES; anything else is refused with one line before anything is written.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mailbot.app import App
from mailbot.atomic_file import write_atomically
from mailbot.clients.pick import app_of_reference
from mailbot.clock import Clock
from mailbot.db.schema import Ticket
from mailbot.domain import TicketState
from mailbot.privacy.attachments import size_text
from mailbot.terminal import safe_cell, safe_json, safe_line, safe_text
from mailbot.tickets.correction import CHOICES, correct_severity
from mailbot.tickets.held_attachments import held_attachments
from mailbot.tickets.service import ActionResult, TicketActionError, find_by_reference, reopen, reply, resolve
from mailbot.tickets.views import conversation, events, references_of, ticket_row
from mailbot.worker import deliverer_for

# An agent's reply travels twice, as text/plain and as text/html, each in a 7-bit transfer encoding
# (quoted-printable or base64): 1 MB of text becomes a mail of 2.5 to 4 MB, which every provider takes.
# A 6 MB paste went out as a 12 MB mail (23 MB with umlauts); logs and files belong in an attachment
# of a mail written by hand, not in the reply text.
MAX_AGENT_TEXT_BYTES = 1_000_000
STDIN = "-"


def add_parser(commands: Any, config_option: Any, now_option: Any) -> None:
    tickets = commands.add_parser("tickets", help="list, show, answer, resolve and reopen tickets")
    sub = tickets.add_subparsers(dest="tickets_command", required=True)
    listing = sub.add_parser("list", help="tickets, newest first")
    listing.add_argument("--state", choices=[s.value for s in TicketState], help="only this state")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one ticket: its mails (oldest first) and events")
    show.add_argument("reference", help="e.g. MB-000123, mb-123 or 123")
    show.add_argument("--full", action="store_true", help="whole texts instead of excerpts")
    show.add_argument("--json", action="store_true")
    held = sub.add_parser("attachments", help="a ticket's attachments, also those not forwarded; --save them")
    held.add_argument("reference")
    held.add_argument("--save", type=Path, metavar="DIR", help="write them here (readable by you only)")
    for name, text in (
        ("reply", "answer the customer; the ticket stays open"),
        ("resolve", "solve it (and its incident's tickets); the customer is told"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("reference")
        source = action.add_mutually_exclusive_group(required=name == "reply")
        source.add_argument("--message", "-m", help="the text for the customer")
        source.add_argument(
            "--file",
            help=f"read the text (UTF-8, at most {MAX_AGENT_TEXT_BYTES // 1_000_000} MB) here; - for stdin",
        )
        action.add_argument("--agent", default="", help="your name, signed under the text")
    again = sub.add_parser("reopen", help="back to the 2nd level")
    again.add_argument("reference")
    again.add_argument("--note", default="")
    severity = sub.add_parser("severity", help="correct the severity guess; the due times follow")
    severity.add_argument("reference")
    severity.add_argument("severity", choices=CHOICES)
    severity.add_argument("--note", default="", help="why (kept in the ticket's history)")
    for parser in (listing, show, *sub.choices.values()):
        if not any(action.dest == "config" for action in parser._actions):
            config_option(parser)
            now_option(parser)


def run_tickets_command(args: argparse.Namespace, clock: Clock) -> int:
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet

    command = args.tickets_command
    mailing = command in ("reply", "resolve", "reopen")  # the others write no mail: no password needed
    installation = load_installation(args.config, require_secrets=mailing)
    fleet = Fleet.open(installation, clock, full=False, only=getattr(args, "client", None))
    apps = list(fleet)
    several = installation.several
    try:
        if command == "list":
            return _list(apps, args, several)
        try:
            with fleet.sessions() as session:
                app = app_of_reference(session, apps, args.reference)
        except TicketActionError as exc:
            print(f"mailbot: {safe_line(str(exc))}", file=sys.stderr)
            return 1
        if command == "show":
            return _show(app, args, several)
        if command == "attachments":
            return _attachments(app, args)
        if mailing:
            _ = app.renderer, app.message_id_key  # template problems show before anything is written
        try:
            result = _act(app, args)
        except TicketActionError as exc:
            print(f"mailbot: {exc}", file=sys.stderr)
            return 1
        if not mailing:
            print(f"{result.reference}: {command} done")
            return 0
        delivery = deliverer_for(app).deliver_due()
        told = ", ".join(result.notified) or "nobody"
        print(f"{result.reference}: {command} done; customer mail for {told}; {delivery.sent} mail(s) sent")
        for error in delivery.errors:
            print(f"mailbot: {error} (queued; the worker sends it later)", file=sys.stderr)
        return 0
    finally:
        fleet.close()


def _act(app: App, args: argparse.Namespace) -> ActionResult:
    message = agent_text(args)
    now = app.clock()
    with app.sessions.begin() as session:
        ticket = find_by_reference(session, app, args.reference)
        if args.tickets_command == "reply":
            return reply(session, app, ticket, message, now, cause="", agent_name=args.agent)
        if args.tickets_command == "resolve":
            return resolve(session, app, ticket, message, now, cause="", agent_name=args.agent)
        if args.tickets_command == "severity":
            return correct_severity(session, app, ticket, args.severity, args.note, now)
        return reopen(session, app, ticket, args.note, now)


def agent_text(args: argparse.Namespace) -> str:
    """The agent's text from `--message` or `--file` ("" when neither is given); TicketActionError
    (one line: where, what, how to fix) for text that is not UTF-8 or larger than the limit."""
    path = getattr(args, "file", None)
    if path:
        where = "standard input (--file -)" if path == STDIN else f"--file {path}"
        try:
            if path == STDIN:
                data = sys.stdin.buffer.read(MAX_AGENT_TEXT_BYTES + 1)
            else:
                with Path(path).open("rb") as handle:
                    data = handle.read(MAX_AGENT_TEXT_BYTES + 1)
        except OSError as exc:
            raise TicketActionError(f"{where}: {exc.strerror or exc}") from None
        _check_size(len(data), where)
        try:
            return data.decode("utf-8-sig")  # a byte order mark (Windows editors) is not part of the text
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise TicketActionError(
                f"{where} is not UTF-8 text (byte 0x{data[exc.start]:02x} in line {line}); save it as UTF-8 "
                "(from Latin-1: `iconv -f latin1 -t utf-8`) and give that"
            ) from None
    message = getattr(args, "message", None) or ""
    if any("\udc80" <= char <= "\udcff" for char in message):  # argv bytes Python could not decode
        raise TicketActionError(
            "--message holds bytes that are not UTF-8 (is the terminal's locale UTF-8?); "
            "set a UTF-8 locale, or save the text as UTF-8 and give it with --file"
        )
    _check_size(len(message.encode("utf-8", "surrogateescape")), "--message")
    return message


def _check_size(size: int, where: str) -> None:
    if size > MAX_AGENT_TEXT_BYTES:
        raise TicketActionError(
            f"{where}: the text is larger than {MAX_AGENT_TEXT_BYTES // 1_000_000} MB, the most a reply "
            "may carry (its mail holds it twice, as text and HTML); shorten it and send long logs or files "
            "as an attachment of a mail written by hand"
        )


def _list(apps: list[App], args: argparse.Namespace, several: bool) -> int:
    """Newest first over every client given; rows name their client when there are several."""
    rows: list[dict[str, Any]] = []
    for app in apps:
        now = app.clock()
        with app.sessions() as session:
            query = select(Ticket).where(Ticket.mailbox == app.mailbox)
            if args.state:
                query = query.where(Ticket.state == args.state)
            tickets = session.scalars(query.order_by(Ticket.id.desc()).limit(args.limit)).all()
            parents = references_of(session, {t.parent_id for t in tickets})
            for ticket in tickets:
                row = ticket_row(app, ticket, parents.get(ticket.parent_id or 0), now)
                rows.append({"client": app.mailbox, **row} if several else row)
                rows[-1]["_order"] = ticket.id
    rows.sort(key=lambda row: row.pop("_order"), reverse=True)
    rows = rows[: args.limit]
    if args.json:
        print(safe_json(rows))
        return 0
    for row in rows:
        due = f" due {row['response_due']}" if row["response_due"] and row["state"] == "escalated" else ""
        incident = f" (incident {row['parent']})" if row["parent"] else ""
        severity = row["severity"] or "-"
        flag = "OVERDUE" if row["overdue"] else ""
        client = f"{row['client']:<12} " if several else ""
        print(
            f"{client}{row['reference']}  {row['state']:<9} {severity:<8} {flag:<7}  "
            f"{safe_cell(row['customer'])}  '{safe_cell(row['subject'])}'{due}{incident}"
        )
    return 0


def _attachments(app: App, args: argparse.Namespace) -> int:
    with app.sessions() as session:
        ticket = find_by_reference(session, app, args.reference)
        reference = ticket.reference or args.reference
        held = held_attachments(session, ticket, app.settings.privacy)
    if not held:
        print(f"{reference}: no attachments")
    for item in held:
        if item.removed:  # the note that took its place names it
            note = safe_line(item.data.decode("utf-8", "replace"))
            print(f"{reference}  inbound #{item.inbound_id}  removed by retention: {note}")
            continue
        what = "forwarded" if item.forwarded else f"kept in mailbot: {safe_line(item.why_not)}"
        size = size_text(len(item.data))
        name = safe_line(item.name)
        print(f"{reference}  inbound #{item.inbound_id}  {name}  {item.content_type}  {size}  {what}")
        if args.save is not None:
            args.save.mkdir(parents=True, exist_ok=True)
            path = args.save / item.file_name
            write_atomically(path, item.data, private=True)  # the customer's file: personal data
            print(f"  saved {safe_line(str(path))}")
    return 0


def _show(app: App, args: argparse.Namespace, several: bool) -> int:
    with app.sessions() as session:
        ticket = find_by_reference(session, app, args.reference)
        parent = references_of(session, {ticket.parent_id}).get(ticket.parent_id or 0)
        row = ticket_row(app, ticket, parent, app.clock())
        if several:
            row = {"client": app.mailbox, **row}
        row["children"] = list(session.scalars(select(Ticket.reference).where(Ticket.parent_id == ticket.id)))
        row["severity_reasons"] = list(ticket.severity_reasons or [])
        row["events"] = events(session, app, ticket)
        row["conversation"] = conversation(session, app, ticket, full=args.full)
    if args.json:
        print(safe_json(row))
        return 0
    for key, value in row.items():
        if key in ("events", "conversation") or value in (None, [], "", False):
            continue
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else value
        print(f"{key}: {'yes' if value is True else safe_line(str(shown))}")
    print("events:")
    for event in row["events"]:
        print(f"  {event['at']}  {event['kind']:<16} {safe_line(event['note'])}")
    print("conversation (oldest first):")
    for entry in row["conversation"]:
        print(_conversation_entry(entry))
    return 0


def _conversation_entry(entry: dict[str, Any]) -> str:
    """A header line (time, sender, kind), then the text indented; excerpts stay on one line."""
    if entry["direction"] == "in":
        head = f"  {entry['at']}  from {safe_line(entry['from'])}  [{entry['kind']}]"
    else:
        delivery = "" if entry["delivery"] == "sent" else f", {entry['delivery']}"
        head = f"  {entry['at']}  to {safe_line(entry['to'])}  [{entry['kind']}{delivery}]"
    lines = [head, f"    subject: {safe_line(entry['subject'])}"]
    text = safe_text(entry["text"]) or "(no text)"
    lines += [f"    {line}".rstrip() for line in text.split("\n")]
    return "\n".join(lines)
