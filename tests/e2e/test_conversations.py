"""Whole conversations over the wire: Dovecot in, decision, aiosmtpd out."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import SUPPORT, TEAM, Bot, make_mail, parse, text_of

CUSTOMER = "erika.muster@example.org"
PASSWORD_QUESTION_DE = (
    "Hallo,\n\nich habe mein Passwort vergessen und komme nicht mehr in mein Konto. "
    "Wie kann ich es zurücksetzen?\n\nViele Grüße\nErika Muster\n"
)
CRASH_REPORT_DE = (
    "Guten Tag,\n\nseit dem letzten Update stürzt die App beim Öffnen sofort ab. "
    "Ich habe das Handy schon neu gestartet, es hilft nichts.\n\nGruß\nErika Muster\n"
)


def test_german_faq_mail_gets_the_kb_answer_and_moves_to_processed(bot: Bot, capsys):
    question = make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE, name="Erika Muster")
    bot.deliver(question)
    bot.run_once()

    [reply] = bot.sent_to(CUSTOMER)
    mail = parse(reply)
    original = parse(question)
    assert mail["Subject"] == "Re: Passwort vergessen [MB-000001]"
    assert mail["In-Reply-To"] == original["Message-ID"]
    assert original["Message-ID"] in mail["References"]
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["X-Loop"] == SUPPORT
    assert mail["From"] == f"Aktivo Support <{SUPPORT}>"
    body = text_of(reply)
    assert "Passwort vergessen?" in body  # the article's steps
    assert "Sie" in body and "MB-000001" in body
    assert "Ã" not in body  # no mojibake
    assert {p.get_content_type() for p in mail.walk()} >= {"text/plain", "text/html"}
    assert not bot.sent_to(TEAM)

    [row] = bot.outbox()
    assert row.message_id == mail["Message-ID"]  # our own Message-ID is stored
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    assert len(bot.dovecot.list_folder(bot.user, "Processed")) == 1

    status = bot.status(capsys)
    assert status["inbound"] == {"done": 1}
    assert status["tickets"] == {"answered": 1}
    assert status["outbox"] == {"sent": 1}
    assert status["quarantined"] == []


def test_bug_report_gets_acknowledgement_and_team_notice_with_the_mail_attached(bot: Bot):
    report = make_mail(CUSTOMER, "App stürzt ab", CRASH_REPORT_DE, name="Erika Muster")
    bot.deliver(report)
    bot.run_once()

    [ack] = bot.sent_to(CUSTOMER)
    assert parse(ack)["Subject"] == "Re: App stürzt ab [MB-000001]"
    ack_text = text_of(ack)
    assert "MB-000001" in ack_text and "Support-Team" in ack_text

    [notice] = bot.sent_to(TEAM)
    notice_mail = parse(notice)
    assert "MB-000001" in notice_mail["Subject"]
    assert notice_mail["Auto-Submitted"] == "auto-generated"
    [attached] = [p for p in notice_mail.walk() if p.get_content_type() == "message/rfc822"]
    assert parse(report)["Message-ID"] in attached.as_string()
    assert CUSTOMER in text_of(notice)
    [ticket] = bot.tickets()
    assert (ticket.state, ticket.customer, ticket.reference) == ("escalated", CUSTOMER, "MB-000001")


def test_customer_reply_lands_on_the_same_ticket(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.run_once()
    [answer] = bot.sent_to(CUSTOMER)
    answer_mail = parse(answer)

    # the customer answers in the thread: the link did not help
    follow_up = make_mail(
        CUSTOMER,
        answer_mail["Subject"].replace("Re: ", "AW: ", 1),
        "Der Link funktioniert leider nicht, es kommt eine Fehlermeldung.",
        headers={"In-Reply-To": answer_mail["Message-ID"], "References": answer_mail["Message-ID"]},
    )
    bot.deliver(follow_up)
    bot.run_once()

    [ticket] = bot.tickets()
    assert ticket.state == "escalated"  # the automatic answer did not solve it: the team takes over
    rows = bot.inbound()
    assert [r.outcome for r in rows] == ["answered", "follow_up"]
    assert rows[1].ticket_id == ticket.id
    received = bot.sent_to(CUSTOMER)[1]
    assert parse(received)["Subject"] == "Re: Passwort vergessen [MB-000001]"
    [notice] = bot.sent_to(TEAM)
    assert "MB-000001" in parse(notice)["Subject"]

    # and a reply by subject reference alone (no threading headers) joins too
    bot.deliver(make_mail(CUSTOMER, "Nochmal zu [MB-000001]", "Haben Sie schon etwas herausgefunden?"))
    bot.run_once()
    assert len(bot.tickets()) == 1
    assert bot.inbound()[-1].outcome == "follow_up"


def test_out_of_office_reply_gets_nothing(bot: Bot, capsys):
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.run_once()
    [answer] = bot.sent_to(CUSTOMER)
    out_of_office = make_mail(
        CUSTOMER,
        "Automatische Antwort: " + parse(answer)["Subject"],
        "Ich bin bis zum 5. Dezember nicht im Büro und lese keine E-Mails.",
        headers={"Auto-Submitted": "auto-replied", "In-Reply-To": parse(answer)["Message-ID"]},
    )
    bot.deliver(out_of_office)
    bot.run_once()

    assert len(bot.sink.messages) == 1  # only the first answer
    row = bot.inbound()[-1]
    assert row.outcome == "ignored"
    assert row.decision is not None and row.decision["rule_hits"][0]["name"] == "auto_submitted"
    assert "Auto-Submitted" in (row.reason or "")
    assert bot.tickets()[0].state == "answered"  # an auto-reply never changes a ticket
    assert bot.status(capsys)["inbound"] == {"done": 2}


def test_stranger_quoting_a_ticket_reference_does_not_join_it(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "App stürzt ab", CRASH_REPORT_DE))
    bot.run_once()
    [ack] = bot.sent_to(CUSTOMER)
    ack_mail = parse(ack)

    stranger = "mallory@example.net"
    forged = make_mail(
        stranger,
        "Re: App stürzt ab [MB-000001]",
        "Bitte schicken Sie mir den aktuellen Stand und alle Angaben zu diesem Vorgang.",
        headers={"In-Reply-To": ack_mail["Message-ID"], "References": ack_mail["Message-ID"]},
    )
    bot.deliver(forged)
    bot.run_once()

    tickets = bot.tickets()
    assert [(t.reference, t.customer) for t in tickets] == [("MB-000001", CUSTOMER), ("MB-000002", stranger)]
    assert bot.inbound()[-1].ticket_id == tickets[1].id
    [reply] = bot.sent_to(stranger)
    assert b"MB-000001" not in reply  # nothing about the other ticket leaks
    assert "MB-000002" in parse(reply)["Subject"]


def test_broken_mime_is_quarantined_on_the_server_and_in_the_database(bot: Bot, capsys):
    broken = (
        b"From: kunde@example.org\r\nTo: support@example.com\r\nSubject: Anhang\r\n"
        b"Message-ID: <broken-1@example.org>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed\r\n\r\n"
        b"--xyz\r\nContent-Type: text/plain\r\n\r\nHallo\r\n--xyz--\r\n"
    )
    bot.deliver(broken)
    bot.run_once()

    assert bot.sink.messages == []
    status = bot.status(capsys)
    assert status["inbound"] == {"quarantined": 1}
    [item] = status["quarantined"]
    assert "boundary" in item["reason"]
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    [kept] = bot.dovecot.list_folder(bot.user, "Quarantine")
    assert kept.endswith(broken)


def test_running_twice_sends_nothing_twice(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.deliver(make_mail("tom@example.net", "App crash", "Since the update the app crashes on start."))
    bot.run_once()
    first = len(bot.sink.messages)
    assert first == 3  # answer + acknowledgement + team notice
    bot.run_once()
    bot.run_once()
    assert len(bot.sink.messages) == first
    assert len(bot.inbound()) == 2


def test_same_mail_delivered_twice_is_answered_once(bot: Bot):
    mail = make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE)
    bot.deliver(mail)
    bot.deliver(mail)  # e.g. the customer wrote to two of our addresses; same Message-ID
    bot.run_once()
    assert len(bot.sent_to(CUSTOMER)) == 1
    assert len(bot.inbound()) == 1
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    assert len(bot.dovecot.list_folder(bot.user, "Processed")) == 2


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_with_verified_certificates(tmp_path, dovecot, imap_user, smtp_sink, security):
    from tests.e2e.conftest import write_config

    bot = Bot(
        dovecot,
        imap_user,
        smtp_sink,
        write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, security=security),
    )
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.run_once()
    assert len(bot.sent_to(CUSTOMER)) == 1


def test_answer_goes_to_reply_to_and_the_sender_keeps_the_ticket(bot: Bot):
    # a Reply-To of the sender's own domain (issue 11: of another domain it is not honoured)
    bot.deliver(
        make_mail(
            CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE, headers={"Reply-To": "erika@example.org"}
        )
    )
    bot.run_once()
    [answer] = bot.sent_to("erika@example.org")
    assert bot.tickets()[0].customer == CUSTOMER

    reply = make_mail(
        CUSTOMER,
        parse(answer)["Subject"],
        "Hat leider nicht geklappt.",
        headers={"In-Reply-To": parse(answer)["Message-ID"]},
    )
    bot.deliver(reply)
    bot.run_once()
    assert bot.inbound()[-1].outcome == "follow_up"
    assert len(bot.tickets()) == 1


def test_our_own_mail_coming_back_is_ignored(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION_DE))
    bot.run_once()
    [answer] = bot.sent_to(CUSTOMER)
    bot.deliver(answer)  # e.g. the customer's address forwards to our support address
    bot.run_once()
    assert len(bot.sink.messages) == 1
    row = bot.inbound()[-1]
    assert row.outcome == "ignored"
    hits = {hit["name"] for hit in (row.decision or {})["rule_hits"]}
    assert {"own_address", "own_loop_header", "own_message_id", "auto_submitted"} <= hits
