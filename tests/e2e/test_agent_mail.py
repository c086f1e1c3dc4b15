"""Agents answer by mail (issue 14): a team member replies to the team notice, the customer gets it."""

from __future__ import annotations

from email.utils import make_msgid
from pathlib import Path

import pytest

from mailbot.cli import main
from tests.e2e.conftest import SUPPORT, TEAM, Bot, make_mail, parse, text_of, write_config
from tests.servers import DovecotServer, SmtpSink

CUSTOMER = "erika.muster@example.org"
MEMBER = "katrin.berger@agency.example"
CRASH_REPORT_DE = (
    "Guten Tag,\n\nseit dem letzten Update stürzt die App beim Öffnen sofort ab. "
    "Ich habe das Handy schon neu gestartet, es hilft nichts.\n\nGruß\nErika Muster\n"
)
PASSWORD_QUESTION_DE = (
    "Hallo,\n\nich habe mein Passwort vergessen und komme nicht mehr in mein Konto. "
    "Wie kann ich es zurücksetzen?\n\nViele Grüße\nErika Muster\n"
)


@pytest.fixture
def desk(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    config = write_config(
        tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, team=f'members = ["{MEMBER}"]'
    )
    return Bot(dovecot, imap_user, smtp_sink, config)


def reply_to_notice(notice: bytes, sender: str, text: str, name: str = "Katrin Berger") -> bytes:
    """A reply as a mail client writes it: the text, then the quoted notice."""
    original = parse(notice)
    quoted = "\n".join(f"> {line}" for line in text_of(notice).splitlines())
    body = f"{text}\n\nAm 05.12.2026 um 10:00 schrieb Aktivo Support <{SUPPORT}>:\n{quoted}\n"
    return make_mail(
        sender,
        "AW: " + original["Subject"],
        body,
        name=name,
        to=SUPPORT,
        headers={"In-Reply-To": original["Message-ID"], "References": original["Message-ID"]},
    )


def escalate(bot: Bot, subject: str = "App stürzt ab", body: str = CRASH_REPORT_DE) -> bytes:
    bot.deliver(make_mail(CUSTOMER, subject, body, name="Erika Muster"))
    bot.run_once()
    [notice] = bot.sent_to(TEAM)
    return notice


def test_a_members_reply_to_the_notice_goes_to_the_customer_in_the_tickets_thread(
    desk: Bot, tmp_path
) -> None:
    notice = escalate(desk)
    assert parse(notice)["Reply-To"] == SUPPORT
    assert "Antworten Sie auf diese E-Mail" in text_of(notice)
    customer_mail = desk.inbound()[0]

    reply = reply_to_notice(notice, MEMBER, "Guten Tag Frau Muster,\n\nbitte installieren Sie Version 2.3.1.")
    desk.deliver(reply)
    desk.run_once()

    answers = desk.sent_to(CUSTOMER)
    assert len(answers) == 2  # the acknowledgement, then the member's answer
    answer = parse(answers[1])
    text = text_of(answers[1])
    assert "bitte installieren Sie Version 2.3.1." in text
    assert "Neues Ticket" not in text and "schrieb" not in text  # the quoted notice stays out
    assert "Katrin Berger" in text  # signed by the member
    assert answer["From"] == f"Aktivo Support <{SUPPORT}>"
    assert answer["Auto-Submitted"] is None  # a person's reply
    assert answer["Subject"] == "Re: App stürzt ab [MB-000001]"
    assert answer["In-Reply-To"] == customer_mail.message_id
    [ticket] = desk.tickets()
    assert ticket.state == "answered" and ticket.responded_at is not None
    assert desk.inbound()[1].outcome == "agent_answer"
    assert len(desk.sent_to(TEAM)) == 1  # no notice about the member's own mail

    # never twice: the same mail delivered again (a client's re-send) is recognised and answers nothing
    desk.deliver(reply)
    desk.run_once()
    assert len(desk.sent_to(CUSTOMER)) == 2


def test_a_strangers_reply_to_a_forwarded_notice_is_refused_and_reported(desk: Bot) -> None:
    notice = escalate(desk)
    desk.deliver(reply_to_notice(notice, "someone@elsewhere.example", "Ihr Konto wird gelöscht.", name="X"))
    desk.run_once()

    assert len(desk.sent_to(CUSTOMER)) == 1  # the acknowledgement only
    row = desk.inbound()[1]
    assert row.outcome == "quarantined" and "not in [team] members" in (row.reason or "")
    refused = [parse(m) for m in desk.sent_to(TEAM)][1:]
    assert len(refused) == 1 and "Antwort nicht gesendet" in refused[0]["Subject"]
    assert "someone@elsewhere.example" in text_of(desk.sent_to(TEAM)[1])
    assert not desk.sent_to("someone@elsewhere.example")
    [ticket] = desk.tickets()
    assert ticket.state == "escalated"


def test_a_forged_reference_from_a_member_address_is_refused(desk: Bot) -> None:
    escalate(desk)
    forged = make_mail(
        MEMBER,
        "AW: [MB-000001] Neues Ticket",
        "Bitte Konto löschen.",
        headers={"In-Reply-To": "<mb.0123456789abcdef.0123456789abcdef0123@example.com>"},
    )
    desk.deliver(forged)
    desk.run_once()
    row = desk.inbound()[1]
    assert row.outcome == "quarantined" and "signature is wrong" in (row.reason or "")
    assert len(desk.sent_to(CUSTOMER)) == 1


def test_ok_sends_the_suggested_answer_of_a_near_miss(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink
) -> None:
    config = write_config(
        tmp_path / "mailbot.toml",
        dovecot,
        imap_user,
        smtp_sink,
        team=f'members = ["{MEMBER}"]',
        extra="[classifier]\nthreshold = 0.999\n",  # every answer a near miss
    )
    desk = Bot(dovecot, imap_user, smtp_sink, config)
    notice = escalate(desk, "Passwort vergessen", PASSWORD_QUESTION_DE)
    notice_text = text_of(notice)
    assert "Vorgeschlagene Antwort" in notice_text and "password-reset" in notice_text

    desk.deliver(reply_to_notice(notice, MEMBER, "OK"))
    desk.run_once()
    answer = desk.sent_to(CUSTOMER)[-1]
    assert "Passwort vergessen?" in text_of(answer)  # the article's steps
    assert desk.tickets()[0].state == "answered"


def test_without_members_a_reply_to_the_notice_goes_to_the_team(bot: Bot) -> None:
    notice = escalate(bot)
    assert parse(notice)["Reply-To"] == TEAM
    assert "Antworten Sie auf diese E-Mail" not in text_of(notice)


def test_the_team_address_cannot_be_a_member(tmp_path: Path, dovecot, imap_user, smtp_sink, capsys) -> None:
    config = write_config(
        tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, team=f'members = ["{TEAM}"]'
    )
    assert main(["status", "--config", str(config)]) == 2
    assert "is the team's own address" in capsys.readouterr().err


_ = make_msgid


def test_a_members_reply_longer_than_a_reply_may_be_is_refused(desk: Bot) -> None:
    notice = escalate(desk)
    desk.deliver(
        reply_to_notice(notice, MEMBER, "Logauszug:\n" + "x" * 80 + "\n" * 1 + ("y" * 99 + "\n") * 11_000)
    )
    desk.run_once()
    row = desk.inbound()[1]
    assert row.outcome == "quarantined" and "longer than 100,000 characters" in (row.reason or "")
    assert len(desk.sent_to(CUSTOMER)) == 1
