"""The SLA clock of mail moved back into the inbox from an archive starts when mailbot took it, not at
its old delivery time (issue 11), over real Dovecot (APPEND sets INTERNALDATE) + aiosmtpd."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from tests.e2e.conftest import Bot, make_mail, text_of
from tests.e2e.test_second_level import BERLIN, OUTAGE, make_bot
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers


@pytest.fixture
def bot(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    """Business hours Mon-Fri 08-12, 13-18 (Bavarian holidays), critical: response within 2 hours."""
    return make_bot(tmp_path, dovecot, imap_user, smtp_sink)


def arrives(bot: Bot, sender: str, when: str) -> None:
    raw = make_mail(sender, "App stürzt ab", OUTAGE, name="Erika Muster")
    bot.dovecot.append(bot.user, "INBOX", raw, msg_time=datetime.fromisoformat(when))


def test_a_mail_refiled_from_the_archive_is_not_overdue_when_it_is_read(bot: Bot):
    arrives(bot, "new@kunde.example", "2026-05-26T08:50+02:00")
    arrives(bot, "archived@kunde.example", "2025-01-10T10:00+01:00")  # moved back from the archive
    bot.run_once("--now", "2026-05-26T09:00+02:00")  # Tuesday; critical: response within 2 hours

    archived = next(t for t in bot.tickets() if t.customer == "archived@kunde.example")
    assert archived.sla_started_at.astimezone(BERLIN) == datetime(2026, 5, 26, 8, 45, tzinfo=BERLIN)
    assert archived.response_due_at.astimezone(BERLIN) == datetime(2026, 5, 26, 10, 45, tzinfo=BERLIN)
    assert archived.sla_breached_at is None
    (ack,) = bot.sent_to("archived@kunde.example")
    assert "Dienstag, 26. Mai 2026, 10:45 Uhr" in text_of(ack) and "überschritten" not in text_of(ack)

    new = next(t for t in bot.tickets() if t.customer == "new@kunde.example")
    assert new.sla_started_at.astimezone(BERLIN) == datetime(
        2026, 5, 26, 8, 50, tzinfo=BERLIN
    )  # as delivered
    # arrival order stays the delivery time: the archived mail was decided first, its date is kept
    assert archived.id < new.id
    archived_row = next(row for row in bot.inbound() if row.ticket_id == archived.id)
    assert archived_row.received_at.astimezone(BERLIN).date().isoformat() == "2025-01-10"
