"""The mail server's copies of erased mails (issue 15), deleted over the real test Dovecot: only the
erased person's copies (never another customer's mail with the same Message-ID), retried when the
server is down or refuses the login, and never twice."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from imapclient import IMAPClient
from pydantic import SecretStr
from sqlalchemy import func, select

from mailbot.app import App, open_app
from mailbot.config import Settings, load_settings
from mailbot.db.schema import FolderDeletion, InboundMail
from mailbot.ingest.store import FetchedMail, store_mail
from mailbot.privacy.folders import FolderRun, delete_queued_copies, queue_folder_copies
from tests.e2e.conftest import Bot, make_mail
from tests.servers.common import free_ports

ERIKA = "erika.muster@example.org"
MAX = "max.beispiel@example.org"
FORM_ID = "<1@localhost>"  # a form mailer gives every customer's mail this one id


def settings_of(bot: Bot, **imap: object) -> Settings:
    settings = load_settings(bot.config)
    assert settings.imap is not None
    return settings.model_copy(update={"imap": settings.imap.model_copy(update=imap)})


def search(bot: Bot, folder: str, *criteria: str) -> list[int]:
    with bot.dovecot.imap_client(bot.user) as client:
        client.select_folder(folder, readonly=True)
        return list(client.search(list(criteria)))


def queue(app: App, *senders: str | None) -> int:
    """Queue the copies of the stored mails from `senders` (None: a mail without From)."""
    with app.sessions.begin() as session:
        mails = [m for m in session.scalars(select(InboundMail)) if _sender(m) in senders]
        return queue_folder_copies(session, app.mailbox, mails, "erasure", app.clock())


def _sender(mail: InboundMail) -> str | None:
    return mail.from_addr.lower() if mail.from_addr else None


def deletions(app: App) -> list[FolderDeletion]:
    with app.sessions() as session:
        return list(session.scalars(select(FolderDeletion).order_by(FolderDeletion.id)))


def without_sender_or_id(subject: str) -> bytes:
    return (
        f"To: support@example.com\r\nSubject: {subject}\r\n\r\nkein Absender, keine Message-ID\r\n".encode()
    )


@pytest.fixture
def app(bot: Bot) -> Iterator[App]:
    # mail over 10,000 bytes is quarantined with its header only: its copy is recognised by the header
    bot.config.write_text(bot.config.read_text() + "\n[limits]\nmax_message_bytes = 10000\n")
    opened = open_app(load_settings(bot.config))
    yield opened
    opened.close()


def test_the_erased_persons_copies_go_and_a_mail_with_the_same_message_id_stays(
    bot: Bot, app: App, caplog: pytest.LogCaptureFixture
) -> None:
    bot.deliver(
        make_mail(ERIKA, "Passwort vergessen", "Wie setze ich mein Passwort zurück?", message_id=FORM_ID)
    )
    bot.deliver(
        make_mail(MAX, "Passwort vergessen", "Mein Passwort geht nicht mehr. Max", message_id=FORM_ID)
    )
    bot.deliver(make_mail(ERIKA, "Screenshot", "Anbei das Bild.\n" + "x" * 12_000))  # too large
    bot.deliver(without_sender_or_id("Ohne alles"))
    bot.run_once()
    assert (
        len(search(bot, "Processed", "FROM", ERIKA)) == 1
        and len(search(bot, "Quarantine", "FROM", ERIKA)) == 1
    )
    assert len(search(bot, "Processed", "FROM", MAX)) == 1 and search(
        bot, "Quarantine", "SUBJECT", "Ohne alles"
    )

    assert queue(app, ERIKA, None) == 3
    assert queue(app, ERIKA, None) == 0  # idempotent: neither an error nor a second row
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert delete_queued_copies(app) == FolderRun(done=3, deleted=3, retry=0)

    for folder in ("Processed", "Quarantine", "INBOX"):
        assert search(bot, folder, "FROM", ERIKA) == [], folder
        assert search(bot, folder, "SUBJECT", "Ohne alles") == [], folder
    assert len(search(bot, "Processed", "HEADER", "Message-ID", "1@localhost")) == 1  # Max's mail stays
    assert len(search(bot, "Processed", "FROM", MAX)) == 1
    rows = deletions(app)
    assert [(r.deleted, r.attempts, r.last_error, r.message_id) for r in rows] == [(1, 1, None, "")] * 3
    assert all(r.done_at is not None for r in rows)
    assert "1@localhost" not in caplog.text and "erika" not in caplog.text.lower()
    assert "3 deleted for 3 queued mails" in caplog.text

    # a second run finds nothing due, and a copy queued again after it was deleted counts none
    assert delete_queued_copies(app) == FolderRun()
    with app.sessions.begin() as session:
        session.execute(FolderDeletion.__table__.delete())
    assert queue(app, ERIKA, None) == 3
    assert delete_queued_copies(app) == FolderRun(done=3, deleted=0, retry=0)
    assert len(search(bot, "Processed", "ALL")) == 1


def test_a_copy_left_in_the_inbox_is_deleted_and_a_lookalike_with_other_bytes_is_not(
    bot: Bot, app: App
) -> None:
    """Mail erased before it was moved still sits in the inbox; a copy whose bytes differ (here: one
    header more) is not ours to delete, whatever its Message-ID and sender say."""
    raw = make_mail(ERIKA, "Frage", "Hallo?")  # CRLF already: APPEND stores exactly these bytes
    with app.sessions.begin() as session:
        stored = FetchedMail("imap:INBOX:1:1", "INBOX", 1, 1, raw, app.clock())
        assert store_mail(session, app.mailbox, stored, app.clock()) is not None
    bot.dovecot.append(bot.user, "INBOX", raw)
    bot.dovecot.append(bot.user, "INBOX", b"X-Forwarded: yes\r\n" + raw)
    with app.sessions.begin() as session:  # stored, not yet decided: no sender read yet
        [mail] = session.scalars(select(InboundMail)).all()
        assert queue_folder_copies(session, app.mailbox, [mail], "erasure", app.clock()) == 1
    assert delete_queued_copies(app) == FolderRun(done=1, deleted=1, retry=0)
    assert bot.dovecot.list_folder(bot.user, "INBOX") == [b"X-Forwarded: yes\r\n" + raw]


def test_an_unreachable_server_or_a_refused_login_leaves_the_row_for_a_later_run(bot: Bot, app: App) -> None:
    bot.deliver(make_mail(ERIKA, "Passwort vergessen", "Wie setze ich mein Passwort zurück?"))
    bot.run_once()
    assert queue(app, ERIKA) == 1
    (closed_port,) = free_ports(1)
    down = open_app(settings_of(bot, port=closed_port))
    refused = open_app(settings_of(bot, password=SecretStr("not-the-password")))
    try:
        assert delete_queued_copies(down) == FolderRun(retry=1)
        [row] = deletions(app)
        assert (row.attempts, row.done_at, row.deleted) == (1, None, 0)
        assert row.last_error and "IMAP connection to" in row.last_error and "localhost" not in row.last_error
        assert row.next_attempt_at > app.clock() + timedelta(seconds=10)  # backed off, not hammered
        assert delete_queued_copies(down) == FolderRun()  # not due again before the backoff

        later = row.next_attempt_at + timedelta(seconds=1)
        assert delete_queued_copies(refused, later) == FolderRun(retry=1)
        [row] = deletions(app)
        assert row.attempts == 2 and row.last_error and "login" in row.last_error
        assert bot.user not in row.last_error  # the mailbox's address is masked too
        assert len(search(bot, "Processed", "FROM", ERIKA)) == 1  # nothing lost, nothing deleted yet

        assert delete_queued_copies(app, row.next_attempt_at + timedelta(seconds=1)) == FolderRun(1, 1, 0)
    finally:
        down.close()
        refused.close()
    [row] = deletions(app)
    assert (row.attempts, row.deleted, row.last_error) == (3, 1, None) and row.done_at is not None
    assert search(bot, "Processed", "FROM", ERIKA) == []


def test_without_uidplus_the_copies_are_expunged_all_the_same(
    bot: Bot, app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = IMAPClient.has_capability

    def no_uidplus(self: IMAPClient, capability: str) -> bool:
        return False if capability.upper() == "UIDPLUS" else original(self, capability)

    bot.deliver(make_mail(ERIKA, "Passwort vergessen", "Wie setze ich mein Passwort zurück?"))
    bot.deliver(make_mail(MAX, "Passwort vergessen", "Mein Passwort geht nicht mehr. Max"))
    bot.run_once()
    assert queue(app, ERIKA) == 1
    monkeypatch.setattr(IMAPClient, "has_capability", no_uidplus)
    assert delete_queued_copies(app) == FolderRun(1, 1, 0)
    assert search(bot, "Processed", "FROM", ERIKA) == [] and len(search(bot, "Processed", "FROM", MAX)) == 1


def test_two_hundred_copies_are_deleted_in_one_run(
    bot: Bot, app: App, capsys: pytest.CaptureFixture[str]
) -> None:
    """The measure for the lead's report: 200 queued copies among 200 other mails of the folder."""
    raws = []
    for n in range(400):
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = f"k{n}@example.org", "support@example.com", f"Frage {n}"
        mail["Message-ID"] = make_msgid(domain="customer.example.org")
        mail.set_content(f"Frage Nummer {n}\n" + "Text. " * 300)
        raws.append(mail.as_bytes().replace(b"\n", b"\r\n"))
    with bot.dovecot.imap_client(bot.user) as client:
        client.create_folder("Processed")
        for raw in raws:
            client.append("Processed", raw)
    with app.sessions.begin() as session:
        for n, raw in enumerate(raws[:200]):
            store_mail(
                session,
                app.mailbox,
                FetchedMail(f"imap:INBOX:1:{n}", "INBOX", 1, n, raw, app.clock()),
                app.clock(),
            )
        mails = list(session.scalars(select(InboundMail)))
        assert queue_folder_copies(session, app.mailbox, mails, "retention", app.clock()) == 200

    started = time.perf_counter()
    assert delete_queued_copies(app) == FolderRun(done=200, deleted=200, retry=0)
    seconds = time.perf_counter() - started
    with capsys.disabled():
        print(f"\n200 copies deleted (of 400 mails in Processed) in {seconds:.2f} s")
    assert len(search(bot, "Processed", "ALL")) == 200
    with app.sessions() as session:
        assert session.scalar(select(func.count()).where(FolderDeletion.done_at.is_(None))) == 0
