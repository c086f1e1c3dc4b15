"""Issue 11 over the wire (real Dovecot, aiosmtpd, SQLite and PostgreSQL): who mailbot trusts.

No relay through Reply-To (answers, acknowledgements and out-of-hours notes), limits per recipient and
per sender, a contact form's person owns the ticket, mail about a ticket only ever goes to the address
stored on it, a follow-up the receiving server could not verify reopens and reveals nothing, From is
read strictly and compared exactly, and mail from the team address is never a ticket.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from sqlalchemy import select, update

from mailbot.cli import main
from mailbot.db.schema import Ticket, TicketEvent
from tests.e2e import conftest
from tests.e2e.conftest import TEAM, Bot, parse, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
PASSWORD = (
    "Hallo,\n\nich habe mein Passwort vergessen und komme nicht mehr in mein Konto. "
    "Wie kann ich es zurücksetzen?\n\nViele Grüße\n"
)
CRASH = (
    "Guten Tag,\n\nseit dem letzten Update stürzt die App beim Öffnen sofort ab. "
    "Ich habe das Handy schon neu gestartet, es hilft nichts.\n\nGruß\n"
)
AUTHSERV = "mx.example.com"
CLOSED_HOURS = 'timezone = "Europe/Berlin"\nmonday = ["08:00-18:00"]\noutside_hours = "acknowledge"\n'


def make_bot(
    tmp_path: Path,
    dovecot: DovecotServer,
    user: str,
    sink: SmtpSink,
    database_url: str | None = None,
    support: str = "",
    hours: str = "always_open = true",
) -> Bot:
    config = write_config(
        tmp_path / "mailbot.toml",
        dovecot,
        user,
        sink,
        database_url=database_url,
        support=support,
        hours=hours,
    )
    return Bot(dovecot, user, sink, config)


def mail(*senders: str, subject: str, body: str, headers: tuple[str, ...] = ()) -> bytes:
    """A raw mail written as a hostile sender writes it: every From line exactly as given."""
    lines = [
        *headers,
        *(f"From: {sender}" for sender in senders),
        "To: support@example.com",
        f"Subject: {subject}",
        f"Date: {format_datetime(datetime.now().astimezone())}",
        f"Message-ID: {make_msgid(domain='sender.example')}",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body.replace("\n", "\r\n")).encode()


def text_of(raw: bytes) -> str:
    return conftest.text_of(raw).replace("\r\n", "\n")  # base64 parts keep their CRLF line ends


def events(bot: Bot, kind: str) -> list[TicketEvent]:
    with bot.db() as session:
        return list(
            session.scalars(select(TicketEvent).where(TicketEvent.kind == kind).order_by(TicketEvent.id))
        )


def recipients(bot: Bot) -> list[str]:
    return [rcpt for message in bot.sink.messages for rcpt in message.rcpt_tos]


def cli(bot: Bot, *args: str) -> None:
    assert main([*args, "--config", str(bot.config)]) == 0


# --- relay through Reply-To -----------------------------------------------------------------------


def test_a_reply_to_of_another_domain_gets_nothing_and_why_is_recorded(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url)
    for number in range(5):
        reply_to = f"Reply-To: Liebes Opfer {number} <victim{number}@victims.example>"
        bot.deliver(
            mail(
                "Mallory Evans <mallory@evil.example>", subject="Passwort", body=PASSWORD, headers=(reply_to,)
            )
        )
    bot.run_once()

    assert not [rcpt for rcpt in recipients(bot) if rcpt.endswith("@victims.example")]
    answers = bot.sent_to("mallory@evil.example")
    assert len(answers) == 3  # the daily limit, counted for the sender as for the recipient
    assert all("Opfer" not in text_of(answer) for answer in answers)  # no stranger's name in a greeting
    note = bot.inbound()[0].decision["details"]["reply_to"]
    assert note.startswith("Reply-To victim0@victims.example not honoured: another domain than From mallory@")
    assert len(events(bot, "reply_to_not_honoured")) == 5
    assert {ticket.customer for ticket in bot.tickets()} == {"mallory@evil.example"}


def test_the_daily_limit_counts_mail_caused_by_one_sender_over_all_its_reply_to_addresses(bot: Bot):
    for number in range(4):  # Reply-To of the sender's own domain is honoured, but counts for the sender
        reply_to = f"Reply-To: Buchhaltung Chef <team{number}@kunde.example>"
        bot.deliver(
            mail("Karla Kunde <karla@kunde.example>", subject="Passwort", body=PASSWORD, headers=(reply_to,))
        )
    bot.run_once()

    customers = sorted(rcpt for rcpt in recipients(bot) if rcpt != TEAM)
    assert customers == ["team0@kunde.example", "team1@kunde.example", "team2@kunde.example"]
    assert "because of mail from this sender" in (bot.inbound()[3].reason or "")
    assert text_of(bot.sent_to("team0@kunde.example")[0]).startswith("Guten Tag,\n")  # unverified: neutral
    assert {ticket.customer for ticket in bot.tickets()} == {"karla@kunde.example"}


def test_a_contact_forms_person_owns_the_ticket_and_their_own_replies_join_it(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    bot = make_bot(
        tmp_path,
        dovecot,
        imap_user,
        smtp_sink,
        database_url,
        support='form_senders = ["noreply@app.example"]',
    )
    reply_to = "Reply-To: Katrin Müller <katrin@kunde.example>"
    bot.deliver(mail("Kontaktformular <noreply@app.example>", subject="App", body=CRASH, headers=(reply_to,)))
    bot.run_once()
    (ticket,) = bot.tickets()
    assert (ticket.customer, ticket.customer_name) == ("katrin@kunde.example", "Katrin Müller")
    (ack,) = bot.sent_to("katrin@kunde.example")
    assert text_of(ack).startswith("Guten Tag Katrin Müller,")

    cli(bot, "tickets", "reply", "MB-000001", "-m", "Welche Version nutzen Sie?", "--agent", "Tom Berger")
    in_reply_to = f"In-Reply-To: {parse(ack)['Message-ID']}"
    answer = mail(
        "Katrin Müller <katrin@kunde.example>", subject="Re: App [MB-000001]", body="Version 2.3, Android."
    )
    bot.deliver(answer.replace(b"To: ", f"{in_reply_to}\r\nTo: ".encode(), 1))
    bot.run_once()
    assert bot.inbound()[-1].outcome == "follow_up" and bot.inbound()[-1].ticket_id == ticket.id
    cli(bot, "tickets", "resolve", "MB-000001", "-m", "Behoben in 2.3.1.")
    bot.run_once()

    kinds = [row.kind for row in bot.outbox() if row.recipient == "katrin@kunde.example"]
    assert kinds == ["acknowledgement", "agent_reply", "solved"]
    assert bot.sent_to("noreply@app.example") == []


def test_out_of_hours_notes_never_go_to_a_strangers_reply_to(tmp_path, dovecot, imap_user, smtp_sink):
    bot = make_bot(
        tmp_path,
        dovecot,
        imap_user,
        smtp_sink,
        support='form_senders = ["noreply@app.example"]',
        hours=CLOSED_HOURS,
    )
    saturday = datetime.fromisoformat("2026-05-23T10:00+02:00")
    forged = mail(
        "kunde@kunde.example", subject="Frage", body=CRASH, headers=("Reply-To: victim@victims.example",)
    )
    form = mail(
        "noreply@app.example", subject="Frage", body=CRASH, headers=("Reply-To: katrin@kunde.example",)
    )
    for raw in (forged, form):
        bot.dovecot.append(bot.user, "INBOX", raw, msg_time=saturday)
    bot.run_once("--now", "2026-05-23T10:01+02:00")

    assert sorted(recipients(bot)) == ["katrin@kunde.example", "kunde@kunde.example"]
    assert {row.kind for row in bot.outbox()} == {"out_of_hours"}


# --- mail about a ticket: only to the stored address; unverified senders change nothing ----------------


def reply_about(sender: str, subject: str, body: str, *headers: str) -> bytes:
    return mail(sender, subject=subject, body=body, headers=headers)


def test_a_forged_follow_up_without_verification_writes_only_to_the_stored_address(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url)
    bot.deliver(mail("Erika Muster <erika@kunde.example>", subject="Passwort vergessen", body=PASSWORD))
    bot.run_once()
    forged = reply_about(
        "Erika Muster <erika@kunde.example>",
        "Re: Passwort vergessen [MB-000001]",
        "Das hat leider nicht geklappt, ich komme immer noch nicht hinein.",
        "Reply-To: Mallory <mallory@evil.example>",
    )
    bot.deliver(forged)
    bot.run_once()

    assert bot.sent_to("mallory@evil.example") == []
    kinds = [row.kind for row in bot.outbox() if row.recipient == "erika@kunde.example"]
    assert kinds == ["answer", "followup_received"]  # reopened: without authserv_id the From is believed
    assert bot.tickets()[0].state == "escalated"


def test_a_follow_up_the_server_could_not_verify_is_recorded_for_the_team_and_changes_nothing(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    bot = make_bot(
        tmp_path, dovecot, imap_user, smtp_sink, database_url, support=f'authserv_id = "{AUTHSERV}"'
    )
    passed = (
        f"Authentication-Results: {AUTHSERV}; dkim=pass header.d=kunde.example;\r\n"
        " dmarc=pass header.from=kunde.example"
    )
    bot.deliver(mail("Erika Muster <erika@kunde.example>", subject="App", body=CRASH, headers=(passed,)))
    bot.run_once()
    cli(bot, "tickets", "resolve", "MB-000001", "-m", "Behoben.")
    bot.run_once()
    before = len(bot.sink.messages)

    failed = (
        f"Authentication-Results: {AUTHSERV}; spf=fail smtp.mailfrom=evil.example;\r\n"
        " dmarc=fail header.from=kunde.example"
    )
    lying = "Authentication-Results: mx.evil.example; dmarc=pass header.from=kunde.example"  # anyone's words
    reply_to = "Reply-To: mallory@evil.example"
    bot.deliver(
        reply_about(
            "erika@kunde.example", "Re: App [MB-000001]", "Wie ist der Stand?", failed, lying, reply_to
        )
    )
    bot.deliver(
        reply_about(
            "erika@kunde.example", "[MB-000001]", "Bitte wieder öffnen, IBAN DE02 1203 0000 0000 2020 51"
        )
    )
    bot.run_once()

    (ticket,) = bot.tickets()
    assert ticket.state == "solved"  # not reopened
    new = bot.sink.messages[before:]
    assert [m.rcpt_tos for m in new] == [[TEAM], [TEAM]]  # no state to anyone, nothing to the customer
    for notice in new:
        assert parse(notice.data)["Subject"].startswith("[MB-000001] Absender nicht bestätigt:")
        assert "ABSENDER NICHT BESTÄTIGT" in text_of(notice.data)
    assert "dmarc=fail for kunde.example" in text_of(new[0].data)
    assert "no Authentication-Results header of mx.example.com" in text_of(new[1].data)
    forged = bot.inbound()[-2:]
    assert all(row.outcome == "follow_up" and row.ticket_id == ticket.id for row in forged)  # recorded
    assert [e.inbound_id for e in events(bot, "sender_not_verified")] == [row.id for row in forged]

    genuine = reply_about("erika@kunde.example", "Re: App [MB-000001]", "Der Fehler ist wieder da.", passed)
    bot.deliver(genuine)
    bot.run_once()
    assert bot.tickets()[0].state == "escalated"
    assert [row.kind for row in bot.outbox() if row.recipient == "erika@kunde.example"][
        -1
    ] == "followup_received"


# --- From read strictly, compared exactly --------------------------------------------------------------


def test_a_from_that_only_looks_like_the_customer_joins_nothing(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url)
    bot.deliver(mail("Alice <alice@cust.example>", subject="App", body=CRASH))
    bot.run_once()
    status = "Wie ist der Stand?"
    bot.deliver(mail("alice@cust.example <mallory@evil.example>", subject="Re: App [MB-000001]", body=status))
    bot.run_once()

    first, second = bot.tickets()
    assert second.customer == "mallory@evil.example" and bot.inbound()[-1].ticket_id == second.id
    (ack,) = bot.sent_to("mallory@evil.example")
    assert "MB-000002" in parse(ack)["Subject"]
    assert len(bot.sent_to("alice@cust.example")) == 1  # only her own acknowledgement
    assert first.state == "escalated"


@pytest.mark.parametrize(
    "senders",
    [("alice@cust.example, mallory@evil.example",), ("alice@cust.example", "mallory@evil.example")],
    ids=["two-addresses", "two-headers"],
)
def test_several_senders_get_nothing_automatic_and_join_nothing(bot: Bot, senders: tuple[str, ...]):
    bot.deliver(mail("alice@cust.example", subject="App", body=CRASH))
    bot.run_once()
    bot.deliver(mail(*senders, subject="Re: App [MB-000001]", body="Wie ist der Stand?"))
    bot.run_once()

    row = bot.inbound()[-1]
    assert row.outcome == "escalated" and row.ticket_id == bot.tickets()[1].id
    assert "ambiguous_sender" in [hit["name"] for hit in row.decision["rule_hits"]]
    assert recipients(bot) == ["alice@cust.example", TEAM, TEAM]  # the first ack, two team notices


def test_addresses_are_compared_exactly_and_old_lower_cased_tickets_keep_working(
    tmp_path, dovecot, imap_user, smtp_sink, database_url
):
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, database_url)
    bot.deliver(mail("strasse@example.org", subject="App", body=CRASH))
    bot.deliver(mail("Kunde@EXAMPLE.ORG", subject="App", body=CRASH))
    bot.deliver(mail("Jo@beispiel.example", subject="App", body=CRASH))
    bot.run_once()
    assert [t.customer for t in bot.tickets()] == [
        "strasse@example.org",
        "Kunde@example.org",
        "Jo@beispiel.example",
    ]
    with bot.db.begin() as session:  # as a ticket stored before issue 11 holds it: all lower case
        session.execute(update(Ticket).where(Ticket.id == 3).values(customer="jo@beispiel.example"))

    for sender, number in [
        ("straße@example.org", 1),  # no Unicode casefolding: another mailbox (for its Reply-To see below)
        ("Kunde@example.org", 2),  # the domain in any case: the same mailbox
        ("kunde@example.org", 2),  # the local part as written: another mailbox
        ("jo@BEISPIEL.example", 3),  # an old lower-cased ticket, a customer writing lower case
    ]:
        # a Reply-To of the same domain that takes no answer: nothing is composed to a non-ASCII local
        # part, which needs SMTPUTF8 (not this concern)
        headers = ("Reply-To: noreply@example.org",) if not sender.isascii() else ()
        body = "Die App stürzt weiter ab, bitte helfen."
        bot.deliver(mail(sender, subject=f"Re: App [MB-00000{number}]", body=body, headers=headers))
    bot.run_once()
    joined = [row.ticket_id for row in bot.inbound()[3:]]
    assert joined[1] == 2 and joined[3] == 3
    assert joined[0] not in (None, 1) and joined[2] not in (None, 2)

    bot.deliver(mail("jo@beispiel.example", subject="Nachfrage", body="Gibt es Neuigkeiten?"))
    bot.run_once()  # a status question without a reference finds the old ticket too
    last = bot.inbound()[-1]
    assert last.ticket_id == 3
    assert [row.kind for row in bot.outbox() if row.inbound_id == last.id] == ["status", "team_notice"]


# --- the team's own address -------------------------------------------------------------------------


def test_mail_from_the_team_address_is_never_a_ticket_and_its_auto_responder_cannot_loop(bot: Bot):
    bot.deliver(mail("Erika <erika@kunde.example>", subject="App", body=CRASH))
    bot.run_once()
    (notice,) = bot.sent_to(TEAM)
    about = f"In-Reply-To: {parse(notice)['Message-ID']}"
    subject = f"Automatische Antwort: {parse(notice)['Subject']}"
    away = "Vielen Dank für Ihre Nachricht. Ich bin bis einschließlich Montag nicht im Büro."
    bot.deliver(mail(f"Team <{TEAM}>", subject=subject, body=away, headers=(about,)))  # header-less responder
    bot.deliver(mail(TEAM, subject=subject, body=away, headers=(about, "Auto-Submitted: auto-replied")))
    bot.deliver(mail(TEAM, subject="Fwd: App", body="Bitte anschauen, die App stürzt bei allen ab."))
    bot.deliver(mail("kunde2@kunde.example", subject="App", body=CRASH, headers=(f"Reply-To: {TEAM}",)))
    bot.run_once()
    bot.run_once()

    assert len(bot.tickets()) == 1
    assert recipients(bot) == ["erika@kunde.example", TEAM]  # nothing after the first notice
    ignored = bot.inbound()[1:]
    assert [row.outcome for row in ignored] == ["ignored"] * 4
    assert all("the team's address" in (row.reason or "") for row in ignored)
