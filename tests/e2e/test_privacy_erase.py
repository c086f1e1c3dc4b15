"""`mailbot privacy erase` (issue 15, Art. 17): the person's data gone from every row, figures unchanged."""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import inspect, select, text

from mailbot.cli import main
from mailbot.db.schema import Erasure
from tests.e2e.conftest import TEAM, Bot, make_mail, parse
from tests.e2e.test_report import report

ERIKA = "erika.muster@example.org"
MAX = "max.beispiel@example.org"
QUESTION = "Hallo,\n\nich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?\n\nErika Muster\n"
SECRET_WORDS = "Zebrastreifen-Kennwort"  # only in Erika's follow-up
SUBJECT = "Zugang weg seit dem Dienstag"  # only Erika's subject


def figures(bot: Bot, out: Path) -> dict[str, object]:
    return report(bot, out, "--format", "json")


def everything(bot: Bot) -> str:
    """Every value of every row of every table, as text (raw bytes decoded)."""
    parts = []
    with bot.db() as session:
        engine = session.get_bind()
        for table in inspect(engine).get_table_names():
            for row in session.execute(text(f'SELECT * FROM "{table}"')):
                for value in row:
                    parts.append(value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value))
    return "\n".join(parts)


def test_erase_leaves_no_trace_of_the_person_and_the_figures_as_they_were(
    bot: Bot, tmp_path: Path, caplog, capsys
) -> None:
    caplog.set_level(logging.INFO)  # the default level, from her first mail on
    bot.deliver(make_mail(ERIKA, SUBJECT, QUESTION, name="Erika Muster"))
    bot.deliver(
        make_mail(MAX, "Passwort weg", "Wie setze ich mein Passwort zurück? Max", name="Max Beispiel")
    )
    bot.run_once()
    answer = parse(bot.sent_to(ERIKA)[0])
    headers = {"In-Reply-To": answer["Message-ID"], "References": answer["Message-ID"]}
    bot.deliver(
        make_mail(ERIKA, "AW: Passwort", f"Das hilft nicht, mein {SECRET_WORDS} geht nicht.", headers=headers)
    )
    bot.run_once()
    before = figures(bot, tmp_path / "before")
    assert ERIKA in everything(bot) and SECRET_WORDS in everything(bot)
    assert any(ERIKA.encode() in p.read_bytes() for p in tmp_path.glob("mailbot.db*"))
    assert any(ERIKA.encode() in m for m in bot.dovecot.list_folder(bot.user, "Processed"))

    config = ["--config", str(bot.config)]
    assert main(["privacy", "erase", *config, "--address", ERIKA, "--dry-run"]) == 0
    assert ERIKA in everything(bot)  # a dry run changes nothing

    assert main(["privacy", "erase", *config, "--address", ERIKA, "--by", "Datenschutz"]) == 0
    bot.run_once()  # sends the team's note

    stored = everything(bot)
    for trace in (ERIKA, "Erika", "Muster", SECRET_WORDS, SUBJECT):
        assert trace not in stored, trace
    assert MAX in stored and "Max Beispiel" in stored  # the other customer is untouched
    assert bot.status(capsys)["folder_deletions"] == {"done": 2}  # her question and her follow-up
    on_server = [
        m for f in ("INBOX", "Processed", "Quarantine") for m in bot.dovecot.list_folder(bot.user, f)
    ]
    assert on_server and not [m for m in on_server if ERIKA.encode() in m]  # Max's mails stay
    for path in [p for p in tmp_path.rglob("*") if p.is_file()]:  # the database's files too (and its WAL)
        data = path.read_bytes()
        assert ERIKA.encode() not in data and SUBJECT.encode() not in data, path
    for trace in (ERIKA, "Erika", "Muster", SECRET_WORDS, SUBJECT):  # no log line of the whole story
        assert trace not in caplog.text, trace
    with bot.db() as session:
        [erasure] = session.scalars(select(Erasure)).all()
    assert (
        erasure.by == "Datenschutz"
        and erasure.counts["tickets"] == 1
        and erasure.counts["received_mails"] == 2
    )
    [note] = [parse(m) for m in bot.sent_to(TEAM) if "Löschantrag" in parse(m)["Subject"]]
    assert "MB-000001" in note["Subject"]

    after = figures(bot, tmp_path / "after")
    for key in ("automation", "reopens", "response_times", "resolution_times", "articles"):
        assert after[key] == before[key], key
    assert after["volume"]["by_outcome"] == before["volume"]["by_outcome"]  # type: ignore[index]
