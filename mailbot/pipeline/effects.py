"""The effects of a decision: ticket, ticket events and outbox rows, in the caller's transaction.

Nothing here talks to a server; mail only enters the outbox. The caller commits it together with the
state change of the inbound mail.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import InboundMail, OutboxMail, Ticket, TicketEvent
from mailbot.domain import Action, Decision, ParsedMail, TicketState
from mailbot.reply.compose import threading_headers
from mailbot.reply.outbox import Outgoing, Sender, enqueue
from mailbot.reply.subject import format_reference

EXCERPT_CHARS = 2000


def apply_decision(
    session: Session, app: App, row: InboundMail, mail: ParsedMail, decision: Decision, now: datetime
) -> str | None:
    """Write the effects of `decision`; return the reference of the ticket it touched, if any."""
    if decision.action is Action.IGNORE:
        return None
    if decision.action is Action.FOLLOW_UP:
        assert decision.ticket_id is not None
        ticket = session.get_one(Ticket, decision.ticket_id)
        _follow_up(session, app, row, mail, decision, ticket, now)
    else:
        ticket = _open_ticket(session, app, mail, decision, now)
        _event(session, ticket, row, now, "created", decision.reason)
        if decision.action is Action.ANSWER:
            _answer(session, app, row, mail, decision, ticket, now)
        else:
            _escalate(session, app, row, mail, decision, ticket, now, event="new")
    row.ticket_id = ticket.id
    return ticket.reference


def _open_ticket(session: Session, app: App, mail: ParsedMail, decision: Decision, now: datetime) -> Ticket:
    state = TicketState.ANSWERED if decision.action is Action.ANSWER else TicketState.ESCALATED
    ticket = Ticket(
        mailbox=app.mailbox,
        customer=mail.reply_address.lower(),
        customer_name=mail.from_name[:300],
        subject=mail.subject,
        language=mail.language.value,
        state=state,
        article_id=decision.article_id,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    session.flush()  # the reference is made from the id
    ticket.reference = format_reference(app.settings.support.ticket_prefix, ticket.id)
    return ticket


def _answer(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    decision: Decision,
    ticket: Ticket,
    now: datetime,
) -> None:
    assert decision.article_id is not None
    article = app.kb.article(decision.article_id, mail.language)
    assert article is not None  # the classifier only knows articles of this KB
    context = {
        **_customer_context(app, mail, ticket),
        "article_title": article.title,
        "article_markdown": article.body,
    }
    _to_customer(session, app, row, mail, ticket, "answer", context, now)
    _event(session, ticket, row, now, "answered", f"article {article.id}")


def _escalate(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    decision: Decision,
    ticket: Ticket,
    now: datetime,
    event: str,
) -> None:
    if decision.reply_to_customer and event == "new":
        interim = app.kb.article(decision.article_id, mail.language) if decision.article_id else None
        context = {
            **_customer_context(app, mail, ticket),
            "interim_markdown": interim.body if interim else None,
            "due_text": None,
        }
        _to_customer(session, app, row, mail, ticket, "acknowledgement", context, now)
    _team_notice(session, app, row, mail, decision, ticket, now, event)
    _event(session, ticket, row, now, "escalated", decision.reason)


def _follow_up(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    decision: Decision,
    ticket: Ticket,
    now: datetime,
) -> None:
    _event(session, ticket, row, now, "customer_reply", decision.reason)
    if ticket.state != TicketState.ESCALATED:
        previous = ticket.state
        ticket.state = TicketState.ESCALATED
        _event(
            session,
            ticket,
            row,
            now,
            "reopened" if previous == TicketState.SOLVED else "escalated",
            f"customer replied to a {previous} ticket",
        )
        if decision.reply_to_customer:
            _to_customer(
                session,
                app,
                row,
                mail,
                ticket,
                "followup_received",
                _customer_context(app, mail, ticket),
                now,
            )
    ticket.updated_at = now
    _team_notice(session, app, row, mail, decision, ticket, now, "follow_up")


def _customer_context(app: App, mail: ParsedMail, ticket: Ticket) -> dict[str, object]:
    return {
        "reference": ticket.reference,
        "customer_name": mail.from_name,
        "support_name": app.settings.support.name,
        "subject": mail.subject,
    }


def _to_customer(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    ticket: Ticket,
    kind: str,
    context: dict[str, object],
    now: datetime,
) -> OutboxMail:
    threading = threading_headers(mail.message_id, mail.references)
    item = Outgoing(
        kind=kind,
        language=mail.language,
        recipient=ticket.customer,
        to_customer=True,
        context=context,
        in_reply_to=threading.get("In-Reply-To"),
        references=threading.get("References", "").split(),
    )
    return enqueue(
        session,
        app.renderer,
        _sender(app),
        app.mailbox,
        item,
        ticket_id=ticket.id,
        inbound_id=row.id,
        now=now,
    )


def _team_notice(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    decision: Decision,
    ticket: Ticket,
    now: datetime,
    event: str,
) -> None:
    team = app.settings.team
    previous = session.scalar(
        select(OutboxMail.message_id)
        .where(OutboxMail.ticket_id == ticket.id, OutboxMail.kind == "team_notice")
        .order_by(OutboxMail.id.desc())
        .limit(1)
    )
    prediction = decision.prediction
    context = {
        "reference": ticket.reference,
        "customer": ticket.customer,
        "customer_name": mail.from_name,
        "subject": mail.subject,
        "reason": decision.reason,
        "language": mail.language.value,
        "ranking": list(prediction.ranking) if prediction else [],
        "rule_hits": [(hit.name, hit.reason) for hit in decision.rule_hits],
        "body_excerpt": mail.body[:EXCERPT_CHARS],
        "event": event,
    }
    item = Outgoing(
        kind="team_notice",
        language=team.language,
        recipient=team.address,
        to_customer=False,
        context=context,
        in_reply_to=previous,
        references=[previous] if previous else [],
        attach_rfc822=row.raw,
        reply_to=team.address,  # a team member's "reply" must not land in the support inbox as a new request
    )
    enqueue(
        session,
        app.renderer,
        _sender(app),
        app.mailbox,
        item,
        ticket_id=ticket.id,
        inbound_id=row.id,
        now=now,
    )


def _sender(app: App) -> Sender:
    support = app.settings.support
    return Sender(support.address, support.name, app.settings.message_id_domain)


def _event(session: Session, ticket: Ticket, row: InboundMail, now: datetime, kind: str, note: str) -> None:
    session.add(
        TicketEvent(
            mailbox=ticket.mailbox, ticket_id=ticket.id, at=now, kind=kind, inbound_id=row.id, note=note
        )
    )
