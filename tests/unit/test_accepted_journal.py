"""The accepted journal: SQLite only, survives a new process, cut down to what can still be re-sent."""

from __future__ import annotations

from mailbot.reply import accepted_journal
from mailbot.reply.accepted_journal import AcceptedJournal


def test_only_an_sqlite_file_has_a_journal(tmp_path):
    journal = AcceptedJournal.beside(f"sqlite:///{tmp_path / 'mailbot.db'}")
    assert journal is not None and journal.path == tmp_path / "mailbot.db.accepted"
    assert AcceptedJournal.beside("sqlite://") is None
    assert AcceptedJournal.beside("postgresql+psycopg://mailbot@127.0.0.1/mailbot") is None


def test_what_one_process_recorded_the_next_one_knows(tmp_path):
    first = AcceptedJournal(tmp_path / "mailbot.db.accepted")
    first.record(7)
    first.record(12)
    again = AcceptedJournal(tmp_path / "mailbot.db.accepted")
    assert again.accepted(7) and again.accepted(12) and not again.accepted(8)


def test_a_grown_journal_keeps_only_rows_still_sending(tmp_path, monkeypatch):
    journal = AcceptedJournal(tmp_path / "mailbot.db.accepted")
    for row_id in range(1, 200):
        journal.record(row_id)
    assert not journal.grown()
    monkeypatch.setattr(accepted_journal, "COMPACT_BYTES", 100)
    assert journal.grown()
    journal.compact(still_sending=[5, 150, 999])
    assert (tmp_path / "mailbot.db.accepted").read_text() == "5\n150\n"
    assert AcceptedJournal(tmp_path / "mailbot.db.accepted").accepted(150)
    assert not journal.accepted(6)


def test_rows_marked_sent_are_not_kept_in_memory_but_stay_in_the_file(tmp_path):
    journal = AcceptedJournal(tmp_path / "mailbot.db.accepted")
    for row_id in (1, 2, 3):
        journal.record(row_id)
    journal.forget([1, 3])
    assert [journal.accepted(row_id) for row_id in (1, 2, 3)] == [False, True, False]
    assert (tmp_path / "mailbot.db.accepted").read_text() == "1\n2\n3\n"
