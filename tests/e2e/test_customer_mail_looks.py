"""Issue 10 over the wire: how customer mails look (Markdown, greetings) and how a person's reply
from `mailbot tickets reply/resolve` is marked, as received by the SMTP sink."""

from __future__ import annotations

import pytest

from mailbot.cli import main
from tests.e2e import conftest
from tests.e2e.conftest import SUPPORT, TEAM, Bot, make_mail, parse

pytestmark = pytest.mark.servers
CUSTOMER = "katrin.mueller@kunde.example"
PASSWORD_QUESTION = (
    "Hallo,\n\nich habe mein Passwort vergessen und komme nicht mehr in mein Konto. "
    "Wie kann ich es zurücksetzen?\n\nViele Grüße\nKatrin Müller\n"
)
CRASH_REPORT = (
    "Guten Tag,\n\nseit dem letzten Update stürzt die App beim Öffnen sofort ab. "
    "Ich habe das Handy schon neu gestartet, es hilft nichts.\n\nGruß\nHans Meier\n"
)
AUTOMATIC_HEADERS = ("Auto-Submitted", "X-Auto-Response-Suppress", "Precedence")


def text_of(raw: bytes) -> str:
    return conftest.text_of(raw).replace("\r\n", "\n")  # base64 parts keep their CRLF line ends


def html_of(raw: bytes) -> str:
    body = parse(raw).get_body(("html",))
    assert body is not None
    return body.get_content().replace("\r\n", "\n")


def test_kb_answer_greets_by_name_and_its_text_part_shows_no_markdown(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", PASSWORD_QUESTION, name='"Müller, Katrin"'))
    bot.run_once()

    [answer] = bot.sent_to(CUSTOMER)
    text = text_of(answer)
    assert text.startswith("Guten Tag Katrin Müller,\n")
    assert "Passwort vergessen?" in text  # the article's words ...
    assert "**" not in text and "](" not in text  # ... without its Markdown syntax
    assert "<strong>Passwort vergessen?</strong>" in html_of(answer)
    assert ">Guten Tag Katrin Müller,</p>" in html_of(answer)
    assert parse(answer)["Auto-Submitted"] == "auto-replied"  # automatic mail stays marked


def test_contact_form_answer_greets_the_person_in_reply_to(tmp_path, dovecot, imap_user, smtp_sink):
    support = 'form_senders = ["noreply@shop.example"]'  # issue 11: only a configured form's Reply-To counts
    config = conftest.write_config(tmp_path / "mailbot.toml", dovecot, imap_user, smtp_sink, support=support)
    bot = Bot(dovecot, imap_user, smtp_sink, config)
    form = make_mail(
        "noreply@shop.example",
        "Passwort vergessen",
        PASSWORD_QUESTION,
        name="Kontaktformular",
        headers={"Reply-To": "Katrin Müller <katrin@kunde.example>"},
    )
    bot.deliver(form)
    bot.run_once()

    [answer] = bot.sent_to("katrin@kunde.example")
    assert text_of(answer).startswith("Guten Tag Katrin Müller,\n")
    assert not bot.sent_to("noreply@shop.example")
    [ticket] = bot.tickets()
    assert ticket.customer_name == "Katrin Müller"  # later agent replies greet her too
    assert ticket.customer == "katrin@kunde.example"  # ... and go to her


def test_agent_reply_and_resolve_are_a_persons_mail_signed_by_the_agent(bot: Bot):
    bot.deliver(make_mail(CUSTOMER, "App stürzt ab", CRASH_REPORT, name="MEIER HANS"))
    bot.run_once()
    [ack] = bot.sent_to(CUSTOMER)
    assert parse(ack)["Auto-Submitted"] == "auto-replied"
    assert text_of(ack).startswith("Guten Tag Hans Meier,\n")
    config = ["--config", str(bot.config)]

    message = "Welche App-Version nutzen Sie?\r\n\r\n\r\nEin **Screenshot** hilft uns auch."
    assert main(["tickets", "reply", "MB-000001", "-m", message, "--agent", "Katrin Berger", *config]) == 0
    assert (
        main(
            [
                "tickets",
                "resolve",
                "MB-000001",
                "-m",
                "Behoben in 2.3.1.",
                "--agent",
                "Katrin Berger",
                *config,
            ]
        )
        == 0
    )

    reply, solved = bot.sent_to(CUSTOMER)[1:]
    for raw in (reply, solved):
        mail = parse(raw)
        for header in AUTOMATIC_HEADERS:
            assert header not in mail, header
        assert mail["X-Loop"] == SUPPORT and mail["In-Reply-To"]
        text, html = text_of(raw), html_of(raw)
        assert text.startswith("Guten Tag Hans Meier,\n")
        assert "Mit freundlichen Grüßen\nKatrin Berger\nAktivo Support\n" in text
        assert "Katrin Berger<br>Aktivo Support" in html
        assert "automatisch" not in text and "automatisch" not in html
    assert "Welche App-Version nutzen Sie?\n\nEin **Screenshot** hilft uns auch.\n" in text_of(reply)
    assert "<p>Welche App-Version nutzen Sie?</p>\n<p>Ein **Screenshot** hilft uns auch.</p>" in html_of(
        reply
    )
    assert "Behoben in 2.3.1." in text_of(solved) and "MB-000001 abgeschlossen" in text_of(solved)
    assert len(bot.sent_to(TEAM)) == 1  # the notice of the new ticket; agent actions mail the customer only
