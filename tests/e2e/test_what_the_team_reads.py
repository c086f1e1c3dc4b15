"""What the team reads, over real Dovecot + aiosmtpd (issue 10): the customer's words in the severity
reasons, in the team's language and without raw n-grams; the customer's name; the ticket's language in
the SLA alert; one reference in follow-up subjects."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.e2e.conftest import TEAM, Bot, make_mail, parse, text_of
from tests.e2e.test_second_level import make_bot
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
CUSTOMER = "ops@fleet.example"
REPORT = (
    "Hello,\n\nnone of our 40 drivers can log in since the update this morning. "
    "We tried everything.\n\nBest regards\nDana\n"
)


@pytest.fixture
def bot(tmp_path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    return make_bot(tmp_path, dovecot, imap_user, smtp_sink)  # [team] language = "de"


def lines_of(raw: bytes) -> str:
    return text_of(raw).replace("\r\n", "\n")


def report(bot: Bot) -> None:
    """Dana Fleet's outage report, Tuesday 26 May 2026 at 09:00 (critical: response due at 11:00)."""
    raw = make_mail(CUSTOMER, "Drivers cannot log in", REPORT, name="Dana Fleet")
    bot.dovecot.append(bot.user, "INBOX", raw, msg_time=datetime.fromisoformat("2026-05-26T09:00+02:00"))
    bot.run_once("--now", "2026-05-26T09:01+02:00")


def html_of(raw: bytes) -> str:
    part = parse(raw).get_body(("html",))
    assert part is not None
    return part.get_content()


def test_an_english_outage_reaches_a_german_team_in_german_with_the_customers_words(bot: Bot) -> None:
    report(bot)

    (ticket,) = bot.tickets()
    assert (ticket.language, ticket.severity) == ("en", "critical")
    # stored for Jira and the webhook: English, structured, the customer's words as written
    assert 'signal: "none of our 40 drivers can" (all users affected)' in ticket.severity_reasons
    assert any(reason.startswith("closest example (critical): ") for reason in ticket.severity_reasons)
    assert not any(reason.startswith(("words:", "characters:")) for reason in ticket.severity_reasons)

    (notice,) = bot.sent_to(TEAM)
    text, html = lines_of(notice), html_of(notice)
    assert parse(notice)["Subject"] == "[MB-000001] Neues Ticket: Drivers cannot log in"
    assert "Kunde:    Dana Fleet <ops@fleet.example>\n" in text
    assert "Sprache:  Englisch\n" in text
    assert "- Alle Nutzer betroffen: „none of our 40 drivers can“\n" in text
    assert "- Seit dem Update: „since the update“\n" in text
    assert "- Ähnlichstes Beispiel für „kritisch“ (Textmodell): „" in text
    assert "Dana Fleet &lt;ops@fleet.example&gt;" in html and ">Englisch</td>" in html
    assert "<li>Alle Nutzer betroffen: „none of our 40 drivers can“</li>" in html
    for raw_reason in ("signal:", "words:", "characters:", "closest example", "our 0 drivers"):
        assert raw_reason not in text and raw_reason not in html


def test_the_sla_alert_names_the_customer_and_the_tickets_language(bot: Bot) -> None:
    report(bot)
    bot.run_once("--now", "2026-05-26T10:35+02:00")  # 95 of 120 minutes: the SLA warning
    (alert,) = bot.sent_to(TEAM)[1:]
    alert_text = lines_of(alert)
    assert "SLA" in parse(alert)["Subject"]
    assert "Sprache:         Englisch\n" in alert_text  # was "de": the team's language, not the ticket's
    assert "Kunde:           Dana Fleet <ops@fleet.example>\n" in alert_text
    assert ">Englisch</td>" in html_of(alert)


def test_a_follow_up_with_a_doubled_reference_gets_one_reference_and_one_re(bot: Bot) -> None:
    report(bot)
    (ack,) = bot.sent_to(CUSTOMER)
    ack_mail = parse(ack)
    assert ack_mail["Subject"] == "Re: Drivers cannot log in [MB-000001]"

    ask = make_mail(
        CUSTOMER,
        f"AW: Re: {ack_mail['Subject']} [mb-1]",  # Outlook's "AW:", the reference twice, once in lower case
        "Any news? What is the status?",
        name="Dana Fleet",
        headers={"In-Reply-To": ack_mail["Message-ID"]},
    )
    bot.dovecot.append(bot.user, "INBOX", ask)
    bot.run_once("--now", "2026-05-26T09:20+02:00")

    (status,) = bot.sent_to(CUSTOMER)[1:]
    assert parse(status)["Subject"] == "Re: Drivers cannot log in [MB-000001]"
    (notice, follow_up) = bot.sent_to(TEAM)
    assert parse(follow_up)["Subject"] == "[MB-000001] Kundenantwort: Drivers cannot log in"
    assert "Kunde:    Dana Fleet <ops@fleet.example>\n" in lines_of(follow_up)
    # one thread per ticket in the team's mailbox: the first notice starts it, the follow-up joins it
    assert parse(notice)["In-Reply-To"] is None
    assert parse(follow_up)["In-Reply-To"] == parse(notice)["Message-ID"]


def test_a_failed_delivery_names_the_customer_and_the_reference_once(bot: Bot) -> None:
    gone = "gone@example.net"
    bot.sink.fail_recipient(gone, 550, "5.1.1 no such user")
    asks = "Wie setze ich mein Passwort zurück?"
    question = make_mail(gone, "AW: Passwort vergessen", asks, name="Gerd Gone")
    bot.dovecot.append(bot.user, "INBOX", question, msg_time=datetime.fromisoformat("2026-05-26T09:00+02:00"))
    bot.run_once("--now", "2026-05-26T09:01+02:00")

    (notice,) = bot.sent_to(TEAM)
    assert parse(notice)["Subject"] == "[MB-000001] Zustellung fehlgeschlagen: Passwort vergessen"
    assert "Empfänger: Gerd Gone <gone@example.net>\n" in lines_of(notice)
    assert "Gerd Gone &lt;gone@example.net&gt;" in html_of(notice)
