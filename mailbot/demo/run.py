"""Run the real pipeline once on the shipped sample mails, with nothing to install.

One installation with two client apps, as an agency runs it: the shipped German fitness app
(`aktivo`, the shipped knowledge base) and Kerbside, an English-first UK parking app with its own
knowledge base, contract (London business hours, English bank holidays) and sender
(mailbot/demo/clients/). Each has a Maildir holding its samples (as if a local MTA had delivered
them); SQLite keeps the state, and a local SMTP sink writes every mail sent as an .eml file.
Aktivo's App Store and Google Play reviews come from loopback stand-ins of both stores that run while the
demo runs (mailbot.demo.reviews).
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from sqlalchemy import select

from mailbot.app import App
from mailbot.clients import load_installation
from mailbot.clients.fleet import Fleet
from mailbot.clock import Clock, system_clock
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.demo.reviews import DemoStores, print_reviews
from mailbot.demo.sink import EmlSink
from mailbot.errors import ConfigError
from mailbot.ingest.maildir import ensure_maildir
from mailbot.paths import DEMO_CLIENTS, DEMO_SAMPLES, SHIPPED_KNOWLEDGE_BASE
from mailbot.status import availability_now
from mailbot.worker import run_once

MARKER = ".mailbot-demo"
FITNESS = "aktivo"  # the shipped knowledge base: a German fitness app

INSTALLATION = """\
# Written by `mailbot demo`: one installation, two client apps (clients/*/client.toml).
# Try: mailbot status --config {config}    mailbot tickets list --config {config}
[clients]
dir = "clients"

[database]
url = "sqlite:///mailbot.db"

[smtp]
host = "127.0.0.1"
port = {port}
security = "none"   # the local demo sink only; real servers use "tls" or "starttls"
"""

FITNESS_CLIENT = """\
# The shipped sample: a German fitness app, open around the clock for the demo.
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

[knowledge_base]
path = "{kb}"

[business_hours]
timezone = "Europe/Berlin"
always_open = true
"""


def run_demo(directory: Path, kb: Path | None = None, clock: Clock = system_clock) -> int:
    directory = _fresh_directory(directory.resolve())
    clients = _write_clients(directory, (kb or SHIPPED_KNOWLEDGE_BASE).resolve())
    names = {
        slug: _deliver_samples(directory / "clients" / slug / "Maildir", samples) for slug, samples in clients
    }
    config = directory / "mailbot.toml"
    with EmlSink(directory / "sent") as sink, DemoStores(directory / "keys") as stores:
        with (directory / "clients" / FITNESS / "client.toml").open("a", encoding="utf-8") as client:
            client.write(stores.section())
        config.write_text(INSTALLATION.format(config=config, port=sink.port), encoding="utf-8")
        fleet = Fleet.open(load_installation(config), clock)
        sent, draft = 0, None
        try:
            for app in fleet:
                report = run_once(app)  # the mail, and the reviews pass of a client with [reviews]
                sent += report.delivery.sent
                _print_summary(app, names[app.mailbox])
                draft = print_reviews(app, stores) or draft
        finally:
            fleet.close()
    sent_dir = directory / "sent"
    print(f"\n{sent} mails sent to the local SMTP sink, saved as .eml files in {sent_dir}")
    print(f"State of the demo database: mailbot status --config {config}")
    _print_review_commands(config, draft)
    return 0


def _print_review_commands(config: Path, draft: str | None) -> None:
    """What to try next with the reviews, and why `reviews run` will not work any more."""
    print(f"The reviews waiting for a person: mailbot reviews list --config {config} --client {FITNESS}")
    if draft:
        where = f"--config {config} --client {FITNESS}"
        print(f"  then: mailbot reviews show {draft} {where}   (or approve, edit, reject)")
    print("  The store stand-ins stopped with the demo: approving works, but `mailbot reviews run` on this")
    print("  configuration cannot reach a store any more (connection refused), so nothing more is posted.")


def _write_clients(directory: Path, kb: Path) -> list[tuple[str, Path]]:
    """clients/aktivo (the shipped KB) and every demo client app shipped in mailbot/demo/clients/:
    their client.toml as shipped, plus a Maildir and the knowledge base where it is shipped."""
    fitness = directory / "clients" / FITNESS
    fitness.mkdir(parents=True)
    (fitness / "client.toml").write_text(FITNESS_CLIENT.format(kb=kb), encoding="utf-8")
    clients = [(FITNESS, DEMO_SAMPLES)]
    for shipped in sorted(path for path in DEMO_CLIENTS.iterdir() if (path / "client.toml").is_file()):
        folder = directory / "clients" / shipped.name
        folder.mkdir()
        text = (shipped / "client.toml").read_text(encoding="utf-8")
        where = f'\n[maildir]\npath = "Maildir"\n\n[knowledge_base]\npath = "{shipped / "knowledge_base"}"\n'
        (folder / "client.toml").write_text(text + where, encoding="utf-8")
        clients.append((shipped.name, shipped / "samples"))
    return clients


def _fresh_directory(directory: Path) -> Path:
    if directory.exists():
        if not (directory / MARKER).exists() and any(directory.iterdir()):
            raise ConfigError(f"{directory} exists and was not made by `mailbot demo`; choose another --dir")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).touch()
    return directory


def _deliver_samples(maildir: Path, folder: Path) -> dict[str, str]:
    """Copy the samples into Maildir/new in order; return source key -> sample file name."""
    ensure_maildir(maildir)
    samples = sorted(folder.glob("*.eml"))
    if not samples:
        raise ConfigError(f"no sample mails in {folder}")
    start = time.time() - len(samples)
    names = {}
    for index, sample in enumerate(samples):
        key = f"{int(start) + index}.demo{index:02d}.mailbot"
        target = maildir / "new" / key
        shutil.copyfile(sample, target)
        os.utime(target, (start + index, start + index))  # arrival order = file order
        names[f"maildir:{key}"] = sample.name
    return names


def _print_summary(app: App, names: dict[str, str]) -> None:
    """The client, its contract's state now, then one line per mail."""
    settings = app.settings
    _, hours = availability_now(app)
    print(f"\nclient {app.mailbox}: {settings.support.name} <{settings.support.address}>, {hours}")
    with app.sessions() as session:
        rows = session.scalars(
            select(InboundMail).where(InboundMail.mailbox == app.mailbox).order_by(InboundMail.id)
        ).all()
        width = max((len(name) for name in names.values()), default=10)
        for row in rows:
            ticket = session.get(Ticket, row.ticket_id) if row.ticket_id else None
            sent = session.scalars(select(OutboxMail.kind).where(OutboxMail.inbound_id == row.id)).all()
            detail = _detail(row, ticket.reference if ticket else None, list(sent))
            name = names.get(row.source_key, row.source_key)
            label = row.outcome or ("waiting" if row.state == "received" else row.state)
            print(f"  {name:<{width}}  {label:<11} {detail}")


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
    if row.outcome is None and row.state == "received":  # the contract is closed: decided at the opening
        return f"until the opening{replies}"
    return row.reason or ""
