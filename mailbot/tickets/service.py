"""What agents and the 2nd level do to tickets: answer, resolve, reopen.

Each action is one transaction: the state change, its event and the customer's mail (through the
outbox) are written together. Resolving an incident's parent resolves its children and tells every
linked customer. Used by `mailbot tickets` and by the Jira Service Management follow-up.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from mailbot.addresses import has_no_mailbox
from mailbot.app import App
from mailbot.db.reads import read_scalar
from mailbot.db.schema import Ticket, TicketEvent
from mailbot.domain import TicketState
from mailbot.escalate.jobs import enqueue_jobs
from mailbot.reply.subject import format_reference
from mailbot.tickets.drawn_ahead import next_free
from mailbot.tickets.events_waiting import write_waiting
from mailbot.tickets.notify import mail_customer


class TicketActionError(Exception):
    """An action that does not fit the ticket's state (the message says what to do instead)."""


@dataclass(frozen=True)
class ActionResult:
    reference: str
    notified: tuple[str, ...]  # references of the tickets whose customer gets a mail


RANDOM_NUMBERS = range(10_000_000, 100_000_000)  # eight digits; never a sequential one below ten million
_DRAWS = 20  # with 90 million numbers, even a million tickets make a second draw rare


def new_reference(
    session: Session, app: App, ticket_id: int | None = None, draw: Callable[[int], int] = secrets.randbelow
) -> str:
    """The reference of a new ticket: not a counter a stranger can read volume from (issue 11).
    `ticket_id`: the ticket when it is stored already; None (the process stage) before its INSERT, so
    that the reference is written with it.

    `[support] ticket_numbers = "random"` (the default): eight random digits, drawn again while the
    mailbox has that reference already; the unique key on (mailbox, reference) is the last guard when
    two workers draw the same number at once (that mail fails one attempt and is decided again). As
    the digits start with 1-9, they never repeat a sequential reference of the first ten million
    tickets, so tickets made before keep theirs. "sequential": one more than the mailbox's newest
    ticket (its id, as before, while the database holds one mailbox): the row id counts the tickets of
    every client of the installation, and one client's numbers must not tell its customers how many
    the others have (issue 12).
    Short, digits only, and typed like any other: `parse_reference` reads "mb-48213377" or "48213377".
    While a batch of mails is decided, random numbers are drawn and checked ahead (tickets.drawn_ahead).
    """
    prefix = app.settings.support.ticket_prefix
    if app.settings.support.ticket_numbers == "sequential":
        _count_one_at_a_time(session, app.mailbox)
        return format_reference(prefix, _next_number(session, app.mailbox, prefix, ticket_id))

    def make() -> str:
        return format_reference(prefix, RANDOM_NUMBERS.start + draw(len(RANDOM_NUMBERS)))

    found = next_free(session, app.mailbox, _DRAWS, make)  # in a batch, drawn ahead (tickets.drawn_ahead)
    if found is not None:
        return found
    raise RuntimeError(f"no free ticket number in {_DRAWS} draws; mailbox {app.mailbox!r} is nearly full")


def _count_one_at_a_time(session: Session, mailbox: str) -> None:
    """Two workers deciding one mailbox at once (a fleet on PostgreSQL) would both count newest + 1,
    neither seeing the other's uncommitted ticket, and one decision would fail on the unique key (and
    be quarantined after its attempts). A transaction-scoped advisory lock per mailbox makes the
    second wait for the first's commit. SQLite's single writer does this already."""
    if session.get_bind().dialect.name == "postgresql":
        digest = hashlib.sha256(f"mailbot ticket numbers {mailbox}".encode()).digest()
        session.execute(select(func.pg_advisory_xact_lock(int.from_bytes(digest[:8], "big", signed=True))))


def _next_number(session: Session, mailbox: str, prefix: str, ticket_id: int | None) -> int:
    """One more than the number of the mailbox's newest ticket, skipping references it has already;
    the unique key on (mailbox, reference) guards two workers counting at once, as for random numbers.
    The look-up is by the whole reference (the unique index): it was a LIKE on the number's digits,
    a scan of every ticket of the mailbox for each new one (issue 13: quadratic in a backlog). Numbers
    under another prefix need no look-up: counting goes on from the newest ticket, whatever its
    prefix, and random numbers (eight digits from 10,000,000) lie above any count."""
    if ticket_id is None:
        newest = read_scalar(session, _NEWEST, {"mailbox": mailbox})
    else:
        newest = read_scalar(session, _NEWEST_BUT_ONE, {"mailbox": mailbox, "ticket_id": ticket_id})
    parsed = parse_reference(newest) if newest else None
    number = parsed[1] + 1 if parsed else 1
    while read_scalar(session, _TAKEN, {"mailbox": mailbox, "reference": format_reference(prefix, number)}):
        number += 1
    return number


# Built once: each new ticket runs them, and building a statement costs more than running it (issue 13)
_TAKEN = select(Ticket.id).where(
    Ticket.mailbox == bindparam("mailbox"), Ticket.reference == bindparam("reference")
)
_NEWEST = (
    select(Ticket.reference)
    .where(Ticket.mailbox == bindparam("mailbox"), Ticket.reference.is_not(None))
    .order_by(Ticket.id.desc())
    .limit(1)
)
_NEWEST_BUT_ONE = _NEWEST.where(Ticket.id != bindparam("ticket_id"))  # `ticket_id` is stored already


_TYPED_REFERENCE = re.compile(r"\[?\s*(?:([A-Za-z][A-Za-z0-9]{0,15})\s*-\s*)?([0-9]{1,12})\s*\]?", re.ASCII)


def parse_reference(text: str) -> tuple[str | None, int] | None:
    """What an agent typed: ``"pf-6"``, ``"PF-000006"``, ``"[PF-000006]"`` or ``"6"`` -> (prefix or None,
    number); None when it is no reference at all. Agents copy references from subjects and say them
    aloud, so case, brackets and leading zeros do not matter."""
    match = _TYPED_REFERENCE.fullmatch(text.strip())
    if match is None:
        return None
    prefix = match.group(1)
    return (prefix.upper() if prefix else None), int(match.group(2))


def find_by_reference(session: Session, app: App, reference: str) -> Ticket:
    """The ticket an agent means; a bare number is enough while only one ticket of the mailbox has it
    (the prefix may have changed over the years)."""
    parsed = parse_reference(reference)
    if parsed is None:
        raise TicketActionError(
            f"{reference!r} is not a ticket reference like "
            f"{format_reference(app.settings.support.ticket_prefix, 123)}; see `mailbot tickets list`"
        )
    prefix, number = parsed
    query = select(Ticket).where(Ticket.mailbox == app.mailbox)
    if prefix is not None:
        query = query.where(Ticket.reference == format_reference(prefix, number))
    else:  # any prefix: "<prefix>-<the number with at least six digits>"
        query = query.where(Ticket.reference.like(f"%-{number:06d}"))
    found = session.scalars(query.order_by(Ticket.id).limit(10)).all()
    if len(found) > 1:
        choices = ", ".join(t.reference or "?" for t in found)
        raise TicketActionError(f"{reference!r} is ambiguous in mailbox {app.mailbox!r}: {choices}; give one")
    if not found:
        raise TicketActionError(
            f"no ticket {reference!r} in mailbox {app.mailbox!r}; see `mailbot tickets list`"
        )
    return found[0]


def add_event(session: Session, ticket: Ticket, kind: str, note: str, now: datetime) -> TicketEvent:
    write_waiting(session)  # a batch's events waiting for its INSERT come first (tickets.events_waiting)
    event = TicketEvent(mailbox=ticket.mailbox, ticket_id=ticket.id, at=now, kind=kind, note=note)
    session.add(event)
    session.flush()
    return event


def reply(
    session: Session, app: App, ticket: Ticket, message: str, now: datetime, cause: str, agent_name: str = ""
) -> ActionResult:
    """An agent's answer to the customer, signed with `agent_name` when given; the ticket stays with
    the 2nd level."""
    if not message.strip():
        raise TicketActionError("an empty reply is not sent; give the text with --message or --file")
    if has_no_mailbox(ticket.customer):
        raise TicketActionError(
            f"{ticket.reference} has no customer address to write to (a store review, or an erased customer):"
            " a review is answered in the store (`mailbot reviews edit`)"
        )
    event = add_event(session, ticket, "agent_reply", message[:2000], now)
    ticket.responded_at = ticket.responded_at or now
    ticket.updated_at = now
    key = f"agent_reply:{cause or event.id}"
    mail_customer(session, app, ticket, "agent_reply", key, now, message=message, agent_name=agent_name)
    return ActionResult(ticket.reference or "", (ticket.reference or "",))


def resolve(
    session: Session,
    app: App,
    ticket: Ticket,
    message: str,
    now: datetime,
    cause: str,
    agent_name: str = "",
    *,
    shared: bool = True,
) -> ActionResult:
    """Solve a ticket and every ticket grouped under it; each customer is told once.

    An incident is solved by its parent, never through one of its children (`resolve_alone` solves
    a child by itself). `shared`: the message is for every customer of the incident (an agent
    wrote it for all, `tickets resolve`); False: it is for this ticket's customer only (a comment
    on their own Jira request), and the incident's other customers are told that it is solved,
    without it.
    """
    if ticket.state == TicketState.SOLVED:
        raise TicketActionError(f"{ticket.reference} is already solved; `mailbot tickets reopen` it first")
    if ticket.parent_id is not None:
        parent = session.get_one(Ticket, ticket.parent_id)
        raise TicketActionError(
            f"{ticket.reference} belongs to incident {parent.reference}; resolve {parent.reference} to tell "
            "every customer of the incident, or answer this customer with `mailbot tickets reply`"
        )
    children = session.scalars(
        select(Ticket)
        .where(Ticket.parent_id == ticket.id, Ticket.state != TicketState.SOLVED)
        .order_by(Ticket.id)
    ).all()
    notified = []
    for solved in (ticket, *children):
        if shared or solved is ticket:
            told = _solve(session, app, solved, message, now, cause, agent_name, message[:2000])
        else:
            note = f"solved with its incident {ticket.reference}"
            told = _solve(session, app, solved, "", now, cause, "", note)
        if told:
            notified.append(solved.reference or "")
    return ActionResult(ticket.reference or "", tuple(notified))


def resolve_alone(
    session: Session, app: App, ticket: Ticket, message: str, now: datetime, cause: str
) -> ActionResult:
    """Solve this one ticket and tell only its customer, whatever incident it belongs to.

    For a child whose own Jira request is done: that says nothing about the other customers'
    reports, and the message (a comment on that request) is for this customer alone.
    """
    if ticket.state == TicketState.SOLVED:
        raise TicketActionError(f"{ticket.reference} is already solved")
    told = _solve(session, app, ticket, message, now, cause, "", message[:2000])
    return ActionResult(ticket.reference or "", (ticket.reference or "",) if told else ())


def _solve(
    session: Session,
    app: App,
    ticket: Ticket,
    message: str,
    now: datetime,
    cause: str,
    agent_name: str,
    note: str,
) -> bool:
    """One ticket solved, its customer told (once per cause) and its backends told; True if mailed."""
    event = add_event(session, ticket, "solved", note or "(no message)", now)
    ticket.state = TicketState.SOLVED
    ticket.resolved_at = now
    ticket.responded_at = ticket.responded_at or now
    ticket.updated_at = now
    key = f"solved:{ticket.id}:{cause or event.id}"
    # a store reviewer hears of it through the store (mailbot.reviews drafts the "fixed" reply)
    told = not has_no_mailbox(ticket.customer) and mail_customer(
        session, app, ticket, "solved", key, now, message=message, agent_name=agent_name
    )
    enqueue_jobs(session, app, ticket, "ticket.solved", key, now)
    return told


def reopen(session: Session, app: App, ticket: Ticket, note: str, now: datetime) -> ActionResult:
    if ticket.state != TicketState.SOLVED:
        raise TicketActionError(f"{ticket.reference} is {ticket.state}, not solved: nothing to reopen")
    ticket.state = TicketState.ESCALATED
    ticket.resolved_at = None
    ticket.updated_at = now
    add_event(session, ticket, "reopened", note or "reopened by an agent", now)
    return ActionResult(ticket.reference or "", ())
