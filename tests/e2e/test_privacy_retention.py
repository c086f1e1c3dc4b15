"""Retention (issue 15): what is due is anonymised on schedule, what is not due stays, figures stay.

The bot runs on real Dovecot and aiosmtpd; time moves with `run --once --now`.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

from mailbot.cli import main
from tests.e2e.conftest import Bot, make_mail
from tests.e2e.test_privacy_erase import everything, figures

ERIKA = "erika.muster@example.org"  # asks a question the knowledge base answers
MAX = "max.beispiel@example.org"  # reports a crash: escalated, then solved by an agent
OLGA = "olga.abwesend@example.net"  # an out-of-office reply: ignored
QUESTION = "Hallo,\n\nich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?\n\nErika Muster\n"
CRASH = "Seit dem Update stürzt die App beim Start ab, Fehlercode Tintenfisch-42. Max Beispiel"
AWAY = "Ich bin bis Montag nicht im Büro, Stichwort Wolkenkuckucksheim."


def later(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


def test_retention_anonymises_what_is_due_and_keeps_the_rest_and_the_figures(
    bot: Bot, tmp_path: Path
) -> None:
    bot.deliver(make_mail(ERIKA, "Passwort vergessen", QUESTION, name="Erika Muster"))
    bot.deliver(make_mail(MAX, "Absturz nach Update", CRASH, name="Max Beispiel"))
    bot.deliver(
        make_mail(
            OLGA, "Abwesenheitsnotiz", AWAY, name="Olga Abwesend", headers={"Auto-Submitted": "auto-replied"}
        )
    )
    bot.run_once()
    [_, crash] = bot.tickets()
    config = ["--config", str(bot.config)]
    assert main(["tickets", "resolve", crash.reference or "", "-m", "Behoben in 2.3.1.", *config]) == 0
    bot.run_once()  # tells Max
    before = figures(bot, tmp_path / "before")

    assert main(["privacy", "retention", *config, "--now", later(31), "--dry-run"]) == 0
    assert OLGA in everything(bot)  # a dry run changes nothing

    assert any(OLGA.encode() in m for m in bot.dovecot.list_folder(bot.user, "Processed"))
    bot.run_once("--now", later(31))  # ignored mail: 30 days
    assert [OLGA.encode() in m for m in bot.dovecot.list_folder(bot.user, "Processed")].count(True) == 0
    stored = everything(bot)
    for trace in (OLGA, "Olga", "Wolkenkuckucksheim"):
        assert trace not in stored, trace
    for kept in (ERIKA, MAX, "Tintenfisch-42", "Erika Muster"):
        assert kept in stored, kept  # tickets are kept for 180 days after they end

    bot.run_once("--now", later(181))
    stored = everything(bot)
    for trace in (ERIKA, MAX, "Erika", "Max Beispiel", "Tintenfisch-42", "Passwort vergessen", "Absturz"):
        assert trace not in stored, trace
    assert all(t.erased_at is not None for t in bot.tickets())
    assert all(m.raw == b"" and m.erased_at is not None for m in bot.inbound())
    assert all(m.raw == b"" for m in bot.outbox())
    assert bot.dovecot.list_folder(bot.user, "Processed") == []  # [privacy] folders = "delete"

    after = figures(bot, tmp_path / "after")
    for key in ("automation", "reopens", "response_times", "resolution_times", "articles", "sla"):
        assert after[key] == before[key], key
    assert after["volume"]["by_outcome"] == before["volume"]["by_outcome"]  # type: ignore[index]

    assert main(["privacy", "retention", *config, "--now", later(400)]) == 0  # nothing left to do


def test_an_erasure_after_retention_unlinks_the_pseudonymous_rows_too(bot: Bot) -> None:
    bot.deliver(make_mail(ERIKA, "Passwort vergessen", QUESTION, name="Erika Muster"))
    bot.run_once()
    bot.run_once("--now", later(181))
    [ticket] = bot.tickets()
    kept_pseudonym = ticket.customer
    assert kept_pseudonym.endswith("@erased.invalid") and kept_pseudonym in everything(bot)

    config = ["--config", str(bot.config)]
    assert main(["privacy", "erase", *config, "--address", ERIKA]) == 0
    [ticket] = bot.tickets()
    assert ticket.customer.endswith("@erased.invalid") and kept_pseudonym not in everything(bot)


def test_attachments_leave_attachment_days_after_the_ticket_ended_and_the_text_stays(bot: Bot) -> None:
    screenshot = b"\x89PNG\r\n\x1a\n" + b"Tintenfisch-Bildschirmfoto" * 200
    mail = message_from_bytes(
        make_mail(MAX, "Absturz nach Update", CRASH, name="Max Beispiel"), policy=default
    )
    assert isinstance(mail, EmailMessage)
    mail.add_attachment(screenshot, maintype="image", subtype="png", filename="absturz.png")
    bot.deliver(mail.as_bytes())
    bot.run_once()
    [ticket] = bot.tickets()
    config = ["--config", str(bot.config)]
    assert main(["tickets", "resolve", ticket.reference or "", "-m", "Behoben in 2.3.1.", *config]) == 0
    bot.run_once()
    assert any(b"iVBORw0KGg" in m.raw for m in bot.outbox())  # the team's notice forwarded the PNG (base64)
    bot.run_once("--now", later(13))
    assert b"absturz.png" in bot.inbound()[0].raw  # 14 days after it was solved, not before

    bot.run_once("--now", later(15))
    [received] = bot.inbound()
    assert received.attachments_removed_at is not None and received.erased_at is None
    assert b"absturz.png" in received.raw and b"Attachment removed" in received.raw  # named, not kept
    assert screenshot not in received.raw and b"iVBORw0KGg" not in received.raw  # nor its base64
    assert b"Tintenfisch-42" in received.raw  # the text stays until retention_days
    for sent in bot.outbox():
        assert b"iVBORw0KGg" not in sent.raw, sent.kind
