"""Moving decided mail off the server never holds the stored mails (issue 13: "stream the backlog").

`finalize` loaded every decided row whole (raw bytes, decision) at once, then each again by its id
to mark it moved: in a 10,000-mail `run --once` the worker's peak RSS rose from 306 to 363 MB in
that step alone, after deciding had stayed flat (bench/memory.py). Here mails of 100 kB each are
stored by the real sources (IMAP from a real Dovecot on SQLite and PostgreSQL, and a Maildir),
marked decided in SQL (no models needed), and `finalize` runs under tracemalloc: every mail is
moved and marked, and the peak it allocates stays far below the stored bytes. The UIDs it looks up
and the rows it marks go in statements of a fixed size (an `IN` list of the whole inbox grew with
it, and past 32,766 mails it would exceed SQLite's limit of bound parameters).
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update

from mailbot.app import App, open_database
from mailbot.config import Settings
from mailbot.db import chunks
from mailbot.db.schema import InboundMail, InboundState, Outcome
from mailbot.ingest.maildir import MaildirSource, ensure_maildir
from mailbot.ingest.source import MailSource
from mailbot.paths import SHIPPED_TEMPLATES
from tests.e2e.conftest import make_mail
from tests.servers import DovecotServer

MAILS = 40
BODY = ("Die App stürzt beim Start ab, bitte helfen Sie mir. " * 2000)[:100_000]  # 100 kB of text
DECISION = {"action": "escalate", "reason": "no confident article", "rule_hits": [], "details": {}}


def make_app(tmp_path: Path, database_url: str, source: dict[str, Any]) -> App:
    values: dict[str, Any] = {
        "support": {"address": "support@example.com"},
        "team": {"address": "team@example.com"},
        "smtp": {"host": "127.0.0.1", "security": "none"},
        "database": {"url": database_url},
        "templates": {"path": str(SHIPPED_TEMPLATES)},
        "business_hours": {"always_open": True},
        **source,
    }
    settings = Settings.model_validate(values)
    return App(settings, *open_database(settings))


def mails() -> list[bytes]:
    return [make_mail(f"customer{n}@example.org", f"Absturz {n}", BODY) for n in range(MAILS)]


def decide_all_in_sql(app: App) -> int:
    """Every stored row decided, as the process stage leaves it; returns the stored bytes."""
    with app.sessions.begin() as session:
        session.execute(
            update(InboundMail).values(state=InboundState.DONE, outcome=Outcome.ESCALATED, decision=DECISION)
        )
        return int(session.scalar(select(func.sum(InboundMail.size))) or 0)


def finalize_traced(source: MailSource) -> tuple[int, int]:
    """(rows finished, peak bytes allocated while finishing them)."""
    tracemalloc.start()
    try:
        finished = source.finalize()
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return finished, peak


def marked_moved(app: App) -> int:
    with app.sessions() as session:
        return int(session.scalar(select(func.count()).where(InboundMail.source_done.is_(True))) or 0)


def test_imap_finalize_moves_a_large_backlog_without_loading_it(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, imap_user: str
):
    imap = {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "none", "username": imap_user}
    app = make_app(tmp_path, database_url, {"imap": {**imap, "password": "secret"}})
    with dovecot.imap_client(imap_user) as client:
        client.multiappend("INBOX", mails())
    source = app.make_source()
    try:
        assert source.fetch_new() == MAILS
        stored = decide_all_in_sql(app)
        finished, peak = finalize_traced(source)
        moved = marked_moved(app)
    finally:
        source.close()
        app.close()
    assert finished == MAILS and moved == MAILS
    assert dovecot.list_folder(imap_user, "INBOX") == []
    assert len(dovecot.list_folder(imap_user, "Processed")) == MAILS
    assert stored > MAILS * 100_000
    assert peak < stored / 10, f"finalize allocated {peak} bytes at its peak for {stored} stored"


def test_imap_finalize_asks_and_marks_in_statements_of_a_fixed_size(
    tmp_path: Path, database_url: str, dovecot: DovecotServer, imap_user: str, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(chunks, "ID_CHUNK", 7)  # 40 mails: six pieces
    imap = {"host": "127.0.0.1", "port": dovecot.imap_port, "security": "none", "username": imap_user}
    app = make_app(tmp_path, database_url, {"imap": {**imap, "password": "secret"}})
    with dovecot.imap_client(imap_user) as client:
        client.multiappend(
            "INBOX", [make_mail(f"c{n}@example.org", f"Frage {n}", "Hallo") for n in range(MAILS)]
        )
    parameters: list[int] = []

    def count(_conn: Any, _cursor: Any, _statement: str, params: Any, _context: Any, _many: bool) -> None:
        parameters.append(len(params))

    source = app.make_source()
    try:
        assert source.fetch_new() == MAILS
        decide_all_in_sql(app)
        event.listen(app.engine, "before_cursor_execute", count)
        assert source.finalize() == MAILS
        event.remove(app.engine, "before_cursor_execute", count)
        moved = marked_moved(app)
    finally:
        source.close()
        app.close()
    assert moved == MAILS and len(dovecot.list_folder(imap_user, "Processed")) == MAILS
    assert max(parameters) <= 7 + 3, parameters  # 7 UIDs + mailbox, folder, UIDVALIDITY


def test_maildir_finalize_moves_a_large_backlog_without_loading_it(tmp_path: Path):
    root = tmp_path / "Maildir"
    ensure_maildir(root)
    for n, raw in enumerate(mails()):
        (root / "new" / f"17000000{n:02d}.M{n}P1.host").write_bytes(raw)
    app = make_app(tmp_path, f"sqlite:///{tmp_path / 'mailbot.db'}", {"maildir": {"path": str(root)}})
    source = app.make_source()
    assert isinstance(source, MaildirSource)
    try:
        assert source.fetch_new() == MAILS
        stored = decide_all_in_sql(app)
        finished, peak = finalize_traced(source)
        moved = marked_moved(app)
    finally:
        source.close()
        app.close()
    assert finished == MAILS and moved == MAILS
    assert list((root / "new").iterdir()) == [] and list((root / "cur").iterdir()) == []
    assert len(list((root / ".Processed" / "cur").iterdir())) == MAILS
    assert peak < stored / 10, f"finalize allocated {peak} bytes at its peak for {stored} stored"
