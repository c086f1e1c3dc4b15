"""Run the real pipeline once on the shipped sample mails, with nothing to install.

A Maildir holds the samples (as if a local MTA had delivered them), SQLite keeps the state, the
shipped knowledge base answers, and a local SMTP sink writes every reply as an .eml file.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.demo.sink import EmlSink
from mailbot.errors import ConfigError
from mailbot.ingest.maildir import ensure_maildir
from mailbot.paths import DEMO_SAMPLES, SHIPPED_KNOWLEDGE_BASE
from mailbot.worker import run_once

MARKER = ".mailbot-demo"

CONFIG = """\
# Written by `mailbot demo`. Try: mailbot status --config {config}
[support]
address = "support@example.com"
name = "Aktivo Support"
ticket_prefix = "MB"
default_language = "de"

[team]
address = "team@example.com"
language = "de"

[maildir]
path = "Maildir"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"   # the local demo sink only; real servers use "tls" or "starttls"

[database]
url = "sqlite:///mailbot.db"

[knowledge_base]
path = "{kb}"

[business_hours]
timezone = "Europe/Berlin"
always_open = true
"""


def run_demo(directory: Path, kb: Path | None = None) -> int:
    directory = _fresh_directory(directory.resolve())
    maildir = directory / "Maildir"
    names = _deliver_samples(maildir)
    with EmlSink(directory / "sent") as sink:
        config = directory / "mailbot.toml"
        config.write_text(
            CONFIG.format(
                config=config,
                port=sink.port,
                kb=(kb or SHIPPED_KNOWLEDGE_BASE).resolve(),
            ),
            encoding="utf-8",
        )
        app = build_app(load_settings(config))
        try:
            report = run_once(app)
            _print_summary(app.sessions, names)
        finally:
            app.close()
    sent_dir = directory / "sent"
    print(f"\n{report.delivery.sent} mails sent to the local SMTP sink, saved as .eml files in {sent_dir}")
    print(f"State of the demo database: mailbot status --config {config}")
    return 0


def _fresh_directory(directory: Path) -> Path:
    if directory.exists():
        if not (directory / MARKER).exists() and any(directory.iterdir()):
            raise ConfigError(f"{directory} exists and was not made by `mailbot demo`; choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).touch()
    return directory


def _deliver_samples(maildir: Path) -> dict[str, str]:
    """Copy the samples into Maildir/new in order; return source key -> sample file name."""
    ensure_maildir(maildir)
    samples = sorted(DEMO_SAMPLES.glob("*.eml"))
    if not samples:
        raise ConfigError(f"no sample mails in {DEMO_SAMPLES}")
    start = time.time() - len(samples)
    names = {}
    for index, sample in enumerate(samples):
        key = f"{int(start) + index}.demo{index:02d}.mailbot"
        target = maildir / "new" / key
        shutil.copyfile(sample, target)
        os.utime(target, (start + index, start + index))  # arrival order = file order
        names[f"maildir:{key}"] = sample.name
    return names


def _print_summary(sessions: sessionmaker[Session], names: dict[str, str]) -> None:
    with sessions() as session:
        rows = session.scalars(select(InboundMail).order_by(InboundMail.id)).all()
        width = max((len(name) for name in names.values()), default=10)
        for row in rows:
            ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
            sent = session.scalars(select(OutboxMail.kind).where(OutboxMail.inbound_id == row.id)).all()
            detail = _detail(row, ticket.reference if ticket else None, list(sent))
            name = names.get(row.source_key, row.source_key)
            print(f"{name:<{width}}  {row.outcome or row.state:<11} {detail}")


def _detail(row: InboundMail, reference: str | None, sent: list[str]) -> str:
    decision = row.decision or {}
    replies = f" -> {', '.join(sent)}" if sent else ""
    if row.outcome == "answered":
        return f"{decision.get('article_id')} [{reference}]{replies}"
    if row.outcome in ("escalated", "follow_up"):
        return f"[{reference}] {row.reason}{replies}"
    if row.outcome == "ignored":
        hits = decision.get("rule_hits") or [{}]
        return f"rule {hits[0].get('name')}: {row.reason}"
    return row.reason or ""
