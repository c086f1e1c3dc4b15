"""Issue 10: a person's reply (an agent's answer or solution) reads and is marked as one, and an
agent's text shows the same paragraphs in both parts of every mail that carries it."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from mailbot.domain import Language
from mailbot.reply.agent_text import (
    closes_itself,
    opens_with_greeting,
    paragraphs_to_html,
    paragraphs_to_text,
)
from mailbot.reply.render import PERSONAL_KINDS, TemplateRenderer, is_personal
from tests.unit.test_reply_render import TEMPLATES, customer_context

AUTOMATIC = ("automatisch", "automatically", "automatic")


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


# --- the agent's text: one set of paragraphs for both parts ---------------------------------------

MESSAGES = [
    "Bitte senden Sie uns einen Screenshot.",
    "Erste Zeile\r\nzweite Zeile\r\n\r\n\r\n\r\nNeuer Absatz  \r\n",
    "\n\n  eingerückt bleibt eingerückt\n\t\nEnde\n\n",
    "Klicken Sie auf **Parken beenden**.\n\n# Keine Überschrift\n- kein Listenpunkt\n[kein](link)",
    "Oben\n-- \nkeine Signatur, nur ein Strich",
    "Template {{ 7*7 }} {% raw %} und <b>HTML</b> & Co.",
    "Zeile mit Mac-Umbruch\rnoch eine",
]


def paragraphs_of_html(html: str) -> list[list[str]]:
    blocks = re.findall(r"<p>(.*?)</p>", html, flags=re.DOTALL)
    return [[html_lib.unescape(line) for line in block.split("<br>\n")] for block in blocks]


def paragraphs_of_text(text: str) -> list[list[str]]:
    return [block.split("\n") for block in text.split("\n\n")] if text else []


@pytest.mark.parametrize("message", MESSAGES)
def test_agent_text_has_the_same_paragraphs_and_line_breaks_in_both_parts(message):
    text, html = paragraphs_to_text(message), paragraphs_to_html(message)
    assert paragraphs_of_text(text) == paragraphs_of_html(html)
    assert "\r" not in text and "\n\n\n" not in text
    assert not any(line != line.rstrip() for line in text.split("\n"))  # no "-- " signature line


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", PERSONAL_KINDS)
@pytest.mark.parametrize("message", MESSAGES)
def test_mails_show_the_agent_text_as_written_in_both_parts(renderer, kind, language, message):
    out = renderer.render(kind, language, customer_context(message=message))
    assert f"\n\n{paragraphs_to_text(message)}\n\n" in out.text
    assert str(paragraphs_to_html(message)) in out.html
    assert "49" not in out.text + out.html


# --- a person's reply -----------------------------------------------------------------------------

SIGN_OFF = {
    Language.DE: "Mit freundlichen Grüßen\nKatrin Berger\nIhr Support-Team der Beispiel GmbH\n\n-- \n",
    Language.EN: "Kind regards\nKatrin Berger\nIhr Support-Team der Beispiel GmbH\n\n-- \n",
}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", PERSONAL_KINDS)
def test_a_human_reply_has_no_automatic_footer_and_is_signed_by_the_agent(renderer, kind, language):
    ctx = customer_context(message="Der Export läuft wieder.", agent_name="Katrin Berger")
    out = renderer.render(kind, language, ctx)

    assert out.personal and is_personal(kind, ctx)
    for word in AUTOMATIC:
        assert word not in out.text.lower() and word not in out.html.lower()
    assert SIGN_OFF[language] in out.text
    assert "Katrin Berger<br>Ihr Support-Team der Beispiel GmbH</p>" in out.html
    assert "[MB-000123]" in out.text.split("\n-- \n")[1]  # the footer still asks to keep the reference
    assert "MB-000123" in out.html


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", PERSONAL_KINDS)
@pytest.mark.parametrize("message", ["", "  \n "])
def test_without_a_message_the_mail_is_an_automatic_notice(renderer, kind, language, message):
    out = renderer.render(kind, language, customer_context(message=message, agent_name="Katrin Berger"))
    assert not out.personal
    assert any(word in out.text for word in AUTOMATIC)
    assert "Katrin Berger" not in out.text + out.html  # an automatic notice is not signed by a person


@pytest.mark.parametrize(
    ("kind", "context"),
    [
        ("answer", {"article_markdown": "Text"}),
        ("acknowledgement", {}),
        ("followup_received", {}),
        ("status", {"state": "escalated", "responded": False}),
    ],
)
def test_automatic_kinds_are_never_personal(renderer, kind, context):
    ctx = customer_context(message="Von einer Person?", agent_name="Katrin Berger", **context)
    out = renderer.render(kind, Language.DE, ctx)
    assert not out.personal and not is_personal(kind, ctx)
    assert "Katrin Berger" not in out.text + out.html


def test_without_agent_name_the_support_name_signs(renderer):
    out = renderer.render("agent_reply", Language.DE, customer_context(message="Hallo?"))
    assert "Mit freundlichen Grüßen\nIhr Support-Team der Beispiel GmbH\n\n-- \n" in out.text
    assert out.personal


@pytest.mark.parametrize(
    ("agent_name", "signed"),
    [
        ("  Katrin\n Berger ", "Katrin Berger"),
        ("k.berger@aktivo.example", None),  # Jira falls back to the e-mail address: no name then
        ("", None),
    ],
)
def test_agent_name_is_one_line_and_never_an_address(renderer, agent_name, signed):
    out = renderer.render("solved", Language.EN, customer_context(message="Fixed.", agent_name=agent_name))
    expected = f"Kind regards\n{signed}\n" if signed else "Kind regards\nIhr Support-Team"
    assert expected in out.text
    assert "@aktivo" not in out.text + out.html


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", PERSONAL_KINDS)
def test_a_message_with_its_own_greeting_is_not_greeted_twice(renderer, kind, language):
    message = "Hallo Frau Müller,\n\nder Export läuft wieder.\n\nViele Grüße\nKatrin"
    out = renderer.render(kind, language, customer_context(message=message))
    assert out.text.startswith("Hallo Frau Müller,\n\nder Export läuft wieder.")
    assert "Guten Tag" not in out.text + out.html and "Hello" not in out.text + out.html
    plain = renderer.render(kind, language, customer_context(message="Der Export läuft wieder."))
    assert plain.text.startswith(("Guten Tag Erika Müller,\n\n", "Hello Erika Müller,\n\n"))


@pytest.mark.parametrize(
    ("message", "greets"),
    [
        ("Hallo Frau Müller,\n\nText", True),
        ("Sehr geehrte Damen und Herren,\nText", True),
        ("Dear Erika,\n\nText", True),
        ("\n\nHi Erika!\nText", True),
        ("Hallo, das Update ist da.", False),
        ("Der Export läuft wieder.", False),
        ("", False),
    ],
)
def test_opens_with_greeting(message, greets):
    assert opens_with_greeting(message) is greets


FOOTER_NOTE = {
    ("agent_reply", Language.DE): "Der Vorgang bleibt offen. Wenn Sie antworten",
    ("agent_reply", Language.EN): "Your request stays open. If you reply",
    ("solved", Language.DE): "Ihr Anliegen ist gelöst und der Vorgang MB-000123 abgeschlossen.",
    ("solved", Language.EN): "Your request has been solved and we have closed request MB-000123.",
}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", PERSONAL_KINDS)
def test_a_message_with_its_own_closing_is_the_agents_letter(renderer, kind, language):
    """A Jira comment often is a whole letter: no second closing, and the state goes to the footer."""
    message = "Dear Ms Müller,\n\nthe fix is live.\n\nBest regards,\nKatrin Berger"
    out = renderer.render(kind, language, customer_context(message=message, agent_name="Katrin Berger"))
    body, footer = out.text.split("\n-- \n")
    assert body == paragraphs_to_text(message) + "\n"
    assert FOOTER_NOTE[kind, language] in footer
    assert "Mit freundlichen Grüßen" not in out.html and "Kind regards" not in out.html
    assert out.html.count("Katrin Berger") == 1  # the agent's own signature only
    assert FOOTER_NOTE[kind, language] in out.html


@pytest.mark.parametrize(
    ("message", "closes"),
    [
        ("Der Export läuft wieder.\n\nViele Grüße\nKatrin", True),
        ("Fixed.\n\nBest regards,\nKatrin Berger\nAktivo Support", True),
        ("Behoben.\nGruß", True),
        ("Der Fehler ist behoben.\nBitte aktualisieren Sie die App.", False),
        ("Welche Version nutzen Sie?\n\nDanke!", False),  # a last "Danke!" is text, not a closing
        ("", False),
    ],
)
def test_closes_itself(message, closes):
    assert closes_itself(message) is closes
