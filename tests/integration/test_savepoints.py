"""Savepoints nest in their transaction on both databases (db.engine.begin_write), so a batch's mails
commit together or not at all."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from mailbot.db.engine import begin_write, make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.db.schema import InboundMail


def stored(number: int) -> InboundMail:
    now = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
    return InboundMail(
        mailbox="support", source_key=f"k{number}", folder="INBOX", message_id=f"<{number}@example.org>",
        sha256=f"{number:064x}", fingerprint=f"{number:064x}", raw=b"Subject: x\r\n\r\nbody", size=18,
        received_at=now, ingested_at=now,
    )  # fmt: skip


@pytest.mark.parametrize("write_first", [True, False])
def test_a_released_savepoint_is_rolled_back_with_its_transaction(database_url, write_first) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    try:
        with pytest.raises(RuntimeError), sessions.begin() as session:
            if write_first:
                begin_write(session)
            session.scalar(select(func.count(InboundMail.id)))  # a read first, as a batch does
            with session.begin_nested():
                session.add(stored(1))
            raise RuntimeError("the batch dies after its first mail")
        with sessions() as session:
            left = session.scalar(select(func.count(InboundMail.id)))
    finally:
        engine.dispose()
    if write_first or engine.dialect.name != "sqlite":
        assert left == 0
    else:  # what begin_write is for: pysqlite let the RELEASE commit the mail on its own
        assert left == 1
