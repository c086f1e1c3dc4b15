"""Incident grouping and the team notice per escalation, against the number of open faults (issue 13).

    .venv/bin/python bench/incidents.py [--faults 300,3000] [--escalations 40] [--outbox 6000]

For each size: a fresh SQLite database with that many open escalated faults in the grouping window
(texts and severity guesses from the shipped `_severity/` examples, each with a customer's own detail
added) and `--outbox` stored outbox rows (the backlog a running installation has). Then
`--escalations` new faults are escalated one at a time, each in its own transaction that is rolled back
afterwards (so every escalation sees the same database): timed are `_Effects.group` and
`_Effects.team_notice` (ms per escalation,
median and mean, and the part of it spent executing SQL), and counted the SQL statements each issues.
No mail servers: the outbox row is only written, never sent.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import event, insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailbot.app import App, open_database
from mailbot.classify.severity import load_severity_examples
from mailbot.config import Settings
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, Ticket
from mailbot.domain import Action, Decision, Language, ParsedMail, TicketState
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE, SHIPPED_TEMPLATES
from mailbot.pipeline.effects import _Effects

NOW = datetime(2026, 5, 26, 9, 0, tzinfo=UTC)
DETAILS = ["Kundennummer {n}.", "Studio {n}, Standort Nord.", "Customer no. {n}.", "Mitglied {n}, iPhone 13.",
           "Gerät: Pixel {n}.", "Ticket von Filiale {n}."]  # fmt: skip


def make_app(folder: Path) -> App:
    values: dict[str, Any] = {
        "support": {"address": "support@example.com", "ticket_numbers": "sequential"},
        "team": {"address": "team@example.com"},
        "maildir": {"path": str(folder / "Maildir")},
        "smtp": {"host": "127.0.0.1", "security": "none"},
        "database": {"url": f"sqlite:///{folder / 'mailbot.db'}"},
        "templates": {"path": str(SHIPPED_TEMPLATES)},
        "business_hours": {"always_open": True},
        "knowledge_base": {"path": str(SHIPPED_KNOWLEDGE_BASE)},
    }
    settings = Settings.model_validate(values)
    app = App(settings, *open_database(settings), lambda: NOW)
    _ = app.message_id_key, app.renderer, app.calendar
    return app


def fault_texts(app: App) -> list[tuple[str, str | None, list[str]]]:
    """Every `_severity/` example with the guess the severity model makes of it."""
    texts = [example.text for example in load_severity_examples(SHIPPED_KNOWLEDGE_BASE)]
    guesses = app.severity.guess_texts(texts)
    return [
        (text, guess.severity.value if guess.severity else None, list(guess.reasons))
        for text, guess in zip(texts, guesses, strict=True)
        if guess.severity is not None
    ]


def fill(app: App, faults: int, outbox: int, pool: list[tuple[str, str | None, list[str]]]) -> None:
    """`faults` open escalated tickets within the last 200 minutes and `outbox` stored outbox rows."""
    rng = random.Random(faults)
    rows = []
    for n in range(faults):
        text, severity, reasons = rng.choice(pool)
        at = NOW - timedelta(minutes=200 * (faults - n) / faults)
        rows.append(dict(mailbox=app.mailbox, reference=f"MB-{n + 1:06d}", customer=f"c{n}@kunde.example",
                         customer_name="", subject="Fehler", language="de", state=TicketState.ESCALATED,
                         created_at=at, updated_at=at, severity=severity, severity_reasons=reasons,
                         severity_shown=False,
                         text_excerpt=f"{text} {rng.choice(DETAILS).format(n=n)}"))  # fmt: skip
    with app.sessions.begin() as session:
        if rows:
            session.execute(insert(Ticket), rows)
        ids = list(session.scalars(Ticket.__table__.select().with_only_columns(Ticket.id))) or [None]
        if not outbox:
            return
        session.execute(insert(OutboxMail), [
            dict(mailbox=app.mailbox, kind="answer" if n % 3 else "team_notice", to_customer=bool(n % 3),
                 ticket_id=ids[n % len(ids)], inbound_id=None, message_id=f"<o{n}@example.com>",
                 mail_from="support@example.com", recipient=f"r{n}@kunde.example", subject="Re: x",
                 raw=b"x" * 2000, state="sent", attempts=1, next_attempt_at=NOW - timedelta(days=1),
                 created_at=NOW - timedelta(days=1), dedup_key=None)
            for n in range(outbox)
        ])  # fmt: skip


def parsed(text: str, sender: str) -> ParsedMail:
    return ParsedMail(
        message_id=f"<{abs(hash(text))}@kunde.example>", subject="App stürzt ab", from_addr=sender,
        from_name="", reply_to=None, to=("support@example.com",), cc=(), date=NOW, in_reply_to=None,
        references=(), return_path=sender, content_type="text/plain", headers={}, text=text, body=text,
        language=Language.DE,
    )  # fmt: skip


@contextmanager
def counting(app: App) -> Iterator[list[float]]:
    """The milliseconds of each SQL statement executed meanwhile."""
    statements: list[float] = []

    def start(conn: Any, *args: Any) -> None:
        conn.info["bench_started"] = time.perf_counter()

    def end(conn: Any, *args: Any) -> None:
        statements.append((time.perf_counter() - conn.info.pop("bench_started")) * 1000)

    event.listen(app.engine, "before_cursor_execute", start)
    event.listen(app.engine, "after_cursor_execute", end)
    try:
        yield statements
    finally:
        event.remove(app.engine, "before_cursor_execute", start)
        event.remove(app.engine, "after_cursor_execute", end)


def escalate_once(app: App, text: str, severity: str | None, reasons: list[str], n: int) -> dict[str, float]:
    """One new fault: its ticket, then group and team_notice timed; everything rolled back."""
    sender = f"new{n}@kunde.example"
    raw = f"From: {sender}\r\nSubject: App stürzt ab\r\n\r\n{text}\r\n".encode()
    mail = parsed(text, sender)
    decision = Decision(Action.ESCALATE, "no article fits", reply_to_customer=True)
    with app.sessions() as session, session.begin():
        row = InboundMail(mailbox=app.mailbox, source_key=f"bench:{n}", folder="INBOX",
                          message_id=mail.message_id, sha256=f"{n:064d}", fingerprint=f"{n:064d}", raw=raw,
                          size=len(raw), received_at=NOW, ingested_at=NOW, state=InboundState.PROCESSING,
                          from_addr=sender)  # fmt: skip
        session.add(row)
        session.flush()
        effects = _Effects(session, app, row, mail, decision, NOW)
        ticket = effects.open_ticket()
        ticket.severity, ticket.severity_reasons = severity, reasons
        session.flush()
        with counting(app) as statements:
            started = time.perf_counter()
            parent = effects.group(ticket)
            grouped = time.perf_counter()
            group_statements = len(statements)
            effects.team_notice(ticket, "new", parent=parent)
            session.flush()
            done = time.perf_counter()
        session.rollback()
    return {
        "group_ms": (grouped - started) * 1000,
        "notice_ms": (done - grouped) * 1000,
        "group_sql": group_statements,
        "notice_sql": len(statements) - group_statements,
        "group_sql_ms": sum(statements[:group_statements]),
        "notice_sql_ms": sum(statements[group_statements:]),
        "grouped": float(parent is not None),
    }


def figures(runs: list[dict[str, float]], key: str) -> str:
    values = [run[key] for run in runs]
    return f"{statistics.median(values):.1f} / {statistics.fmean(values):.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faults", default="300,3000", help="open faults in the window, comma-separated")
    parser.add_argument("--escalations", type=int, default=40)
    parser.add_argument("--outbox", type=int, default=6000, help="stored outbox rows (the backlog)")
    args = parser.parse_args(argv)
    print("| open faults | outbox rows | group ms (median / mean) | of it SQL ms | statements | "
          "team_notice ms (median / mean) | of it SQL ms | statements | grouped |")  # fmt: skip
    print("|---:|---:|---|---|---:|---|---|---:|---:|")
    for faults in (int(value) for value in args.faults.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            app = make_app(Path(folder))
            pool = fault_texts(app)
            fill(app, faults, args.outbox, pool)
            rng = random.Random(1)
            for n in range(3):  # warm-up: imports, template compilation, statement caches
                text, severity, reasons = rng.choice(pool)
                escalate_once(app, text, severity, reasons, -1 - n)
            runs = []
            for n in range(args.escalations):
                text, severity, reasons = rng.choice(pool)
                runs.append(
                    escalate_once(app, f"{text} {rng.choice(DETAILS).format(n=n)}", severity, reasons, n)
                )
            app.close()

        group_sql = max(run["group_sql"] for run in runs)
        notice_sql = max(run["notice_sql"] for run in runs)
        grouped = sum(run["grouped"] for run in runs)
        cells = [f"{faults:,}", f"{args.outbox:,}", figures(runs, "group_ms"), figures(runs, "group_sql_ms"),
                 f"{group_sql:.0f}", figures(runs, "notice_ms"), figures(runs, "notice_sql_ms"),
                 f"{notice_sql:.0f}", f"{grouped:.0f}/{len(runs)}"]  # fmt: skip
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
