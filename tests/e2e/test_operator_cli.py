"""Issue 10, "Wrong for the team and the operator": what an agent and an operator read on the command
line, over the real Dovecot and aiosmtpd: the conversation of a ticket, overdue tickets, references as
people type them, read-only commands without passwords or models, and a closed mailbox that says so."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from mailbot.cli import main
from mailbot.db.schema import Ticket
from tests.e2e.conftest import Bot, make_mail, parse, write_config
from tests.servers import DovecotServer, SmtpSink

pytestmark = pytest.mark.servers
HOURS = """timezone = "Europe/Berlin"
monday = ["08:00-12:00", "13:00-18:00"]
tuesday = ["08:00-12:00", "13:00-18:00"]
wednesday = ["08:00-12:00", "13:00-18:00"]
thursday = ["08:00-12:00", "13:00-18:00"]
friday = ["08:00-12:00", "13:00-18:00"]
holidays = { country = "DE", subdivision = "BY" }
"""
SLA = """
[sla.critical]
response_hours = 2
resolution_hours = 8
"""
CUSTOMER = "erika@kunde.example"
OUTAGE = (
    "Seit dem Update heute stürzt die App bei allen Nutzern sofort beim Start ab. "
    "Niemand kann mehr Kurse buchen, es geht gar nichts mehr."
)
# what a terminal would obey: CSI sequences, an OSC window title, BEL, RIGHT-TO-LEFT OVERRIDE, C1 CSI
UNSAFE = ("\x1b", "\x07", "\u202e", "\x9b")


def make_bot(tmp_path: Path, dovecot: DovecotServer, user: str, sink: SmtpSink, hours: str = HOURS) -> Bot:
    config = write_config(tmp_path / "mailbot.toml", dovecot, user, sink, hours=hours, extra=SLA)
    return Bot(dovecot, user, sink, config)


@pytest.fixture
def bot(tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink) -> Bot:
    return make_bot(tmp_path, dovecot, imap_user, smtp_sink)


def report(bot: Bot, when: str, subject: str = "App stürzt ab", body: str = OUTAGE, **headers: str) -> None:
    raw = make_mail(CUSTOMER, subject, body, name="Erika Muster", headers=headers or None)
    bot.dovecot.append(bot.user, "INBOX", raw, msg_time=datetime.fromisoformat(when))


def cli(capsys: pytest.CaptureFixture[str], *args: str, expect: int = 0) -> str:
    capsys.readouterr()
    assert main(list(args)) == expect
    captured = capsys.readouterr()
    return captured.out + captured.err


def assert_terminal_safe(text: str) -> None:
    assert not [ch for ch in UNSAFE if ch in text], "customer text reached the terminal unescaped"


def test_tickets_show_is_the_whole_conversation_oldest_first_with_excerpts_or_full_text(
    bot: Bot, capsys
) -> None:
    report(bot, "2026-05-26T09:00+02:00", subject="App stürzt ab \u202egnp.exe")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    (ack,) = bot.sent_to(CUSTOMER)
    follow_up = (
        "Hier die Fehlermeldung: \x1b[2J\x1b[31mE-4711\x1b[0m \u202eexe.txt \x9b2J\x1b]0;pwned\x07\n"
        "Sie erscheint nach dem Tippen auf Meine Kurse.\n\n"
        "Viele Grüße\nErika Muster\n\n-- \nErika Muster\nMusterfirma GmbH, Hauptstraße 1\n\n"
        "Am 26.05.2026 um 09:01 schrieb Aktivo Support <support@example.com>:\n"
        "> Guten Tag Erika Muster,\n> Zitatzeile aus unserer Bestätigung\n"
    )
    report(
        bot,
        "2026-05-26T09:30+02:00",
        subject="Re: App stürzt ab [MB-000001]",
        body=follow_up,
        **{"In-Reply-To": parse(ack)["Message-ID"]},
    )
    bot.run_once("--now", "2026-05-26T09:31+02:00")
    answer = "Bitte installieren Sie Version 2.3.1 aus dem App Store. " * 8 + "ENDE-DER-ANTWORT"
    config = ["--config", str(bot.config), "--now", "2026-05-26T10:00+02:00"]
    assert main(["tickets", "reply", "MB-000001", "-m", answer, *config]) == 0

    out = cli(capsys, "tickets", "show", "mb-1", *config)
    assert_terminal_safe(out)
    assert "\\x1b[2J" in out and "\\u202e" in out and "\\x9b" in out  # shown, not obeyed
    conversation = out[out.index("conversation") :]
    order = [
        conversation.index("Niemand kann mehr Kurse buchen"),  # the customer's report
        conversation.index("[acknowledgement]"),  # our acknowledgement
        conversation.index("E-4711"),  # the follow-up, without its quote and signature
        conversation.index("[agent_reply]"),  # the agent's answer
    ]
    assert order == sorted(order)
    assert "2026-05-26T09:30+02:00  from Erika Muster <erika@kunde.example>  [follow_up]" in conversation
    assert "Zitatzeile" not in conversation and "Musterfirma" not in conversation
    assert "Bitte installieren Sie Version 2.3.1" in conversation
    assert "ENDE-DER-ANTWORT" not in conversation  # an excerpt by default ...
    full = cli(capsys, "tickets", "show", "MB-000001", "--full", *config)
    assert "ENDE-DER-ANTWORT" in full  # ... the whole text on request
    assert "Sie erscheint nach dem Tippen auf Meine Kurse." in full  # its own line, as written
    assert_terminal_safe(full)

    raw_json = cli(capsys, "tickets", "show", "1", "--json", "--full", *config)
    assert_terminal_safe(raw_json)
    entries = json.loads(raw_json)["conversation"]
    assert [(e["direction"], e["kind"]) for e in entries] == [
        ("in", "escalated"),
        ("out", "acknowledgement"),
        ("in", "follow_up"),
        ("out", "agent_reply"),
    ]
    customer_reply = entries[2]
    assert customer_reply["from"] == "Erika Muster <erika@kunde.example>"
    assert customer_reply["at"] == "2026-05-26T09:30+02:00"
    assert customer_reply["text"].startswith("Hier die Fehlermeldung: \x1b[2J")  # the data is intact in JSON
    assert "Zitatzeile" not in customer_reply["text"]
    assert entries[3]["delivery"] == "sent" and answer in entries[3]["text"]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)

    listing = cli(capsys, "tickets", "list", *config)
    # issue 11: the stored ticket subject drops bidi characters (the mail itself keeps them, see above)
    assert "MB-000001" in listing and "App stürzt ab gnp.exe" in listing
    assert_terminal_safe(listing)


def test_tickets_list_marks_overdue_tickets_until_they_are_answered_and_solved(bot: Bot, capsys) -> None:
    report(bot, "2026-05-26T09:00+02:00")  # critical: response due 11:00, resolution due 2026-05-27 09:00
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    config = ["--config", str(bot.config)]

    def listed(now: str) -> tuple[str, dict]:
        text = cli(capsys, "tickets", "list", *config, "--now", now)
        (row,) = json.loads(cli(capsys, "tickets", "list", "--json", *config, "--now", now))
        return text, row

    text, row = listed("2026-05-26T10:59+02:00")
    assert "OVERDUE" not in text and row["overdue"] is False
    text, row = listed("2026-05-26T11:01+02:00")  # no answer by the response time
    assert re.search(r"MB-000001\s+escalated critical OVERDUE", text) and row["overdue"] is True
    assert "overdue: yes" in cli(
        capsys, "tickets", "show", "mb-1", *config, "--now", "2026-05-26T11:01+02:00"
    )

    assert (
        main(
            ["tickets", "reply", "1", "-m", "Wir arbeiten daran.", *config, "--now", "2026-05-26T11:05+02:00"]
        )
        == 0
    )
    _, row = listed("2026-05-26T11:10+02:00")  # answered late, but answered: the resolution is not due yet
    assert row["overdue"] is False
    _, row = listed("2026-05-27T09:01+02:00")  # eight business hours later: not solved
    assert row["overdue"] is True
    assert main(["tickets", "resolve", "mb-000001", "-m", "Behoben.", *config]) == 0
    text, row = listed("2026-05-27T09:02+02:00")
    assert row["state"] == "solved" and row["overdue"] is False and "OVERDUE" not in text


def test_references_are_accepted_as_people_type_them(bot: Bot, capsys) -> None:
    report(bot, "2026-05-26T09:00+02:00")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    config = ["--config", str(bot.config)]
    for typed in ("MB-000001", "mb-1", "Mb-0001", "1", "000001", "[MB-000001]", " mb-000001 "):
        shown = json.loads(cli(capsys, "tickets", "show", typed, "--json", *config))
        assert shown["reference"] == "MB-000001", typed
    assert "no ticket 'MB-2'" in cli(capsys, "tickets", "show", "MB-2", *config, expect=1)
    assert "no ticket 'PF-1'" in cli(capsys, "tickets", "show", "PF-1", *config, expect=1)
    assert "not a ticket reference" in cli(capsys, "tickets", "show", "eins", *config, expect=1)
    assert "no ticket" in cli(capsys, "tickets", "reply", "7", "-m", "x", *config, expect=1)

    # a bare number that two prefixes share (hand-made here: the numbering never does it) is refused
    report(bot, "2026-05-26T09:10+02:00", subject="Noch ein Absturz", body=OUTAGE + " Schon wieder.")
    bot.run_once("--now", "2026-05-26T09:11+02:00")
    with bot.db.begin() as session:
        session.execute(update(Ticket).where(Ticket.reference == "MB-000002").values(reference="PF-000001"))
    assert "ambiguous" in cli(capsys, "tickets", "show", "1", *config, expect=1)
    assert (
        json.loads(cli(capsys, "tickets", "show", "pf-1", "--json", *config))["subject"] == "Noch ein Absturz"
    )


def test_read_only_commands_need_no_password_and_load_no_model(
    bot: Bot, tmp_path: Path, capsys, monkeypatch
) -> None:
    report(bot, "2026-05-26T09:00+02:00")
    bot.deliver(b"Subject: kaputt \x1b[31mrot\xe2\x80\xae\r\n\r\nkein Absender, keine Header")
    bot.run_once("--now", "2026-05-26T09:01+02:00")
    [quarantined] = [row.id for row in bot.inbound() if row.state == "quarantined"]

    # the same installation as an operator without the passwords sees it, with a model dir that is absent
    no_model = tmp_path / "absent-model"
    text = bot.config.read_text(encoding="utf-8")
    assert 'password = "secret"\n' in text
    reader = tmp_path / "reader" / "mailbot.toml"
    reader.parent.mkdir()
    reader.write_text(
        re.sub(r'model_dir = ".*"', f'model_dir = "{no_model}"', text.replace('password = "secret"\n', "")),
        encoding="utf-8",
    )
    monkeypatch.delenv("MAILBOT_IMAP_PASSWORD", raising=False)
    monkeypatch.delenv("MAILBOT_SMTP_PASSWORD", raising=False)
    config = ["--config", str(reader)]

    assert json.loads(cli(capsys, "status", "--json", *config))["tickets"] == {"escalated": 1}
    assert "mailbox default" in cli(capsys, "status", *config)
    assert "MB-000001" in cli(capsys, "tickets", "list", *config)
    assert json.loads(cli(capsys, "tickets", "list", "--json", *config))[0]["reference"] == "MB-000001"
    assert "Niemand kann mehr Kurse buchen" in cli(capsys, "tickets", "show", "mb-1", *config)
    listing = cli(capsys, "quarantine", "list", *config)
    assert f"#{quarantined}" in listing
    shown = cli(capsys, "quarantine", "show", str(quarantined), *config)
    assert "Subject: kaputt \\x1b[31mrot\\u202e" in shown
    assert_terminal_safe(listing + shown)
    assert json.loads(cli(capsys, "quarantine", "list", "--json", *config))[0]["id"] == quarantined
    assert not no_model.exists()  # nothing was loaded or trained
    assert not list(reader.parent.glob("model*"))

    # writing to the customer still needs the configured mail accounts
    out = cli(capsys, "tickets", "reply", "mb-1", "-m", "Hallo", *config, expect=2)
    assert "MAILBOT_IMAP_PASSWORD" in out


def test_closed_mailbox_says_until_when_and_what_waits_and_status_shows_unsent_mail(
    tmp_path: Path, dovecot: DovecotServer, imap_user: str, smtp_sink: SmtpSink, capsys, caplog
) -> None:
    bot = make_bot(tmp_path, dovecot, imap_user, smtp_sink, hours=HOURS + 'outside_hours = "acknowledge"\n')
    for number in range(3):
        report(bot, f"2026-12-05T09:0{number}+01:00", subject=f"Frage {number}", body=f"Eine Frage {number}.")
    smtp_sink.fail_next(451, count=3)  # the out-of-hours notes cannot leave yet
    saturday = ["--now", "2026-12-05T10:00+01:00"]
    with caplog.at_level(logging.INFO, logger="mailbot"):
        bot.run_once(*saturday)
    assert "mailbox closed until Mon 7 Dec 08:00 CET, 3 mails waiting" in caplog.text

    config = ["--config", str(bot.config), *saturday]
    text = cli(capsys, "status", *config)
    assert "closed until Mon 7 Dec 08:00 CET, 3 mails waiting" in text
    assert "not yet sent:" in text and "(out_of_hours) to erika@kunde.example: attempt 1 failed" in text
    assert "last error: 451 4.0.0 simulated temporary failure" in text

    status = json.loads(cli(capsys, "status", "--json", *config))
    for key in ("mailbox", "inbound", "outcomes", "tickets", "outbox", "escalation_jobs", "sla_breached"):
        assert key in status  # the keys other tools read are all still there
    assert status["inbound"] == {"received": 3} and status["outbox"] == {"pending": 3}
    assert status["quarantined"] == [] and status["failed"] == []
    assert status["open"] is False and status["waiting"] == 3
    assert status["next_opening"] == "2026-12-07T08:00+01:00"
    pending = status["pending_outbox"]
    assert [item["mail_kind"] for item in pending] == ["out_of_hours"] * 3
    assert all(item["attempts"] == 1 and "451" in item["last_error"] for item in pending)
    assert all(
        datetime.fromisoformat(item["next_attempt_at"]) > datetime.fromisoformat(saturday[1])
        for item in pending
    )

    # Monday: open, the backlog is decided, the notes go out
    monday = ["--now", "2026-12-07T08:30+01:00"]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="mailbot"):
        bot.run_once(*monday)
    assert "mailbox closed" not in caplog.text
    status = json.loads(cli(capsys, "status", "--json", "--config", str(bot.config), *monday))
    assert status["open"] is True and status["next_opening"] is None and status["waiting"] == 0
    assert status["pending_outbox"] == []


def test_waiting_mode_says_that_new_mail_stays_in_the_mailbox(bot: Bot, capsys) -> None:
    report(bot, "2026-12-05T09:00+01:00")
    bot.run_once("--now", "2026-12-05T10:00+01:00")
    text = cli(capsys, "status", "--config", str(bot.config), "--now", "2026-12-05T10:00+01:00")
    assert (
        "closed until Mon 7 Dec 08:00 CET, 0 mails waiting (new mail stays in the mailbox until then)" in text
    )
