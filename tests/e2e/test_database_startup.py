"""The database at start-up (issue 11), over real Dovecot + aiosmtpd, SQLite and PostgreSQL.

A lost database (missing, zero bytes, another URL) while the mailbox already holds decided mail is
refused before any mail is taken: ticket numbers must never start again. A damaged or foreign database
is one line naming it and what to do, for every command, never a traceback.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from tests.e2e.conftest import Bot, make_mail, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def run_once(config: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["run", "--once", "--config", str(config)])
    return code, capsys.readouterr().err


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("mailbot:")]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# --- a lost database ---------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", ["missing", "zero bytes"])
def test_a_lost_sqlite_database_is_refused_while_processed_holds_mail(bot: Bot, capsys, loss: str):
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    bot.run_once()
    assert [t.reference for t in bot.tickets()] == ["MB-000001"]
    assert len(bot.dovecot.list_folder(bot.user, "Processed")) == 1
    database = bot.config.parent / "mailbot.db"
    bot.db.kw["bind"].dispose()  # the harness's own connections
    if loss == "missing":
        database.unlink()
    else:
        database.write_bytes(b"")
    bot.deliver(make_mail("max@example.org", "Passwort vergessen", QUESTION))

    code, err = run_once(bot.config, capsys)
    line = one_line(err)
    assert code == 2
    assert str(database) in line and "Processed" in line and "1 decided mail" in line and "backup" in line
    assert len(bot.dovecot.list_folder(bot.user, "INBOX")) == 1  # the new mail was not taken
    assert bot.sent_to("max@example.org") == []
    code, err = run_once(bot.config, capsys)  # and again on the next start: nothing was half done
    assert code == 2 and "holds no mail" in one_line(err)


def test_another_empty_postgresql_database_is_refused_too(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, postgres, capsys
):
    first, second = postgres.new_database(), postgres.new_database()
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=first)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    bot.run_once()
    config.write_text(config.read_text().replace(first, second))  # a wrong URL, an emptied database

    code, err = run_once(config, capsys)
    line = one_line(err)
    assert code == 2 and "holds no mail" in line and "Processed" in line


def test_a_new_installation_starts_and_so_does_one_with_its_database(bot: Bot, capsys):
    code, err = run_once(bot.config, capsys)  # empty mailbox, new database: a new installation
    assert code == 0, err
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    assert run_once(bot.config, capsys)[0] == 0
    assert run_once(bot.config, capsys)[0] == 0  # Processed holds mail, and so does the database


def test_the_worker_refuses_to_start_too(bot: Bot, tmp_path: Path):
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    bot.run_once()
    bot.db.kw["bind"].dispose()
    (bot.config.parent / "mailbot.db").unlink()
    worker = subprocess.run(
        [sys.executable, "-m", "mailbot.cli", "run", "--config", str(bot.config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 2 and "holds no mail" in one_line(worker.stderr)


def test_a_lost_database_beside_a_maildir_with_processed_mail_is_refused(tmp_path: Path, capsys):
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    config = tmp_path / "mailbot.toml"
    database = tmp_path / "mailbot.db"
    config.write_text(
        f'[support]\naddress = "support@example.com"\n[team]\naddress = "team@example.com"\n'
        f'[maildir]\npath = "{maildir}"\n[smtp]\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\n'
        f'[database]\nurl = "sqlite:///{database}"\n[business_hours]\nalways_open = true\n'
        f'[knowledge_base]\npath = "{SHIPPED_KNOWLEDGE_BASE}"\n',
        encoding="utf-8",
    )
    processed = maildir / ".Processed" / "cur"
    processed.mkdir(parents=True)
    (processed / "1700000000.1.host:2,S").write_bytes(make_mail("erika@example.org", "Frage", QUESTION))
    (maildir / "new" / "1700000001.2.host").write_bytes(make_mail("max@example.org", "Frage", QUESTION))

    code, err = run_once(config, capsys)
    line = one_line(err)
    assert code == 2 and str(database) in line and f"maildir:{maildir}" in line
    assert (maildir / "new" / "1700000001.2.host").exists()  # untouched


# --- a damaged or foreign database, for every command ----------------------------------------------


def damage(database: Path, how: str) -> None:
    if how == "not a database":
        database.write_text("id,name\n1,Erika\n")
    elif how == "cut short":
        data = database.read_bytes()
        database.write_bytes(data[: len(data) // 2])
    elif how == "another program's":
        database.unlink()
        sql(database, "create table customers (id integer primary key, name text)")
    elif how == "newer schema":
        sql(database, "update alembic_version set version_num = '9999_from_the_future'")
    elif how == "a table lost":
        sql(database, "drop table watermarks")


def sql(database: Path, statement: str) -> None:
    with closing(sqlite3.connect(database)) as connection, connection:
        connection.execute(statement)


COMMANDS = [
    ["run", "--once"],
    ["status"],
    ["status", "--json"],
    ["tickets", "list"],
    ["tickets", "show", "1"],
    ["quarantine", "list"],
]


@pytest.mark.parametrize(
    ("how", "says"),
    [
        ("not a database", "is not a SQLite database file"),
        ("cut short", "is cut short"),
        ("another program's", "holds tables of another program (customers)"),
        ("newer schema", "schema version this mailbot does not know"),
        ("a table lost", "lacks the table watermarks"),
    ],
)
def test_a_damaged_database_is_one_line_naming_it_for_every_command(bot: Bot, capsys, how: str, says: str):
    bot.deliver(make_mail("erika@example.org", "Passwort vergessen", QUESTION))
    bot.run_once()
    bot.db.kw["bind"].dispose()
    database = bot.config.parent / "mailbot.db"
    damage(database, how)
    before = database.read_bytes()
    for command in COMMANDS:
        capsys.readouterr()
        code = main([*command, "--config", str(bot.config)])
        err = capsys.readouterr().err
        line = one_line(err)
        assert code == 2, command
        assert str(database) in line and says in line, (command, line)
    assert database.read_bytes() == before  # never "upgraded" into something else


def test_a_database_error_in_the_middle_of_a_command_is_one_line(bot: Bot, capsys, monkeypatch):
    from sqlalchemy.exc import OperationalError

    import mailbot.status

    def broken(*_args, **_kwargs):
        raise OperationalError(
            "SELECT count(*) FROM inbound_mail", {}, sqlite3.OperationalError("disk I/O error")
        )

    monkeypatch.setattr(mailbot.status, "collect_status", broken)
    capsys.readouterr()
    assert main(["status", "--config", str(bot.config)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "disk I/O error" in line and "SELECT" not in line


def test_a_postgresql_server_that_is_not_there_is_one_line(bot: Bot, capsys):
    url = "postgresql+psycopg://mailbot:topsecret@127.0.0.1:1/mailbot"
    bot.config.write_text(
        bot.config.read_text().replace(
            f'url = "sqlite:///{bot.config.parent / "mailbot.db"}"', f'url = "{url}"'
        )
    )
    capsys.readouterr()
    assert main(["status", "--config", str(bot.config)]) == 2
    line = one_line(capsys.readouterr().err)
    assert "127.0.0.1:1" in line and "topsecret" not in line
