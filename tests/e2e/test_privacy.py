"""With [privacy] redact_addresses, a whole run logs no customer address."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot, make_mail, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers


def test_a_run_logs_no_customer_address_and_no_password(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, caplog
) -> None:
    extra = "[privacy]\nredact_addresses = true\n"
    bot = Bot(
        dovecot,
        imap_user,
        smtp_sink,
        write_config(tmp_path / "m.toml", dovecot, imap_user, smtp_sink, extra=extra),
    )
    bot.deliver(make_mail("erika.muster@kunde.example", "Passwort vergessen", "Wie setze ich es zurück?"))
    bot.deliver(make_mail("max@kunde.example", "Absturz", "Die App stürzt bei allen ab, seit dem Update."))
    with caplog.at_level(logging.DEBUG):
        bot.run_once()
    assert len(bot.sent_to("erika.muster@kunde.example")) == 1
    text = caplog.text
    assert "e***@kunde.example" in text or "m***@kunde.example" in text  # addresses were logged, redacted
    assert "erika.muster@kunde.example" not in text and "max@kunde.example" not in text
