"""Decide what to do with each new or edited review of an app, and write the draft, in one transaction.

What a failure leaves behind: a review is decided together with its draft, its ticket (with the team's
mail and the Jira job) and its state, or not at all: a crash leaves it `new`, and the next run decides it
once. An approved draft is not posted here (mailbot.reviews.posting does that); `auto` kinds are approved
here, at most `auto_daily_cap` per app and day. The "fixed" follow-up of a review whose ticket was solved
is drafted here as well.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.db.schema import ReplyState, ReviewReply, ReviewState, StoreReviewRow, Ticket, TicketEvent
from mailbot.domain import Language, TicketState
from mailbot.reviews.checker import check_reply
from mailbot.reviews.compose import Draft, ReplyContext, ReplyKind, draft_reply
from mailbot.reviews.decide import ReviewAction, ReviewDecision, ReviewFacts, decide_review
from mailbot.reviews.language import review_language
from mailbot.reviews.reading import Reading, read_new
from mailbot.reviews.settings import AppleApp, GoogleApp, ReviewSettings
from mailbot.reviews.ticket import open_review_ticket
from mailbot.reviews.workflow import Checker
from mailbot.stores.model import Store

RECENT = 4  # phrasings of the app's latest drafts a new draft avoids
_VERSION = re.compile(r"\b(?:version|Version|v)\s*([0-9]+(?:\.[0-9]+){1,3})\b")


@dataclass
class DraftReport:
    decided: dict[str, int] = field(default_factory=dict)  # action -> count
    drafted: int = 0
    auto_approved: int = 0
    tickets: list[str] = field(default_factory=list)  # references opened
    for_a_person: int = 0


def checker_for(app: App) -> Checker:
    """The reply check a person's edit goes through, with this client's links."""
    links = app.settings.reviews.links if app.settings.reviews else ()

    def check(review: StoreReviewRow, text: str) -> tuple[str, ...]:
        found = check_reply(
            text, f"{review.title}\n{review.body}", Store(review.store), links, author=review.author
        )
        return tuple(problem.reason for problem in found)

    return check


def draft_new(app: App, store_app: AppleApp | GoogleApp, now: datetime) -> DraftReport:
    settings = app.settings.reviews
    assert settings is not None
    report = DraftReport()
    # made (and stored) on first use in a session of their own: not inside the write transaction below
    _ = app.message_id_key, app.renderer
    while True:
        readings = read_new(app, store_app)
        if not readings:
            break
        with app.sessions.begin() as session:
            rows = list(
                session.scalars(
                    select(StoreReviewRow)
                    .where(StoreReviewRow.id.in_(readings), StoreReviewRow.state == ReviewState.NEW)
                    .order_by(StoreReviewRow.created_at, StoreReviewRow.id)
                    .with_for_update(skip_locked=True)
                )
            )
            rows = [row for row in rows if row.text_sha256 == readings[row.id].digest]
            _decide_batch(session, app, settings, store_app, rows, readings, now, report)
        if not rows:
            break  # another worker has them, or they changed meanwhile: the next pass decides them
    with app.sessions.begin() as session:
        _draft_fixed(session, app, settings, store_app, now, report)
    return report


def _decide_batch(
    session: Session,
    app: App,
    settings: ReviewSettings,
    store_app: AppleApp | GoogleApp,
    rows: list[StoreReviewRow],
    readings: dict[int, Reading],
    now: datetime,
    report: DraftReport,
) -> None:
    escalating = frozenset(a.id for a in app.kb.articles if a.action == "escalate")
    for row in rows:
        read = readings[row.id]
        facts = ReviewFacts(
            store=Store(row.store),
            rating=row.rating,
            title=row.title,
            body=row.body,
            language=read.language.language,
            prediction=read.prediction,
            severity=read.severity,
            hits=read.hits,
            already_answered=_posted_before(session, row),
            edited=row.edited_at is not None,
            escalating_articles=escalating,
            review_id=row.review_id,
            author=row.author,
        )
        decision = decide_review(facts)
        row.language = read.language.language.value if read.language.language else None
        row.action, row.reason = decision.action.value, decision.reason
        row.article_id = decision.article_id
        row.severity = decision.severity.value if decision.severity else None
        report.decided[decision.action.value] = report.decided.get(decision.action.value, 0) + 1
        if decision.action is ReviewAction.TICKET and row.ticket_id is None:
            kind_auto = ReplyKind.PASSED_ON.value in settings.auto
            ticket = open_review_ticket(
                session, app, row, store_app.name, facts.severity, decision.reason,
                "auto" if kind_auto else "draft", now,
            )  # fmt: skip
            row.severity = ticket.severity
            report.tickets.append(ticket.reference or "")
        _write_draft(session, app, settings, store_app, row, facts, decision, now, report)


def _write_draft(
    session: Session,
    app: App,
    settings: ReviewSettings,
    store_app: AppleApp | GoogleApp,
    row: StoreReviewRow,
    facts: ReviewFacts,
    decision: ReviewDecision,
    now: datetime,
    report: DraftReport,
    *,
    solved: bool = False,
    version: str = "",
) -> None:
    language = facts.language or app.settings.support.default_language
    article = app.kb.article(decision.article_id, language) if decision.article_id else None
    ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
    context = ReplyContext(
        app_name=store_app.name,
        sign_off=settings.sign_off,
        support_link=settings.support_link or "",
        allowed_links=settings.links,
        article=article,
        ticket_reference=(ticket.reference or "") if ticket else "",
        solved=solved,
        fixed_version=version,
        recent_phrasings=_recent_phrasings(session, store_app),
        template_dirs=tuple(app.settings.templates.directories),
    )
    result = draft_reply(decision, facts, context)
    _supersede_open_drafts(session, row)
    if not isinstance(result, Draft):
        row.state = ReviewState.PERSON
        if result.kind is not None:  # a kind was meant, but nothing fit: the person sees why
            row.reason = f"{row.reason}; no draft: {result.reason}"[:2000]
        report.for_a_person += 1
        return
    reply = ReviewReply(
        mailbox=app.mailbox, review_pk=row.id, kind=result.kind.value, phrasing=result.phrasing,
        text=result.text, problems=[], state=ReplyState.DRAFT, created_at=now,
    )  # fmt: skip
    session.add(reply)
    row.state = ReviewState.DECIDED
    report.drafted += 1
    if result.kind.value in settings.auto and _auto_left(session, app, store_app, settings, now) > 0:
        reply.state, reply.auto, reply.decided_by, reply.decided_at = ReplyState.APPROVED, True, "auto", now
        report.auto_approved += 1
    session.flush()


def _draft_fixed(
    session: Session,
    app: App,
    settings: ReviewSettings,
    store_app: AppleApp | GoogleApp,
    now: datetime,
    report: DraftReport,
) -> None:
    """Reviews whose ticket was solved and that have no "fixed" reply yet get one (a draft, or auto)."""
    fixed = select(ReviewReply.review_pk).where(ReviewReply.kind == ReplyKind.FIXED.value)
    rows = session.scalars(
        select(StoreReviewRow)
        .join(Ticket, Ticket.id == StoreReviewRow.ticket_id)
        .where(
            StoreReviewRow.mailbox == app.mailbox,
            StoreReviewRow.store == store_app.store,
            StoreReviewRow.app == store_app.app,
            StoreReviewRow.erased_at.is_(None),
            Ticket.state == TicketState.SOLVED,
            StoreReviewRow.id.not_in(fixed),
        )
    ).all()
    for row in rows:
        found = review_language(row.title, row.body, app.settings.support.default_language)
        facts = ReviewFacts(
            store=Store(row.store), rating=row.rating, title=row.title, body=row.body,
            language=Language(row.language) if row.language else found.language,
            review_id=row.review_id, author=row.author,
        )  # fmt: skip
        decision = ReviewDecision(ReviewAction.TICKET, "the ticket behind the review was solved", "solved")
        _write_draft(
            session, app, settings, store_app, row, facts, decision, now, report,
            solved=True, version=_fixed_version(session, row.ticket_id),
        )  # fmt: skip


def _fixed_version(session: Session, ticket_id: int | None) -> str:
    """The version a solving note names ("fixed in version 2.3.1"), or ""."""
    note = session.scalar(
        select(TicketEvent.note)
        .where(TicketEvent.ticket_id == ticket_id, TicketEvent.kind == "solved")
        .order_by(TicketEvent.id.desc())
        .limit(1)
    )
    match = _VERSION.search(note or "")
    return match.group(1) if match else ""


def _posted_before(session: Session, row: StoreReviewRow) -> bool:
    found = session.scalar(
        select(ReviewReply.id)
        .where(ReviewReply.review_pk == row.id, ReviewReply.state == ReplyState.POSTED)
        .limit(1)
    )
    return found is not None


def _supersede_open_drafts(session: Session, row: StoreReviewRow) -> None:
    for reply in session.scalars(
        select(ReviewReply).where(ReviewReply.review_pk == row.id, ReviewReply.state == ReplyState.DRAFT)
    ):
        reply.state = ReplyState.SUPERSEDED


def _recent_phrasings(session: Session, store_app: AppleApp | GoogleApp) -> tuple[str, ...]:
    return tuple(
        session.scalars(
            select(ReviewReply.phrasing)
            .join(StoreReviewRow, StoreReviewRow.id == ReviewReply.review_pk)
            .where(StoreReviewRow.store == store_app.store, StoreReviewRow.app == store_app.app)
            .order_by(ReviewReply.id.desc())
            .limit(RECENT)
        )
    )


def _auto_left(
    session: Session, app: App, store_app: AppleApp | GoogleApp, settings: ReviewSettings, now: datetime
) -> int:
    """Automatic approvals left today (the client's day, in its business-hours zone) for this app."""
    zone = app.calendar.zone
    start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    used = session.scalar(
        select(func.count(ReviewReply.id))
        .join(StoreReviewRow, StoreReviewRow.id == ReviewReply.review_pk)
        .where(
            StoreReviewRow.store == store_app.store,
            StoreReviewRow.app == store_app.app,
            ReviewReply.auto.is_(True),
            ReviewReply.decided_at >= start,
            ReviewReply.decided_at < start + timedelta(days=1),
        )
    )
    return settings.auto_daily_cap - int(used or 0)
