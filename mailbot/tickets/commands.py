"""`mailbot tickets list|show|reply|resolve|reopen`: what a support agent does from a shell.

Each command changes the ticket and queues the customer's mail in one transaction, then delivers the
outbox once, so the customer hears at once and a crash in between loses nothing (the next worker
pass sends what is queued).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mailbot.app import App, build_app
from mailbot.clock import Clock
from mailbot.config import load_settings
from mailbot.db.schema import Ticket, TicketEvent
from mailbot.domain import TicketState
from mailbot.tickets.notify import local_time
from mailbot.tickets.service import ActionResult, TicketActionError, find_by_reference, reopen, reply, resolve
from mailbot.worker import deliverer_for


def add_parser(commands: Any, config_option: Any, now_option: Any) -> None:
    tickets = commands.add_parser("tickets", help="list, show, answer, resolve and reopen tickets")
    sub = tickets.add_subparsers(dest="tickets_command", required=True)
    listing = sub.add_parser("list", help="tickets, newest first")
    listing.add_argument("--state", choices=[s.value for s in TicketState], help="only this state")
    listing.add_argument("--limit", type=int, default=50)
    listing.add_argument("--json", action="store_true")
    show = sub.add_parser("show", help="one ticket with its history")
    show.add_argument("reference")
    show.add_argument("--json", action="store_true")
    for name, text in (
        ("reply", "answer the customer; the ticket stays open"),
        ("resolve", "solve it (and its incident's tickets); the customer is told"),
    ):
        action = sub.add_parser(name, help=text)
        action.add_argument("reference")
        source = action.add_mutually_exclusive_group(required=name == "reply")
        source.add_argument("--message", "-m", help="the text for the customer")
        source.add_argument(
            "--file", type=argparse.FileType("r", encoding="utf-8"), help="read the text here"
        )
        action.add_argument("--agent", default="", help="your name, signed under the text")
    again = sub.add_parser("reopen", help="back to the 2nd level")
    again.add_argument("reference")
    again.add_argument("--note", default="")
    for parser in (listing, show, *sub.choices.values()):
        if not any(action.dest == "config" for action in parser._actions):
            config_option(parser)
            now_option(parser)


def run_tickets_command(args: argparse.Namespace, clock: Clock) -> int:
    app = build_app(load_settings(args.config), clock)
    try:
        command = args.tickets_command
        if command == "list":
            return _list(app, args)
        if command == "show":
            return _show(app, args)
        try:
            result = _act(app, args)
        except TicketActionError as exc:
            print(f"mailbot: {exc}", file=sys.stderr)
            return 1
        delivery = deliverer_for(app).deliver_due()
        told = ", ".join(result.notified) or "nobody"
        print(f"{result.reference}: {command} done; customer mail for {told}; {delivery.sent} mail(s) sent")
        for error in delivery.errors:
            print(f"mailbot: {error} (queued; the worker sends it later)", file=sys.stderr)
        return 0
    finally:
        app.close()


def _act(app: App, args: argparse.Namespace) -> ActionResult:
    message = ""
    if getattr(args, "file", None):
        message = args.file.read()
    elif getattr(args, "message", None):
        message = args.message
    now = app.clock()
    with app.sessions.begin() as session:
        ticket = find_by_reference(session, app, args.reference)
        if args.tickets_command == "reply":
            return reply(session, app, ticket, message, now, cause="", agent_name=args.agent)
        if args.tickets_command == "resolve":
            return resolve(session, app, ticket, message, now, cause="", agent_name=args.agent)
        return reopen(session, app, ticket, args.note, now)


def _row(app: App, ticket: Ticket, parent: str | None) -> dict[str, Any]:
    def local(value: datetime | None) -> str | None:
        moment = local_time(app, value)
        return None if moment is None else moment.isoformat(timespec="minutes")

    return {
        "reference": ticket.reference,
        "state": ticket.state,
        "severity": ticket.severity,
        "customer": ticket.customer,
        "subject": ticket.subject,
        "created": local(ticket.created_at),
        "response_due": local(ticket.response_due_at),
        "resolution_due": local(ticket.resolution_due_at),
        "responded": local(ticket.responded_at),
        "resolved": local(ticket.resolved_at),
        "sla_breached": local(ticket.sla_breached_at),
        "parent": parent,
        "external_key": ticket.external_key,
    }


def _list(app: App, args: argparse.Namespace) -> int:
    with app.sessions() as session:
        query = select(Ticket).where(Ticket.mailbox == app.mailbox)
        if args.state:
            query = query.where(Ticket.state == args.state)
        tickets = session.scalars(query.order_by(Ticket.id.desc()).limit(args.limit)).all()
        parents = _references(session, {t.parent_id for t in tickets if t.parent_id})
        rows = [_row(app, t, parents.get(t.parent_id or 0)) for t in tickets]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        due = f" due {row['response_due']}" if row["response_due"] and row["state"] == "escalated" else ""
        incident = f" (incident {row['parent']})" if row["parent"] else ""
        severity = row["severity"] or "-"
        print(
            f"{row['reference']}  {row['state']:<9} {severity:<8} {row['customer']}  {row['subject']!r}{due}"
            f"{incident}"
        )
    return 0


def _show(app: App, args: argparse.Namespace) -> int:
    with app.sessions() as session:
        try:
            ticket = find_by_reference(session, app, args.reference)
        except TicketActionError as exc:
            print(f"mailbot: {exc}", file=sys.stderr)
            return 1
        row = _row(app, ticket, _references(session, {ticket.parent_id}).get(ticket.parent_id or 0))
        row["children"] = list(session.scalars(select(Ticket.reference).where(Ticket.parent_id == ticket.id)))
        row["severity_reasons"] = list(ticket.severity_reasons or [])
        row["events"] = [
            {
                "at": e.at.astimezone(app.calendar.zone).isoformat(timespec="minutes"),
                "kind": e.kind,
                "note": e.note,
            }
            for e in session.scalars(
                select(TicketEvent).where(TicketEvent.ticket_id == ticket.id).order_by(TicketEvent.id)
            )
        ]
    if args.json:
        print(json.dumps(row, ensure_ascii=False, indent=2))
        return 0
    for key, value in row.items():
        if key == "events":
            print("events:")
            for event in value:
                print(f"  {event['at']}  {event['kind']:<16} {event['note']}")
        elif value not in (None, [], ""):
            print(f"{key}: {value}")
    return 0


def _references(session: Any, ids: set[int | None]) -> dict[int, str]:
    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return {
        i: r for i, r in session.execute(select(Ticket.id, Ticket.reference).where(Ticket.id.in_(wanted)))
    }
