"""Incident grouping and the team notice do not grow with the open faults or the stored outbox (issue 13).

Not timed: the work per escalation is counted (SQL statements, candidate rows handed to grouping) with
2,000 open faults in the window against 20, and the query plans on SQLite must read the indexes.
The real effects run on a real database (SQLite and PostgreSQL); nothing is sent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, insert, select
from sqlalchemy.orm import Session

from mailbot.app import App, open_database
from mailbot.config import Settings
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, Ticket, TicketEvent
from mailbot.domain import Action, Decision, Language, ParsedMail, TicketState
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.pipeline import effects as effects_module
from mailbot.pipeline.effects import _Effects
from mailbot.tickets.incidents import MAX_CANDIDATES, Candidate, pick_parent

NOW = datetime(2026, 5, 26, 9, 0, tzinfo=UTC)
CRASH_ALL = ['signal: "stürzt ab" (crash)', 'signal: "bei allen" (all users affected)']
OUTAGE = "Seit dem Update stürzt die App bei allen Nutzern beim Start ab, niemand kann buchen."
REPORT = "Hallo, seit dem Update stürzt die App bei allen sofort beim Start ab, keiner kann buchen."
OTHER_FAULTS = [
    "Die Rechnung für März wurde doppelt abgebucht, Kundennummer {n}.",
    "Im Kalender fehlen die Kurse vom Dienstag, Studio {n}.",
    "Push-Nachrichten kommen seit gestern nicht mehr an, Gerät {n}.",
    "The export of my training statistics fails with error {n}.",
]


def make_app(tmp_path: Path, database_url: str) -> App:
    values: dict[str, Any] = {
        "support": {"address": "support@example.com", "ticket_numbers": "sequential"},
        "team": {"address": "team@example.com"},
        "maildir": {"path": str(tmp_path / "Maildir")},
        "smtp": {"host": "127.0.0.1", "security": "none"},
        "database": {"url": database_url},
        "templates": {"path": str(SHIPPED_TEMPLATES)},
        "business_hours": {"always_open": True},
    }
    settings = Settings.model_validate(values)
    app = App(settings, *open_database(settings), lambda: NOW)
    _ = app.message_id_key
    return app


def store_open_faults(app: App, count: int, start: int = 0, outbox_rows: int = 0) -> None:
    """`count` unrelated open critical faults within the window (numbers `start`...), and `outbox_rows`
    sent mails about them."""
    rows = [
        {"mailbox": app.mailbox, "reference": f"MB-{10 * n + 5:06d}", "customer": f"c{n}@kunde.example",
         "subject": "Fehler", "language": "de", "state": TicketState.ESCALATED,
         "created_at": NOW - timedelta(minutes=200) + timedelta(seconds=n),
         "updated_at": NOW, "severity": "critical", "severity_reasons": CRASH_ALL[:1],
         "text_excerpt": OTHER_FAULTS[n % len(OTHER_FAULTS)].format(n=n)}
        for n in range(start, start + count)
    ]  # fmt: skip
    with app.sessions.begin() as session:
        session.execute(insert(Ticket), rows)
        if outbox_rows:
            session.execute(insert(OutboxMail), [
                {"mailbox": app.mailbox, "kind": "acknowledgement", "to_customer": True,
                 "ticket_id": 1 + n % count, "message_id": f"<o{n}@example.com>",
                 "mail_from": "support@example.com", "recipient": f"c{n % count}@kunde.example",
                 "subject": "Re: Fehler", "raw": b"x" * 500, "state": "sent", "attempts": 1,
                 "next_attempt_at": NOW, "created_at": NOW - timedelta(days=1)}
                for n in range(outbox_rows)
            ])  # fmt: skip


def store_outage(app: App) -> int:
    """The first report of an outage, five minutes ago (after every fault of store_open_faults)."""
    with app.sessions.begin() as session:
        outage = Ticket(mailbox=app.mailbox, reference="MB-900000", customer="first@kunde.example",
                        subject="App stürzt ab", language="de", state=TicketState.ESCALATED,
                        created_at=NOW - timedelta(minutes=5), updated_at=NOW, severity="critical",
                        severity_reasons=CRASH_ALL[:1], text_excerpt=OUTAGE)  # fmt: skip
        session.add(outage)
        session.flush()
        return outage.id


@dataclass
class Escalation:
    """What one new report's grouping and team notice did."""

    parent_id: int | None = None
    candidates: list[int] = field(default_factory=list)  # how many rows each pick_parent call was given
    group_statements: list[tuple[str, Any]] = field(default_factory=list)  # with their parameters
    notice_statements: list[tuple[str, Any]] = field(default_factory=list)


@contextmanager
def recording(session: Session, into: list[tuple[str, Any]]) -> Iterator[None]:
    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        into.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", record)


def query_plans(app: App, statements: Sequence[tuple[str, Any]]) -> list[str]:
    """SQLite's EXPLAIN QUERY PLAN of each recorded statement, its steps joined by " / "."""
    with app.engine.connect() as connection:
        return [
            " / ".join(str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {s}", p).all())
            for s, p in statements
        ]


def escalate(app: App, monkeypatch: pytest.MonkeyPatch, n: int = 1) -> Escalation:
    """A new critical report through `_Effects.group` and `_Effects.team_notice`, committed."""
    seen = Escalation()

    def counting_pick_parent(
        text: str, severity: str | None, candidates: Sequence[Candidate], *rest: Any
    ) -> Any:
        seen.candidates.append(len(candidates))
        return pick_parent(text, severity, candidates, *rest)  # the real one

    monkeypatch.setattr(effects_module, "pick_parent", counting_pick_parent)
    sender, body = f"new{n}@kunde.example", REPORT
    raw = f"From: {sender}\r\nSubject: App stürzt ab\r\n\r\n{body}\r\n".encode()
    mail = ParsedMail(
        message_id=f"<new{n}@kunde.example>", subject="App stürzt ab", from_addr=sender, from_name="",
        reply_to=None, to=("support@example.com",), cc=(), date=NOW, in_reply_to=None, references=(),
        return_path=sender, content_type="text/plain", headers={}, text=body, body=body, language=Language.DE,
    )  # fmt: skip
    with app.sessions.begin() as session:
        row = InboundMail(mailbox=app.mailbox, source_key=f"test:new{n}", folder="INBOX",
                          message_id=mail.message_id, sha256=str(n) * 64, fingerprint=str(n) * 64, raw=raw,
                          size=len(raw), received_at=NOW, ingested_at=NOW, state=InboundState.PROCESSING,
                          from_addr=sender)  # fmt: skip
        session.add(row)
        session.flush()
        effects = _Effects(session, app, row, mail, Decision(Action.ESCALATE, "no article fits"), NOW)
        ticket = effects.open_ticket()
        ticket.severity, ticket.severity_reasons = "critical", CRASH_ALL[:1]
        session.flush()
        with recording(session, seen.group_statements):
            parent = effects.group(ticket)
            session.flush()
        with recording(session, seen.notice_statements):
            effects.team_notice(ticket, "new", parent=parent)
            session.flush()
        effects.write_events()
        seen.parent_id = parent.id if parent else None
    return seen


def test_grouping_reads_a_bounded_number_of_rows_and_statements_however_many_faults_are_open(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, database_url)
    try:
        outage = store_outage(app)
        store_open_faults(app, 20)
        with_20 = escalate(app, monkeypatch, n=1)
        store_open_faults(app, 1980, start=20)
        with_2000 = escalate(app, monkeypatch, n=2)
    finally:
        app.close()
    # the outage's first report is found among thousands of others
    assert with_20.parent_id == with_2000.parent_id == outage
    assert with_20.candidates == [21]
    assert with_2000.candidates == [MAX_CANDIDATES]  # not 2,002 rows read and compared
    # the candidates (one query), the parent, the new ticket's parent and the two events, whatever N
    assert len(with_2000.group_statements) == len(with_20.group_statements) <= 5, with_2000.group_statements


def test_the_candidates_and_the_team_thread_are_read_through_indexes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EXPLAIN QUERY PLAN on SQLite of what group and team_notice issue: no scan of tickets or outbox
    (the team thread's lookup used to scan the whole outbox for a new ticket, which has no rows)."""
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}")
    try:
        store_outage(app)
        store_open_faults(app, 300, outbox_rows=3000)
        seen = escalate(app, monkeypatch)
        candidates = [(s, p) for s, p in seen.group_statements if "tickets.created_at >=" in s]
        thread = [
            (s, p) for s, p in seen.notice_statements if "outbox.ticket_id = ?" in s and "ORDER BY" in s
        ]
        assert len(candidates) == 1 and len(thread) == 1
        candidates_plan, thread_plan = query_plans(app, [*candidates, *thread])
    finally:
        app.close()
    assert "ix_tickets_open_faults" in candidates_plan, candidates_plan
    assert "ix_outbox_ticket" in thread_plan and "SCAN outbox" not in thread_plan, thread_plan


def test_a_report_joins_the_incident_whose_first_report_left_the_window_of_candidates(
    tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An outage's first report followed by MAX_CANDIDATES other faults and then five more reports of
    the outage: the candidates are the newest faults, the best of them (a later report) names the
    first report as its parent, and the new report joins that one, though it is not a candidate (its
    reference is read for the team's notice)."""
    app = make_app(tmp_path, database_url)

    def fault(n: int, minutes_ago: float, text: str, parent_id: int | None) -> dict[str, Any]:
        return {"mailbox": app.mailbox, "reference": f"MB-{800000 + n:06d}", "subject": "Fehler",
                "customer": f"r{n}@kunde.example", "language": "de", "state": TicketState.ESCALATED,
                "created_at": NOW - timedelta(minutes=minutes_ago, seconds=-n), "updated_at": NOW,
                "severity": "critical", "severity_reasons": CRASH_ALL[:1], "text_excerpt": text,
                "parent_id": parent_id}  # fmt: skip

    try:
        outage = store_outage(app)
        others = [
            fault(n, 4, OTHER_FAULTS[n % len(OTHER_FAULTS)].format(n=n), None) for n in range(MAX_CANDIDATES)
        ]
        later = [fault(MAX_CANDIDATES + n, 1, OUTAGE, outage) for n in range(5)]
        with app.sessions.begin() as session:
            session.execute(insert(Ticket), [*others, *later])
        seen = escalate(app, monkeypatch)
        with app.sessions() as session:
            notice = session.scalars(
                select(OutboxMail).where(OutboxMail.kind == "team_notice").order_by(OutboxMail.id.desc())
            ).first()
            joined = session.scalars(
                select(TicketEvent.note).where(
                    TicketEvent.ticket_id == outage, TicketEvent.kind == "incident_report"
                )
            ).all()
    finally:
        app.close()
    assert seen.candidates == [MAX_CANDIDATES] and seen.parent_id == outage
    assert notice is not None and b"MB-900000" in notice.raw
    assert len(joined) == 1
