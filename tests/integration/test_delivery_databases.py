"""Pool delivery's SQL (claim and load, executemany mark-sent, release) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from email import message_from_bytes

from sqlalchemy import select

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.db.schema import OutboxMail
from mailbot.reply import outbox_states
from mailbot.reply.deliver import LEASE
from mailbot.worker import deliverer_for
from tests.e2e.conftest import Bot, write_config
from tests.e2e.test_delivery_pool import customers, queue, with_connections


def test_pool_delivery_marks_every_row_once_on_both_databases(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    with_connections(bot, 3)
    app = build_app(load_settings(config))
    try:
        recipients = customers(30)
        smtp_sink.fail_recipient(recipients[7], 451)
        queue(app, recipients)
        report = deliverer_for(app).deliver_due()
    finally:
        app.close()
    assert (report.sent, report.deferred, report.failed) == (29, 1, 0)
    states = {row.recipient: (row.state, row.attempts, row.lease_until) for row in bot.outbox()}
    assert states.pop(recipients[7])[:2] == ("pending", 1)
    assert set(states.values()) == {("sent", 1, None)}
    ids = Counter(str(message_from_bytes(m.data)["Message-ID"]) for m in smtp_sink.messages)
    assert len(ids) == 29 and set(ids.values()) == {1}


def test_released_rows_are_pending_again_without_the_attempt_on_both_databases(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    config = write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, database_url=database_url)
    app = build_app(load_settings(config))
    try:
        queue(app, customers(6))
        now = datetime.now(UTC)
        claimed = outbox_states.settle_and_claim(app.sessions, "default", [], now, LEASE, 4)
        assert [row.recipient for row in claimed] == customers(4)  # oldest first, loaded with the claim
        outbox_states.release(app.sessions, [row.id for row in claimed[1:]])
        with app.sessions() as session:
            rows = list(session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
    finally:
        app.close()
    assert [(row.state, row.attempts) for row in rows] == [("sending", 1)] + [("pending", 0)] * 5
