"""`mailbot tickets attachments REF [--save DIR]`: the team gets what was not forwarded (issue 15).

The notice says an attachment "stays in mailbot"; this is the way to it, over the real servers."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest

from mailbot.cli import main
from tests.e2e.conftest import Bot, make_mail

CUSTOMER = "erika.muster@example.org"
CRASH = "Seit dem Update stürzt die App beim Start ab, Fehlercode 42. Erika Muster"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
ZIP = b"PK\x03\x04" + b"\x00" * 500


def crash_with_attachments() -> bytes:
    mail = message_from_bytes(make_mail(CUSTOMER, "Absturz nach Update", CRASH), policy=default)
    assert isinstance(mail, EmailMessage)
    mail.add_attachment(PNG, maintype="image", subtype="png", filename="absturz.png")
    mail.add_attachment(ZIP, maintype="application", subtype="zip", filename="../../logs.zip")
    return mail.as_bytes()


def test_an_agent_lists_and_saves_what_the_notice_left_out_until_retention_cuts_it(
    bot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot.deliver(crash_with_attachments())
    bot.run_once()
    [ticket] = bot.tickets()
    assert ticket.state == "escalated"
    config = ["--config", str(bot.config)]

    capsys.readouterr()
    out_dir = tmp_path / "out"
    assert main(["tickets", "attachments", ticket.reference or "", "--save", str(out_dir), *config]) == 0
    listing = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("  saved")]
    [png_line] = [line for line in listing if "absturz.png" in line]
    [zip_line] = [line for line in listing if "logs.zip" in line]
    assert "image/png" in png_line and png_line.endswith("forwarded")
    assert "kept in mailbot" in zip_line and "application/zip" in zip_line
    saved = sorted(out_dir.iterdir())
    assert [p.name.split("-", 2)[2] for p in saved] == ["absturz.png", "logs.zip"]  # no directories kept
    assert {p.read_bytes() for p in saved} == {PNG, ZIP}
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in saved)  # the customer's files

    assert main(["tickets", "resolve", ticket.reference or "", "-m", "Behoben.", *config]) == 0
    bot.run_once("--now", (datetime.now(UTC) + timedelta(days=15)).isoformat())  # attachment_days = 14
    capsys.readouterr()
    assert main(["tickets", "attachments", ticket.reference or "", *config]) == 0
    after = capsys.readouterr().out
    assert after.count("removed by retention") == 2 and "absturz.png" in after
