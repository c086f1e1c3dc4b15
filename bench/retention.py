"""How fast retention anonymises a client's old tickets (issue 15), on SQLite or PostgreSQL.

Writes N solved tickets, each with one received mail (a realistic 6 kB raw mail with a PNG), one
answer, one team notice and two events, all ended 200 days ago, then runs `apply_retention` once and
prints rows per second, the time per batch of 200 tickets, and the peak memory the run added.

    .venv/bin/python bench/retention.py --tickets 5000 [--database-url postgresql+psycopg://...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

from sqlalchemy import insert

from mailbot.app import App, open_database
from mailbot.config import Settings
from mailbot.db.schema import InboundMail, InboundState, OutboxMail, Ticket, TicketEvent
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.privacy.retention import BATCH, apply_retention

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


def sample_mail(n: int) -> bytes:
    mail = EmailMessage()
    mail["From"] = f"Kundin {n} <kundin{n}@example.org>"
    mail["To"] = "support@example.com"
    mail["Subject"] = f"App stürzt ab ({n})"
    mail["Message-ID"] = f"<{n}.bench@example.org>"
    mail.set_content("Seit dem Update stürzt die App beim Start ab.\n" * 40)
    mail.add_attachment(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 12, maintype="image", subtype="png")
    return mail.as_bytes()


def fill(app: App, tickets: int) -> None:
    ended = NOW - timedelta(days=200)
    with app.sessions.begin() as session:
        for start in range(0, tickets, 1000):
            rows = []
            for n in range(start, min(tickets, start + 1000)):
                rows.append(
                    dict(
                        mailbox="bench", reference=f"BE-{n:06d}", customer=f"kundin{n}@example.org",
                        customer_name=f"Kundin {n}", subject=f"App stürzt ab ({n})", language="de",
                        state="solved", created_at=ended, updated_at=ended, resolved_at=ended,
                        text_excerpt="Seit dem Update stürzt die App beim Start ab.",
                    )
                )  # fmt: skip
            session.execute(insert(Ticket), rows)
        ids = [t.id for t in session.query(Ticket.id).order_by(Ticket.id)]
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            mails, sent, events = [], [], []
            for n, ticket_id in enumerate(chunk, start=start):
                raw = sample_mail(n)
                mails.append(
                    dict(
                        mailbox="bench", source_key=f"bench:{n}", folder="INBOX",
                        message_id=f"<{n}.bench@example.org>", sha256=f"{n:064x}", fingerprint=f"{n:064x}",
                        raw=raw, size=len(raw), received_at=ended, ingested_at=ended, state=InboundState.DONE,
                        outcome="escalated", from_addr=f"kundin{n}@example.org",
                        subject=f"App stürzt ab ({n})", ticket_id=ticket_id, processed_at=ended,
                        decision={"action": "escalate", "reason": f"Kundin {n}"},
                    )
                )  # fmt: skip
                for kind, to_customer in (("acknowledgement", True), ("team_notice", False)):
                    sent.append(
                        dict(
                            mailbox="bench", kind=kind, to_customer=to_customer, ticket_id=ticket_id,
                            message_id=f"<{kind}.{n}@support.example.com>", mail_from="support@example.com",
                            recipient=f"kundin{n}@example.org" if to_customer else "team@example.com",
                            subject=f"[BE-{n:06d}] App stürzt ab", raw=raw, state="sent",
                            next_attempt_at=ended, created_at=ended, sent_at=ended,
                        )
                    )  # fmt: skip
                events += [
                    dict(mailbox="bench", ticket_id=ticket_id, at=ended, kind=kind, note=f"Kundin {n}")
                    for kind in ("escalated", "solved")
                ]
            session.execute(insert(InboundMail), mails)
            session.execute(insert(OutboxMail), sent)
            session.execute(insert(TicketEvent), events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=5000)
    parser.add_argument("--database-url", help="default: a fresh SQLite file in a temporary folder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        values = {
            "support": {"address": "support@example.com", "mailbox": "bench"},
            "team": {"address": "team@example.com"},
            "maildir": {"path": str(Path(folder) / "Maildir")},
            "smtp": {"host": "127.0.0.1", "security": "none"},
            "database": {"url": args.database_url or f"sqlite:///{Path(folder) / 'bench.db'}"},
            "templates": {"path": str(SHIPPED_TEMPLATES)},
        }
        settings = Settings.model_validate(values)
        engine, sessions = open_database(settings)
        app = App(settings, engine, sessions, lambda: NOW)
        fill(app, args.tickets)
        tracemalloc.start()
        started = time.perf_counter()
        done = apply_retention(app, NOW)
        took = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows = done.total - done.counts.get("mails_looked_at_for_attachments", 0)
        print(f"database: {engine.dialect.name}; {args.tickets} tickets ended 200 days ago")
        print(f"retention: {', '.join(f'{k} {v}' for k, v in done.counts.items())}")
        print(
            f"{took:.2f} s: {rows / took:,.0f} rows/s, {args.tickets / took:,.0f} tickets/s, "
            f"{took / max(1, args.tickets / BATCH) * 1000:.0f} ms per batch of {BATCH} tickets; "
            f"peak traced memory {peak / 1e6:.1f} MB"
        )
        app.close()


if __name__ == "__main__":
    main()
