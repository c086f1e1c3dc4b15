"""A team member answers the customer by replying to the team notice (issue 14), as in every e-mail
helpdesk.

Only with `[team] members` configured: notices then carry `Reply-To: <support address>` and say that a
reply goes to the customer. A mail is an agent's answer when its In-Reply-To or References name a team
notice we sent for this mailbox (its Message-ID carries our HMAC signature and is in the outbox) and
its From is one of the members, not refused by the receiving server's sender check. Its text (quoted
history, so the notice, stripped by mailbot.parse) goes to the ticket's customer in the ticket's thread,
from the support address, as a person's reply. A reply that is only "OK" / "Senden" / "Send" sends the
answer the notice suggested (`SUGGESTED` event, a near miss of the classifier).

Refused, quarantined with the reason and reported to the team, never sent: a reply to a notice from
anyone who is not a member (a forwarded notice, a stranger), from a member whose sender check failed
(a forged From), a member's reply naming one of our ids whose signature is wrong (a forged reference),
an empty reply, and "OK" to a notice that suggested nothing. A member's mail that refers to no notice is
a mail like any other.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.addresses import same_address
from mailbot.app import App
from mailbot.db.schema import InboundMail, OutboxMail, Ticket, TicketEvent
from mailbot.domain import Action, Decision, Language, ParsedMail, Prediction, RuleHit, SenderCheck
from mailbot.header_text import one_line
from mailbot.kb.model import Article
from mailbot.parse.reply import MAX_CHARS as READ_CHARS
from mailbot.reply.compose import verify_message_id
from mailbot.reply.pending_outbox import before_reading, with_message_id
from mailbot.rules._headers import shown
from mailbot.tickets.notify import ANSWERABLE_KINDS, mail_team

log = logging.getLogger(__name__)

SUGGESTED = "answer_suggested"  # ticket event: the notice suggested this article (note: its id first)
# A calibrated confidence from which the best article is suggested to the team when it is below the
# threshold: at 0.5 the classifier thinks it more likely right than wrong.
SUGGEST_FROM = 0.5
# the reader of mail takes a reply's own words from this much text (mailbot.parse.reply): a longer
# reply would reach the customer cut, so it is refused
MAX_AGENT_CHARS = READ_CHARS
_SEND_WORDS = re.compile(
    r"(?:ok(?:ay)?|passt|(?:ja,? |bitte )?(?:ab)?senden(?: bitte)?|(?:yes,? )?send(?: it)?)[.!]?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AgentAnswer:
    ticket_id: int
    agent: str  # the member's address
    agent_name: str
    text: str  # what the customer gets
    article_id: str | None = None  # the suggested article sent on "OK"


@dataclass(frozen=True)
class Refused:
    reason: str
    ticket_id: int | None = None


def recognise(
    session: Session, app: App, mail: ParsedMail, sender: SenderCheck | None
) -> AgentAnswer | Refused | None:
    """What a mail is to the team-reply path: an agent's answer, a refused attempt, or None (a mail
    like any other: no members configured, or no notice of ours named)."""
    members = app.settings.team.members
    if not members:
        return None
    named = [i for i in (mail.in_reply_to, *reversed(mail.references)) if i]
    from_member = (
        any(same_address(member, mail.from_addr) for member in members) and not mail.sender_ambiguity
    )
    notice = _notice_named(session, app, named)
    if notice is None:
        if from_member and any(
            _looks_ours(app, i) and not verify_message_id(i, app.message_id_key) for i in named
        ):
            return Refused(f"a reply of team member {shown(mail.from_addr)} names a Message-ID of ours whose "
                           "signature is wrong (a forged reference): nothing was sent")  # fmt: skip
        return None
    ticket = session.get(Ticket, notice.ticket_id) if notice.ticket_id is not None else None
    if ticket is None:
        return None
    where = f"a reply to the team notice of {ticket.reference}"
    if not from_member:
        return Refused(
            f"{where} came from {shown(mail.from_addr or '(no sender)')}, who is not in [team] members: "
            "nothing was sent to the customer",
            ticket.id,
        )
    if sender is not None and sender.failed:
        return Refused(f"{where} claims to come from {shown(mail.from_addr)}, but {sender.reason}", ticket.id)
    text = mail.body.strip()
    if not text:
        return Refused(
            f"{where} by {shown(mail.from_addr)} has no text of its own: nothing was sent", ticket.id
        )
    if len(mail.text) > MAX_AGENT_CHARS:
        return Refused(
            f"{where} by {shown(mail.from_addr)} is longer than {MAX_AGENT_CHARS:,} characters, more than "
            "a reply by mail may carry (it would be cut): nothing was sent; send long logs or files as an "
            "attachment of a mail written by hand, or use `mailbot tickets reply --file`",
            ticket.id,
        )
    name = one_line(mail.from_name).strip()
    if _SEND_WORDS.fullmatch(" ".join(text.split())):
        article_id = suggested_article(session, ticket.id)
        article = app.kb.article(article_id, Language(ticket.language)) if article_id else None
        if article is None:
            return Refused(
                f"{where} by {shown(mail.from_addr)} says only {shown(text)!r}, but the notice suggested no "
                "answer (or its article is gone): nothing was sent; reply with the text for the customer",
                ticket.id,
            )
        return AgentAnswer(ticket.id, mail.from_addr, name, article.body, article.id)
    return AgentAnswer(ticket.id, mail.from_addr, name, text)


def suggested_article(session: Session, ticket_id: int) -> str | None:
    note = session.scalar(
        select(TicketEvent.note)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == SUGGESTED)
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    return note.split()[0] if note else None


def _looks_ours(app: App, message_id: str) -> bool:
    value = message_id.strip()
    return value.startswith("<mb.") and value.endswith(f"@{app.settings.message_id_domain}>")


def _notice_named(session: Session, app: App, named: list[str]) -> OutboxMail | None:
    for message_id in named:
        if not verify_message_id(message_id, app.message_id_key):
            continue
        before_reading(session, with_message_id([message_id]))
        notice = session.scalar(
            select(OutboxMail).where(
                OutboxMail.mailbox == app.mailbox,
                OutboxMail.message_id == message_id.strip(),
                OutboxMail.to_customer.is_(False),
                OutboxMail.kind.in_(ANSWERABLE_KINDS),
            )
        )
        if notice is not None:
            return notice
    return None


def agent_decision(agent: AgentAnswer, hits: tuple[RuleHit, ...]) -> Decision:
    what = f"the suggested article {agent.article_id}" if agent.article_id else "their own text"
    return Decision(
        Action.AGENT_ANSWER,
        f"team member {shown(agent.agent)} answered the customer by replying to the team notice ({what})",
        article_id=agent.article_id,
        ticket_id=agent.ticket_id,
        rule_hits=hits,
        details={"agent": agent.agent, "agent_name": agent.agent_name},
    )


def refuse_agent_mail(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    reason: str,
    ticket_id: int | None,
    now: datetime,
) -> None:
    """Tell the team (never the sender) that a reply to a notice was not sent, and why."""
    ticket = session.get(Ticket, ticket_id) if ticket_id is not None else None
    mail_team(
        session, app, ticket, "agent_reply_refused", f"agent-reply-refused:inbound-{row.id}", now,
        reference=ticket.reference if ticket else None, sender=mail.from_addr or "(no sender)",
        subject=mail.subject, reason=reason,
    )  # fmt: skip
    log.warning("inbound #%s: %s", row.id, reason)


def suggestion(app: App, prediction: Prediction | None, language: Language) -> Article | None:
    """The article a team notice suggests: the best one of a near miss (below the threshold, at least
    SUGGEST_FROM), when members may answer by mail and the article may be answered automatically."""
    if not app.settings.team.members or prediction is None or prediction.article_id is None:
        return None
    if prediction.confident or prediction.confidence < SUGGEST_FROM:
        return None
    article = app.kb.article(prediction.article_id, language)
    return article if article is not None and article.action != "escalate" else None
