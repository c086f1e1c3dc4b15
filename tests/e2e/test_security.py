"""Customer text is data: never template code, escaped in HTML, never a header of ours unchecked."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import TEAM, Bot, make_mail, parse, text_of

pytestmark = pytest.mark.servers
CUSTOMER = "kunde@example.org"


def html_of(raw: bytes) -> str:
    part = parse(raw).get_body(("html",))
    assert part is not None
    return part.get_content()


def test_template_syntax_and_html_in_a_customer_mail_stay_inert(bot: Bot) -> None:
    subject = "{{ 7*7 }} {% raw %}<b>Absturz</b>{% endraw %}"
    body = "Die App stürzt ab. {{ config }} {{ ''.__class__ }} <script>alert(1)</script> {% for x in y %}"
    bot.deliver(make_mail(CUSTOMER, subject, body))
    bot.run_once()

    [ack] = bot.sent_to(CUSTOMER)
    ack_subject = parse(ack)["Subject"]
    assert "{{ 7*7 }}" in ack_subject and "49" not in ack_subject
    [notice] = bot.sent_to(TEAM)
    text, html = text_of(notice), html_of(notice)
    assert "{{ config }}" in text and "<script>alert(1)</script>" in text  # shown as written
    assert "<script>" not in html and "&lt;script&gt;" in html  # escaped in HTML
    assert "{% for x in y %}" in text
    assert "49" not in parse(notice)["Subject"] and "{{ 7*7 }}" in parse(notice)["Subject"]


def test_cr_lf_in_a_customer_subject_never_becomes_a_header(bot: Bot) -> None:
    raw = make_mail(CUSTOMER, "Hilfe", "Die App stürzt ab.").replace(
        b"Subject: Hilfe", b"Subject: =?utf-8?q?Hilfe=0D=0ABcc:_victim@example.net?="
    )
    bot.deliver(raw)
    bot.run_once()
    for sent in bot.sink.messages:
        assert "victim@example.net" not in sent.rcpt_tos
        assert parse(sent.data)["Bcc"] is None
