"""The long-running worker and the IMAP edge cases: IDLE, SIGTERM, UIDVALIDITY change, no MOVE."""

from __future__ import annotations

import gc
import signal
import subprocess
import sys
import time

from imapclient import IMAPClient

from tests.e2e.conftest import Bot, make_mail
from tests.servers.common import wait_until

CUSTOMER = "erika.muster@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def test_worker_answers_new_mail_via_idle_and_stops_on_sigterm(bot: Bot, tmp_path):
    # a poll interval far beyond the test's patience: only IDLE can deliver the mail in time
    bot.config.write_text(bot.config.read_text().replace("poll_seconds = 2", "poll_seconds = 600"))
    log = tmp_path / "worker.log"
    with log.open("w") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "mailbot.cli", "run", "--config", str(bot.config)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "IDLE True" in log.read_text(), timeout=30, what="worker connected")
        # several mails, each after the worker went back to waiting: the mail pass must keep
        # coming back (a self-re-adding job once lost itself after the first pass)
        for count in range(1, 4):
            started = time.monotonic()
            bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
            bot.sink.wait_for(count, timeout=20)
            assert time.monotonic() - started < 20
            time.sleep(2)  # a few scheduler ticks while the pass waits in IDLE
        assert len(bot.sent_to(CUSTOMER)) == 3
        assert "maximum number of running instances" not in log.read_text()
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert worker.returncode == 0
    assert "worker stopped" in log.read_text()


def test_uidvalidity_change_does_not_process_mail_twice(bot: Bot):
    config = bot.config.read_text().replace("poll_seconds = 2", 'poll_seconds = 2\nfolder = "Support"')
    bot.config.write_text(config)
    first = make_mail(CUSTOMER, "Passwort vergessen", QUESTION)
    second = make_mail("tom@example.net", "Forgot password", "Hi, I forgot my password, how do I reset it?")
    bot.dovecot.append(bot.user, "Support", first)
    before = bot.dovecot.uidvalidity(bot.user, "Support")
    bot.run_once()
    assert len(bot.sink.messages) == 1

    # the folder is recreated with the old mail (say, restored from a backup) plus a new one
    with bot.dovecot.imap_client(bot.user) as client:
        client.delete_folder("Support")
    bot.dovecot.append(bot.user, "Support", first)
    bot.dovecot.append(bot.user, "Support", second)
    assert bot.dovecot.uidvalidity(bot.user, "Support") != before
    bot.run_once()

    assert len(bot.sent_to(CUSTOMER)) == 1  # the old mail is recognised by its Message-ID
    assert len(bot.sent_to("tom@example.net")) == 1
    assert len(bot.inbound()) == 2
    assert bot.dovecot.list_folder(bot.user, "Support") == []


def test_server_without_move_gets_copy_and_expunge(bot: Bot, monkeypatch):
    original = IMAPClient.has_capability

    def no_move(self: IMAPClient, capability: str) -> bool:
        return False if capability.upper() == "MOVE" else original(self, capability)

    monkeypatch.setattr(IMAPClient, "has_capability", no_move)
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    bot.run_once()
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    assert len(bot.dovecot.list_folder(bot.user, "Processed")) == 1


def test_crash_after_commit_before_move_finishes_the_move_without_reprocessing(bot: Bot, monkeypatch):
    from mailbot.ingest.imap import ImapSource

    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    monkeypatch.setattr(ImapSource, "finalize", lambda self: 0)  # "crash" before the MOVE
    bot.run_once()
    assert len(bot.dovecot.list_folder(bot.user, "INBOX")) == 1
    monkeypatch.undo()

    bot.run_once()
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    assert len(bot.dovecot.list_folder(bot.user, "Processed")) == 1
    assert len(bot.sink.messages) == 1
    assert len(bot.inbound()) == 1


def test_unreachable_imap_server_is_a_clear_error(bot: Bot, capsys):
    from mailbot.cli import main

    text = bot.config.read_text().replace(f"port = {bot.dovecot.imap_port}", "port = 1")
    bot.config.write_text(text)
    assert main(["run", "--once", "--config", str(bot.config)]) == 1
    assert "IMAP connection to 127.0.0.1:1 failed" in capsys.readouterr().err  # host:port (issue 10)


def test_run_once_leaves_what_its_start_made_to_no_full_collection(bot: Bot) -> None:
    """The start's objects live until the pass ends: frozen, the cyclic GC no longer walks them."""
    gc.unfreeze()
    bot.deliver(make_mail("kunde@example.org", "Passwort vergessen", "Wie setze ich mein Passwort zurück?"))
    bot.run_once()
    assert gc.get_freeze_count() > 1000
    assert [row.state for row in bot.inbound()] == ["done"]
