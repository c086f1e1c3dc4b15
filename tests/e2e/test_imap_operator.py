"""IMAP mistakes an operator makes, against the real Dovecot: each error says what to check, and a
refused login is not retried every few seconds."""

from __future__ import annotations

import logging
import threading

import pytest

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.scheduler import IDLE_SLICE_SECONDS, MAX_RETRY_SECONDS, MailJob, retry_delay
from tests.e2e.conftest import Bot
from tests.servers.common import wait_until

pytestmark = pytest.mark.servers


def with_password(bot: Bot, password: str) -> None:
    bot.config.write_text(bot.config.read_text().replace('password = "secret"', f'password = "{password}"'))


def refused_logins(bot: Bot) -> int:
    """Failed logins of the bot's user as Dovecot's own log counts them."""
    log = bot.dovecot.log_path.read_text(errors="replace")
    return sum(1 for line in log.splitlines() if "auth failed" in line and f"user=<{bot.user}>" in line)


def test_a_wrong_password_names_account_and_variable_without_bytes_repr(bot: Bot, capsys, monkeypatch):
    monkeypatch.delenv("MAILBOT_IMAP_PASSWORD", raising=False)
    with_password(bot, "wrong")
    bot.run_once(expect=1)
    err = capsys.readouterr().err
    assert (
        f"IMAP login as {bot.user} on 127.0.0.1:{bot.dovecot.imap_port} failed: "
        "[AUTHENTICATIONFAILED] Authentication failed.; check the password in [imap] password "
        "(or set the environment variable MAILBOT_IMAP_PASSWORD) and [imap] username"
    ) in err
    assert "b'" not in err


def test_the_password_variable_named_is_the_configured_one(bot: Bot, capsys, monkeypatch):
    text = bot.config.read_text().replace('password = "secret"', 'password_env = "SUPPORT_IMAP_SECRET"')
    bot.config.write_text(text)
    monkeypatch.setenv("SUPPORT_IMAP_SECRET", "wrong")
    bot.run_once(expect=1)
    assert "check the password in the environment variable SUPPORT_IMAP_SECRET" in capsys.readouterr().err


def test_a_missing_folder_lists_the_folders_that_exist(bot: Bot, capsys):
    bot.config.write_text(
        bot.config.read_text().replace("poll_seconds = 2", 'poll_seconds = 2\nfolder = "Suport"')
    )
    bot.run_once(expect=1)
    err = capsys.readouterr().err
    assert (
        f"IMAP folder 'Suport' does not exist for {bot.user} on 127.0.0.1:{bot.dovecot.imap_port}; "
        "the folders there are: Archive, Drafts, INBOX, Sent, Trash; set [imap] folder to one of them"
    ) in err


def test_a_closed_port_is_named_with_host_and_port(bot: Bot, capsys):
    bot.config.write_text(bot.config.read_text().replace(f"port = {bot.dovecot.imap_port}", "port = 1"))
    bot.run_once(expect=1)
    assert "IMAP connection to 127.0.0.1:1 failed: [Errno 111] Connection refused" in capsys.readouterr().err


def test_the_pause_after_failures_doubles_up_to_a_cap():
    delays = [retry_delay(failures) for failures in range(1, 10)]
    assert delays[:4] == [15, 30, 60, 120]
    assert delays == sorted(delays) and delays[-1] == MAX_RETRY_SECONDS
    assert retry_delay(10_000) == MAX_RETRY_SECONDS


def test_a_refused_login_is_retried_after_a_growing_pause(bot: Bot, caplog, monkeypatch):
    monkeypatch.delenv("MAILBOT_IMAP_PASSWORD", raising=False)
    with_password(bot, "wrong")
    app = build_app(load_settings(bot.config))
    now = [1000.0]
    job = MailJob(app, threading.Event(), monotonic=lambda: now[0])
    try:
        with caplog.at_level(logging.WARNING):
            assert job.run_pass() == 15  # first failure: wait 15 s
            wait_until(lambda: refused_logins(bot) == 1, timeout=10, what="Dovecot logged the refusal")
            for passed in (1, 5, 14):  # the scheduler comes back every second: the server is left alone
                now[0] = 1000.0 + passed
                assert job.run_pass() == pytest.approx(15 - passed)
            now[0] = 1015.0
            assert job.run_pass() == 30  # second failure: 30 s
            now[0] = 1045.0
            assert job.run_pass() == IDLE_SLICE_SECONDS  # third: 60 s, waited in slices for the other jobs
            assert job.retry_at == 1045.0 + 60
            now[0] = 1075.0
            assert job.run_pass() == 30  # still pausing
        wait_until(lambda: refused_logins(bot) == 3, timeout=10, what="three refusals in Dovecot's log")
        assert "next attempt at imap://127.0.0.1/INBOX in 60 s (3 failed in a row)" in caplog.text
        assert "[AUTHENTICATIONFAILED]" in caplog.text and "b'" not in caplog.text
    finally:
        job.close()
        app.close()
