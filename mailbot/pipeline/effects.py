"""The effects of a decision: ticket, ticket events and outbox rows, in the caller's transaction.

Nothing here talks to a server; mail only enters the outbox. The caller commits it together with the
state change of the inbound mail.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from mailbot.addresses import canonical
from mailbot.app import App
from mailbot.db.reads import read_rows, read_scalar
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.db.write_now import insert_now
from mailbot.domain import (
    Action,
    Decision,
    Intent,
    Language,
    ParsedMail,
    ReplyTarget,
    SeverityGuess,
    TicketState,
)
from mailbot.escalate.jobs import enqueue_jobs
from mailbot.kb.model import Article
from mailbot.pipeline.prepare import Prepared, severity_for, shown_to_customer
from mailbot.reply.compose import threading_headers
from mailbot.reply.outbox import Composer, Outgoing, enqueue
from mailbot.reply.pending_outbox import before_reading, team_notices_about
from mailbot.reports.failure import failure_signal
from mailbot.tickets.agent_mail import SUGGESTED, suggestion
from mailbot.tickets.events_waiting import keep_or_write, write_waiting
from mailbot.tickets.incidents import MAX_CANDIDATES, Candidate, pick_parent, stored_signal_names
from mailbot.tickets.notify import local_time, sender_of, to_team
from mailbot.tickets.oncall import alert_oncall
from mailbot.tickets.overdue import Promise, alert_response_overdue, overdue_note, promise
from mailbot.tickets.service import new_reference, reply
from mailbot.tickets.sla import clock_start, due_times
from mailbot.tickets.team_reason import team_reason
from mailbot.tickets.team_view import customer_label, team_reasons

log = logging.getLogger(__name__)
EXCERPT_CHARS = 2000
# a follow-up whose best article is the one already sent, at least this confident, asks the same again
SAME_QUESTION_FROM = 0.5


def apply_decision(
    session: Session,
    app: App,
    row: InboundMail,
    mail: ParsedMail,
    decision: Decision,
    now: datetime,
    prepared: Prepared | None = None,
    composer: Composer | None = None,
) -> str | None:
    """Write the effects of `decision`; return the reference of the ticket it touched, if any.
    `prepared`: what the batch already guessed about the mail (its severity), so it is not guessed twice;
    `composer`: builds the bytes of its outgoing mail beside the caller (see outbox.enqueue)."""
    if decision.action is Action.IGNORE:
        return None
    effects = _Effects(session, app, row, mail, decision, now, prepared, composer)
    if decision.action is Action.AGENT_ANSWER:
        assert decision.ticket_id is not None
        ticket = session.get_one(Ticket, decision.ticket_id)
        effects.agent_answer(ticket)
    elif decision.action is Action.FOLLOW_UP:
        assert decision.ticket_id is not None
        ticket = session.get_one(Ticket, decision.ticket_id)
        effects.follow_up(ticket)
    elif decision.action is Action.ANSWER:
        ticket = effects.open_ticket()
        effects.answer(ticket)
    else:
        guess = severity_for(app, prepared, mail)
        ticket = effects.open_ticket(guess)
        effects.escalate(ticket, guess)
    effects.write_events(last=True)
    row.ticket_id = ticket.id
    return ticket.reference


@dataclass(frozen=True)
class Parent:
    """The ticket an escalation joins as a report of the same fault (`_Effects.group`)."""

    id: int
    mailbox: str  # the new ticket's: grouping looks only at the same mailbox's faults
    reference: str | None


@dataclass
class _Effects:
    """Everything one decision's effects need, so each step names only what differs.

    Its own ticket events are kept in `events` and written together (`write_events`): before anything
    that adds events of its own (alert_response_overdue, tickets.service.reply) and at the end, so that
    a ticket's history keeps the order in which they happened. At the end and before alert_oncall
    (whose `add_event` writes them first) they wait for the batch's INSERT (tickets.events_waiting)."""

    session: Session
    app: App
    row: InboundMail
    mail: ParsedMail
    decision: Decision
    now: datetime
    prepared: Prepared | None = None
    composer: Composer | None = None
    events: list[dict[str, object]] = field(default_factory=list)

    @property
    def target(self) -> ReplyTarget:
        """Where a new conversation's automatic mail goes and whose ticket it is (rules.reply_target);
        the From when the decision names none."""
        return self.decision.reply_target or ReplyTarget.sender(self.mail)

    def open_ticket(self, guess: SeverityGuess | None = None) -> Ticket:
        """`guess`: an escalation's severity, assessed before the INSERT so that the row is written
        once (issue 13: assessed after it, each escalation cost an UPDATE of the new row). The row is
        written at once, without a flush (db.write_now): its id names the events, the outbox rows and
        the inbound row."""
        answered = self.decision.action is Action.ANSWER
        target = self.target
        ticket = Ticket(
            mailbox=self.app.mailbox,
            reference=new_reference(self.session, self.app),  # in its INSERT, no UPDATE after it
            customer=canonical(target.customer),  # who may join the ticket later (see tickets.lookup)
            customer_name=target.customer_name[:300],
            subject=self.mail.subject,
            language=self.mail.language.value,
            state=TicketState.ANSWERED if answered else TicketState.ESCALATED,
            article_id=self.decision.article_id,
            created_at=self.now,
            updated_at=self.now,
            text_excerpt=self.mail.body[:EXCERPT_CHARS],
        )
        assessed = self.assess_fields(ticket, guess) if guess is not None else None
        insert_now(self.session, ticket)
        self.event(ticket, "created", self.decision.reason)
        if target.note:
            self.event(ticket, "reply_to_not_honoured", target.note)
        if assessed is not None:
            self.event(ticket, "assessed", assessed)
        return ticket

    def answer(self, ticket: Ticket) -> None:
        assert self.decision.article_id is not None
        article = self.app.kb.article(self.decision.article_id, self.mail.language)
        assert article is not None  # the classifier only knows articles of this KB
        self.to_customer(ticket, "answer", article_title=article.title, article_markdown=article.body)
        self.event(ticket, "answered", f"article {article.id}")

    def escalate(self, ticket: Ticket, guess: SeverityGuess) -> None:
        """A new ticket to the 2nd level; `open_ticket` assessed it with `guess`."""
        parent = self.group(ticket)
        response = promise(local_time(self.app, ticket.response_due_at), self.now)
        if self.decision.reply_to_customer:
            article_id = self.decision.article_id  # an article that sends its topic to the 2nd level
            interim = self.app.kb.article(article_id, self.mail.language) if article_id else None
            self.to_customer(
                ticket,
                "acknowledgement",
                interim_markdown=interim.body if interim else None,
                severity=ticket.severity if ticket.severity_shown else None,
                response_due=response.due,
                overdue=response.overdue,
            )
        suggested = suggestion(self.app, self.decision.prediction, self.mail.language)
        if suggested is not None:
            confidence = self.decision.prediction.confidence if self.decision.prediction else 0.0
            self.event(ticket, SUGGESTED, f"{suggested.id} ({confidence:.2f})")
        notice = {"guess": guess, "parent": parent, "note": overdue_note(response), "suggested": suggested}
        self.team_notice(ticket, "new", first=True, **notice)
        self.event(ticket, "escalated", self.decision.reason)
        enqueue_jobs(self.session, self.app, ticket, "ticket.escalated", f"ticket-{ticket.id}", self.now)
        self.tell_overdue(ticket, response)
        self.write_events(last=True)  # alert_oncall adds its event through add_event
        alert_oncall(self.session, self.app, ticket, self.now)  # only while closed, only urgent classes

    def assess(self, ticket: Ticket, guess: SeverityGuess) -> None:
        self.event(ticket, "assessed", self.assess_fields(ticket, guess))

    def assess_fields(self, ticket: Ticket, guess: SeverityGuess) -> str:
        """Severity and due times, set on `ticket`; returns the note of its "assessed" event. The SLA
        clock starts when the mail reached the mailbox. The customer is told the guess only when
        `show_to_customer` allows it; the team always sees it."""
        ticket.severity = guess.severity.value if guess.severity else None
        ticket.severity_reasons = list(guess.reasons)
        ticket.severity_shown = shown_to_customer(self.prepared, guess, self.mail)
        started = clock_start(self.row.received_at, self.row.ingested_at, self.app.settings.sla.start_skew)
        due = due_times(started, guess.severity, self.app.calendar, self.app.settings.sla)
        if due is not None:
            ticket.sla_started_at = due.started_at
            ticket.response_due_at = due.response_due
            ticket.resolution_due_at = due.resolution_due
        reasons = "; ".join(guess.reasons[:3])
        shown = "told the customer" if ticket.severity_shown else "not told the customer"
        return f"severity {ticket.severity or 'none'} ({shown}): {reasons}"

    def reassess(self, ticket: Ticket) -> SeverityGuess:
        """A reply that takes a ticket (back) to the 2nd level is assessed like a new report: severity
        from its own words, a new SLA clock from its arrival, the response target of that clock."""
        ticket.sla_started_at = ticket.response_due_at = ticket.resolution_due_at = None
        ticket.responded_at = ticket.sla_warned_at = ticket.sla_breached_at = None
        guess = self.app.severity.guess(self.mail.subject, self.mail.body)
        self.assess(ticket, guess)
        return guess

    def group(self, ticket: Ticket) -> Parent | None:
        """Join an incident: an open report of the same fault from the grouping window.

        Bounded per escalation however many faults are open (an outage is when it counts): one indexed
        query for the columns grouping reads, of the `MAX_CANDIDATES` most recent open faults of the
        same severity (pick_parent compares no other), passed oldest first as before. The parent is
        named, not loaded: its id, mailbox and reference are all the grouping writes about it."""
        settings = self.app.settings.incidents
        if not settings.window_minutes or ticket.severity is None:
            return None
        since = self.now - timedelta(minutes=settings.window_minutes)
        recent_first = read_rows(
            self.session,
            _OPEN_FAULTS,
            {"mailbox": ticket.mailbox, "severity": ticket.severity, "since": since, "ticket_id": ticket.id},
        )
        candidates = [
            Candidate(
                row.id,
                row.parent_id,
                row.severity,
                row.text_excerpt,
                signals=stored_signal_names(row.reasons),
            )
            for row in reversed(recent_first)
        ]
        references = {row.id: row.reference for row in recent_first}
        picked = pick_parent(
            ticket.text_excerpt,
            ticket.severity,
            candidates,
            settings.min_similarity,
            ticket.severity_reasons or (),
        )
        if picked is None:
            return None
        parent_id = picked[0]  # the incident's first report: a candidate, or the one it joined
        reference = (
            references[parent_id]
            if parent_id in references
            else read_scalar(self.session, _REFERENCE, {"ticket_id": parent_id})
        )
        parent = Parent(parent_id, ticket.mailbox, reference)
        ticket.parent_id = parent.id
        self.event(ticket, "grouped", f"same fault as {parent.reference} (similarity {picked[1]:.2f})")
        self.event(parent, "incident_report", f"{ticket.reference} reports the same fault")
        return parent

    def follow_up(self, ticket: Ticket) -> None:
        self.event(ticket, "customer_reply", self.decision.reason)
        if self.decision.sender_not_verified:  # a forged From: on the ticket for the team, nothing else
            self.event(ticket, "sender_not_verified", self.decision.sender_not_verified)
            self.team_notice(ticket, "unverified_follow_up")
            return
        if self.decision.intent is Intent.CLOSING:  # decide() only says so for tickets not with the team
            self.event(ticket, "customer_closing", f"thanks or 'solved'; the ticket stays {ticket.state}")
            ticket.updated_at = self.now
            return
        self.record_failure(ticket)
        enqueue_jobs(
            self.session,
            self.app,
            ticket,
            "ticket.customer_reply",
            f"inbound-{self.row.id}",
            self.now,
            inbound_id=self.row.id,
        )
        guess, told = None, Promise(None)
        if ticket.state != TicketState.ESCALATED:
            previous = ticket.state
            ticket.state = TicketState.ESCALATED
            ticket.resolved_at = None
            kind = "reopened" if previous == TicketState.SOLVED else "escalated"
            self.event(ticket, kind, f"customer replied to a {previous} ticket")
            guess = self.reassess(ticket)
            told = promise(local_time(self.app, ticket.response_due_at), self.now)
            if self.decision.reply_to_customer:
                self.to_customer(ticket, "followup_received", response_due=told.due, overdue=told.overdue)
        elif self.decision.reply_to_customer and self.decision.intent is Intent.STATUS:
            told = self.status_answer(ticket)
        ticket.updated_at = self.now
        self.team_notice(ticket, "follow_up", guess=guess, note=overdue_note(told))
        self.tell_overdue(ticket, told)

    def agent_answer(self, ticket: Ticket) -> None:
        """A team member's reply to a notice: their text (or the suggested article) to the customer as
        a person's reply, the human first response, the ticket answered (tickets.agent_mail)."""
        article_id = self.decision.article_id
        article = self.app.kb.article(article_id, Language(ticket.language)) if article_id else None
        text = article.body if article is not None else self.mail.body.strip()
        name = self.decision.details.get("agent_name", "")
        self.write_events()
        reply(self.session, self.app, ticket, text, self.now, f"inbound-{self.row.id}", agent_name=name)
        ticket.state = TicketState.ANSWERED
        self.event(ticket, "answered_by_mail", self.decision.details.get("agent", ""))

    def record_failure(self, ticket: Ticket) -> None:
        """A follow-up to an automatic answer that says it failed ("hilft nicht", asks for a person,
        the same question again): a `failure_signal` event for the reports (mailbot.reports.outcomes)."""
        if ticket.article_id is None:
            return
        prediction = self.prepared.prediction if self.prepared else None
        again = (
            prediction is not None
            and prediction.article_id == ticket.article_id
            and prediction.confidence >= SAME_QUESTION_FROM
        )
        signal = failure_signal(self.mail.body, same_article_again=again)
        if signal is not None:
            self.event(ticket, "failure_signal", f"{signal.kind.value}: {signal.evidence}")

    def status_answer(self, ticket: Ticket) -> Promise:
        """Tell a customer who asks where the ticket stands; at most once per `status_reply_hours`.

        The answer goes to the address stored on the ticket, never to a Reply-To of the question,
        so a forged From with an own Reply-To learns nothing. Of the response target (before the
        team's first answer) or else the resolution target, a time still ahead is promised and a
        past one is not: the customer reads that the request is overdue and has priority.
        """
        pause = timedelta(hours=self.app.settings.limits.status_reply_hours)
        if ticket.status_replied_at is not None and self.now - ticket.status_replied_at < pause:
            note = f"a status answer went out at {ticket.status_replied_at}"
            self.event(ticket, "status_not_answered", note)
            return Promise(None)
        ticket.status_replied_at = self.now
        responded = ticket.responded_at is not None
        told = promise(
            local_time(self.app, ticket.resolution_due_at if responded else ticket.response_due_at), self.now
        )
        self.to_customer(
            ticket,
            "status",
            recipient=ticket.customer,
            state=ticket.state,
            severity=ticket.severity if ticket.severity_shown else None,
            response_due=None if responded else told.due,
            resolution_due=told.due if responded else None,
            responded=responded,
            overdue=told.overdue,
        )
        self.event(ticket, "status_answered", "the customer asked for the state of the ticket")
        return told

    def tell_overdue(self, ticket: Ticket, told: Promise) -> None:
        """After the customer was told a target has passed: the breach alert for a response target
        (once per ticket, shared with the SLA watch), an event for a resolution target (the team
        notice says it)."""
        if not told.overdue:
            return
        if ticket.responded_at is None:
            self.write_events()
            alert_response_overdue(
                self.session, self.app, ticket, self.now, "found when writing to the customer"
            )
        else:
            self.event(ticket, "resolution_overdue", f"resolution was due {ticket.resolution_due_at}")

    def to_customer(self, ticket: Ticket, kind: str, recipient: str | None = None, **context: object) -> None:
        """Queue `kind` in reply to this mail: about an existing ticket to the address and name stored
        on it (never a Reply-To of the new mail: a forged From learns nothing), else to the reply target
        of the new conversation. `recipient` overrides the address."""
        if self.decision.action is Action.FOLLOW_UP:
            address, name = ticket.customer, ticket.customer_name
        else:
            address, name = self.target.address, self.target.name
        threading = threading_headers(self.mail.message_id, self.mail.references)
        context |= {
            "reference": ticket.reference,
            "customer_name": name,
            "support_name": self.app.settings.support.name,
            "subject": self.mail.subject,
        }
        self.enqueue(
            ticket,
            Outgoing(
                kind=kind,
                language=self.mail.language,
                recipient=recipient or address,
                to_customer=True,
                context=context,
                in_reply_to=threading.get("In-Reply-To"),
                references=threading.get("References", "").split(),
            ),
        )

    def team_notice(
        self,
        ticket: Ticket,
        event: str,
        guess: SeverityGuess | None = None,
        parent: Parent | None = None,
        note: str | None = None,
        suggested: Article | None = None,
        first: bool = False,
    ) -> None:
        """`note`: a line the team must read beside the decision's reason (an overdue target);
        `suggested`: the answer a near miss suggests, sent when a member replies "OK"; `first`: the
        ticket was opened by this decision, so the team has had no mail about it yet."""
        if self.flooding(ticket):
            return
        prediction = self.decision.prediction
        reason = team_reason(self.decision, self.app.settings.team.language)
        context = {
            "reference": ticket.reference,
            "customer": customer_label(ticket.customer_name, ticket.customer),
            "subject": self.mail.subject,
            "reason": f"{reason}; {note}" if note else reason,
            "language": ticket.language,  # the ticket's; the notice itself is in the team's language
            "ranking": list(prediction.ranking) if prediction else [],
            "rule_hits": [(hit.name, hit.reason) for hit in self.decision.rule_hits],
            "body_excerpt": self.mail.body[:EXCERPT_CHARS],
            "event": event,
            "severity": ticket.severity,
            "severity_confidence": guess.confidence if guess else None,
            "severity_reasons": team_reasons(ticket.severity_reasons, self.app.settings.team.language),
            "response_due": local_time(self.app, ticket.response_due_at),
            "resolution_due": local_time(self.app, ticket.resolution_due_at),
            "parent_reference": parent.reference if parent else None,
            "external_key": ticket.external_key,
            "answer_by_mail": bool(self.app.settings.team.members),
        }
        if suggested is not None and prediction is not None:
            context |= {
                "suggestion_title": suggested.title,
                "suggestion_markdown": suggested.body,
                "suggestion_article": suggested.id,
                "suggestion_confidence": prediction.confidence,
            }
        item = to_team(
            self.session, self.app, ticket.id, "team_notice", context, attach_rfc822=self.row.raw, first=first
        )
        self.enqueue(ticket, item)

    def flooding(self, ticket: Ticket) -> bool:
        """One sender's flood opens tickets but does not bury the team's mailbox (bench/torture.py
        flood: 200 mails in a minute had become 197 notices). Counted from the customer's tickets
        (`ix_tickets_customer`) to their notices of the hour (`ix_outbox_ticket`), so the count does
        not read the mailbox's other mail (a ticket's notices are in its mailbox)."""
        cap = self.app.settings.limits.team_notices_per_sender_per_hour
        before_reading(self.session, team_notices_about(self.session, ticket.customer))
        recent = read_scalar(
            self.session,
            _NOTICES_FOR_CUSTOMER,
            {"mailbox": ticket.mailbox, "customer": ticket.customer, "since": self.now - timedelta(hours=1)},
        )
        if (recent or 0) < cap:
            return False
        note = f"no team notice: {recent} about {ticket.customer} within an hour; see `mailbot tickets list`"
        self.event(ticket, "team_notice_held", note)
        log.info("%s: %s", ticket.reference, note)
        return True

    def enqueue(self, ticket: Ticket, item: Outgoing) -> None:
        enqueue(
            self.session,
            self.app.renderer,
            sender_of(self.app),
            self.app.mailbox,
            item,
            ticket_id=ticket.id,
            inbound_id=self.row.id,
            now=self.now,
            composer=self.composer,
        )

    def event(self, ticket: Ticket | Parent, kind: str, note: str) -> None:
        """Kept for `write_events` (see the class)."""
        self.events.append(
            {
                "mailbox": ticket.mailbox,
                "ticket_id": ticket.id,
                "at": self.now,
                "kind": kind,
                "inbound_id": self.row.id,
                "note": note,
            }
        )

    def write_events(self, last: bool = False) -> None:
        """The kept events in one INSERT (issue 13: the ORM wrote them one statement each, to learn ids
        nothing here reads), on the session's connection: no autoflush of the decision's other rows,
        which the savepoint's end writes in one flush. `last`: nothing of this decision adds events
        itself after them but through `add_event`, so while a batch is decided they wait for its one
        INSERT (tickets.events_waiting)."""
        if not self.events:
            return
        if last:
            keep_or_write(self.session, self.events)
        else:
            write_waiting(self.session, self.events)
        self.events = []


# Built once: each decision runs some of them, and building a statement costs more than running it
# (issue 13: ~0.15 ms each)
_OPEN_FAULTS = (  # _Effects.group
    select(
        Ticket.id,
        Ticket.parent_id,
        Ticket.severity,
        Ticket.text_excerpt,
        cast(Ticket.severity_reasons, Text).label("reasons"),  # as stored: decoded once per text
        Ticket.reference,
    )
    .where(
        Ticket.mailbox == bindparam("mailbox"),
        Ticket.state == TicketState.ESCALATED,
        Ticket.severity == bindparam("severity"),
        Ticket.created_at >= bindparam("since"),
        Ticket.id != bindparam("ticket_id"),
    )
    .order_by(Ticket.created_at.desc(), Ticket.id.desc())
    .limit(MAX_CANDIDATES)
)
_REFERENCE = select(Ticket.reference).where(Ticket.id == bindparam("ticket_id"))  # _Effects.group
_NOTICES_FOR_CUSTOMER = (  # _Effects.flooding
    select(func.count(OutboxMail.id))
    .select_from(Ticket)
    .join(OutboxMail, OutboxMail.ticket_id == Ticket.id)
    .where(
        Ticket.mailbox == bindparam("mailbox"),
        Ticket.customer == bindparam("customer"),
        OutboxMail.kind == "team_notice",
        OutboxMail.created_at >= bindparam("since"),
    )
)
