"""The Maildir source takes every mail it can and nothing it must not (issue 11): each odd file fails
alone, links are never followed, odd names and colliding unique parts are all taken, and a delivery
time in the future does not start an SLA clock in the future."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from mailbot.clock import fixed_clock
from mailbot.config import MaildirSettings
from mailbot.db.engine import make_engine, make_session_factory
from mailbot.db.migrate import upgrade
from mailbot.db.schema import InboundMail, InboundState
from mailbot.ingest.maildir import MaildirSource

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def mail(number: int) -> bytes:
    return (
        f"From: kunde{number}@example.org\r\nTo: support@example.com\r\nSubject: Frage {number}\r\n"
        f"Message-ID: <m{number}@example.org>\r\n\r\nHallo, Frage Nummer {number}.\r\n"
    ).encode()


@pytest.fixture
def source(tmp_path: Path, database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    settings = MaildirSettings(path=tmp_path / "Maildir")
    yield MaildirSource(settings, "default", sessions, fixed_clock(NOW))
    engine.dispose()


def stored(source: MaildirSource) -> list[InboundMail]:
    with source.sessions() as session:
        return list(session.scalars(select(InboundMail).order_by(InboundMail.id)))


def put(source: MaildirSource, name: str | bytes, raw: bytes, sub: str = "new") -> Path:
    directory = os.fsencode(source.root / sub)
    path = os.path.join(directory, os.fsencode(name))
    with open(path, "wb") as file:
        file.write(raw)
    return Path(os.fsdecode(path))


def test_links_are_never_followed_and_odd_files_fail_alone(source: MaildirSource, tmp_path: Path, caplog):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"MAILBOT_SMTP_PASSWORD=hunter2\n")
    secret.chmod(0o600)
    os.symlink(secret, source.root / "new" / "1.link.host")
    os.symlink("/proc/self/environ", source.root / "new" / "2.environ.host")
    os.symlink(source.root / "new" / "3.loop.host", source.root / "new" / "3.loop.host")  # a loop
    os.mkfifo(source.root / "new" / "4.fifo.host")
    (source.root / "new" / "5.dir.host").mkdir()
    put(source, "6.good.host", mail(6))
    assert source.fetch_new() == 1
    rows = stored(source)
    assert [row.message_id for row in rows] == ["<m6@example.org>"]
    assert not any(b"hunter2" in row.raw for row in rows)
    assert "not a regular file" in caplog.text
    assert source.fetch_new() == 0  # looked at again, reported once
    assert caplog.text.count("1.link.host") == 1


def test_a_name_that_is_not_utf8_is_taken_and_finalised(source: MaildirSource):
    path = put(source, b"7.caf\xe9.host", mail(7))
    assert source.fetch_new() == 1
    [row] = stored(source)
    assert row.source_key == "maildir:7.caf%E9.host"
    with source.sessions.begin() as session:
        session.get_one(InboundMail, row.id).state = InboundState.DONE
    assert source.finalize() == 1
    assert not path.exists()
    assert len(os.listdir(source.root / ".Processed" / "cur")) == 1


def test_two_files_with_the_same_unique_part_are_both_taken_and_moved(source: MaildirSource):
    first = put(source, "8.same.host", mail(8), sub="new")
    second = put(source, "8.same.host:2,S", mail(9), sub="cur")
    assert source.fetch_new() == 2
    rows = stored(source)
    assert sorted(row.message_id for row in rows) == ["<m8@example.org>", "<m9@example.org>"]
    assert source.fetch_new() == 0  # the keys stay the same from pass to pass
    with source.sessions.begin() as session:
        for row in rows:
            session.get_one(InboundMail, row.id).state = InboundState.DONE
    assert source.finalize() == 2
    assert not first.exists() and not second.exists()


def test_a_delivery_time_in_the_future_is_taken_as_now(source: MaildirSource):
    path = put(source, "10.future.host", mail(10))
    future = (NOW + timedelta(days=2500)).timestamp()
    os.utime(path, (future, future))
    source.fetch_new()
    [row] = stored(source)
    assert row.received_at == NOW


def test_the_maildir_names_the_files_it_found_before_it_reads_them(source: MaildirSource) -> None:
    put(source, "1.a.host", mail(1))
    put(source, "2.b.host", mail(2))
    found: list[tuple[int, int]] = []
    assert source.fetch_new(on_found=lambda count: found.append((count, len(stored(source))))) == 2
    assert found == [(2, 0)]
    source.finalize()  # moves decided mail only: these two wait in the folder, stored
    assert source.fetch_new(on_found=lambda count: found.append((count, len(stored(source))))) == 0
    assert found == [(2, 0), (2, 2)]  # named again (only the database knows they are stored)
