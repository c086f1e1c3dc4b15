"""Rendering of every mail kind in de and en from the real templates/ directory."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import FileSystemLoader, UndefinedError
from markupsafe import Markup

from mailbot.domain import Language
from mailbot.errors import ConfigError
from mailbot.reply import render
from mailbot.reply.render import KINDS, REQUIRED_KEYS, Rendered, TemplateRenderer, markdown_to_html

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
EVIL = "<script>alert('x')</script> {{ 7*7 }} {% raw %} ${7*7}"

ARTICLE = """So setzen Sie Ihr Passwort zurück:

1. Öffnen Sie die **Anmeldeseite**.
2. Klicken Sie auf `Passwort vergessen`.
3. Folgen Sie dem Link in der E-Mail ([Hilfe](https://help.example.com/passwort)).
"""


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


def customer_context(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000123",
        "subject": "AW: Passwort vergessen",
        "customer_name": "Erika Müller",
        "support_name": "Ihr Support-Team der Beispiel GmbH",
        **extra,
    }


def team_context(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000123",
        "customer": "Erika Müller <erika@example.com>",
        "subject": "Export bricht ab",
        "reason": "classifier below threshold (0.41 < 0.60)",
        "language": Language.DE,
        "ranking": [("export-csv", 0.41), ("password-reset", 0.12)],
        "rule_hits": [("limits", "third mail from this sender today")],
        "body_excerpt": "Hallo,\nder Export bricht bei 80 % ab.\nGruß Erika",
        "event": "new",
        **extra,
    }


DUE = datetime(2026, 5, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))

CONTEXTS = {
    "answer": customer_context(article_markdown=ARTICLE),
    "acknowledgement": customer_context(),
    "followup_received": customer_context(),
    "solved": customer_context(message="Der Export läuft wieder."),
    "agent_reply": customer_context(message="Bitte senden Sie uns einen Screenshot."),
    "status": customer_context(state="escalated", responded=False),
    "out_of_hours": {
        "subject": "AW: Passwort vergessen",
        "customer_name": "Erika Müller",
        "support_name": "Ihr Support-Team der Beispiel GmbH",
        "next_opening": DUE,
    },
    "team_notice": team_context(),
    "sla_alert": {
        "reference": "MB-000123",
        "customer": "Erika Müller <erika@example.com>",
        "subject": "Export bricht ab",
        "language": Language.DE,
        "severity": "major",
        "response_due": DUE,
        "share_used": 0.8,
        "breached": False,
    },
    "delivery_failed": {
        "reference": "MB-000123",
        "recipient": "erika@example.com",
        "subject": "Re: Export bricht ab [MB-000123]",
        "error": "550 5.1.1 <erika@example.com>: Recipient address rejected",
    },
    "oncall_alert": {
        "reference": "MB-000123",
        "customer": "erika@example.com",
        "subject": "App stürzt ab",
        "severity": "critical",
        "response_due": DUE,
        "body_excerpt": "Seit heute Abend stürzt die App bei allen ab.",
    },
    "erasure_closed": {"reference": "MB-000123", "external_key": "SUP-12"},
    "jira_erasure_refused": {"reference": "MB-000123", "external_key": "SUP-12", "http_status": 403},
    "agent_reply_refused": {
        "reference": "MB-000123",
        "sender": "someone@elsewhere.example",
        "subject": "AW: [MB-000123] Neues Ticket",
        "reason": "not in [team] members: nothing was sent to the customer",
    },
    "review_ticket": {
        "reference": "MB-000123",
        "store_name": "App Store",
        "app_name": "Aktivo Fitness",
        "rating": 1,
        "review_number": "R12",
        "review_title": "Stürzt ab",
        "review_body": "Seit dem Update stürzt die App beim Start ab.",
        "language": "de",
        "reason": "a crash report: passed on to the 2nd level",
    },
    "reviews_digest": {
        "support_name": "Aktivo Support",
        "drafts": [],
        "persons": [],
        "failed": [
            {"number": "R9", "store_name": "App Store", "app_name": "Aktivo", "error": "409 conflict"}
        ],
    },
    "reviews_polling_failed": {
        "store_name": "Google Play",
        "app_name": "Aktivo Fitness",
        "app_id": "de.aktivo.fitness",
        "since": DUE,
        "days": 3.2,
        "error": "403 PERMISSION_DENIED",
        "fix": "Invite the service account in Play Console.",
    },
}
# sent before a ticket exists, or about no ticket at all
NO_REFERENCE_KINDS = ("out_of_hours", "reviews_digest", "reviews_polling_failed")


def test_every_kind_has_a_test_context():
    assert set(CONTEXTS) == set(KINDS)


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_renders_in_both_languages(renderer, kind, language):
    out = renderer.render(kind, language, CONTEXTS[kind])

    assert isinstance(out, Rendered)
    assert "\n" not in out.subject and "\r" not in out.subject
    if kind in NO_REFERENCE_KINDS:
        assert "MB-" not in out.subject + out.text + out.html
    else:
        assert "[MB-000123]" in out.subject
        assert "MB-000123" in out.text and "MB-000123" in out.html
    assert out.text.endswith("\n") and not out.text.startswith("\n")
    assert out.html.startswith("<!DOCTYPE html>")
    assert f'<html lang="{language.value}">' in out.html
    assert "{{" not in out.text + out.html and "{%" not in out.text + out.html


@pytest.mark.parametrize("kind", render.CUSTOMER_KINDS)
def test_customer_mails_are_polite_replies_in_the_thread(renderer, kind):
    de = renderer.render(kind, Language.DE, CONTEXTS[kind])
    en = renderer.render(kind, Language.EN, CONTEXTS[kind])

    expected = (
        "Re: Passwort vergessen" if kind in NO_REFERENCE_KINDS else "Re: Passwort vergessen [MB-000123]"
    )
    assert de.subject == en.subject == expected
    assert de.text.startswith("Guten Tag Erika Müller,\n")
    assert " Sie " in de.text and " Ihre" in de.text
    assert " du " not in de.text.lower() and " dein" not in de.text.lower()
    assert "Mit freundlichen Grüßen\nIhr Support-Team der Beispiel GmbH\n" in de.text
    assert en.text.startswith("Hello Erika Müller,\n")
    assert "Kind regards\nIhr Support-Team der Beispiel GmbH\n" in en.text
    for out in (de, en):
        assert "\n-- \n" in out.text  # signature delimiter: clients leave the footer out of replies
        assert "Ihr Support-Team der Beispiel GmbH" in out.html


def test_customer_greeting_without_name(renderer):
    ctx = customer_context()
    del ctx["customer_name"]
    assert renderer.render("acknowledgement", Language.DE, ctx).text.startswith("Guten Tag,\n")
    assert renderer.render("acknowledgement", Language.EN, ctx).text.startswith("Hello,\n")


def test_empty_subject_uses_language_fallback(renderer):
    ctx = customer_context(subject="", article_markdown=ARTICLE)
    assert renderer.render("answer", Language.DE, ctx).subject == "Re: Ihre Anfrage [MB-000123]"
    assert renderer.render("answer", Language.EN, ctx).subject == "Re: Your request [MB-000123]"


def test_answer_contains_the_article_and_how_to_reach_a_human(renderer):
    de = renderer.render("answer", Language.DE, CONTEXTS["answer"])
    en = renderer.render("answer", Language.EN, CONTEXTS["answer"])

    assert "1. Öffnen Sie die Anmeldeseite." in de.text  # issue 10: no Markdown syntax in text
    assert "(Hilfe <https://help.example.com/passwort>)" in de.text
    assert "**" not in de.text and "](" not in de.text
    assert "<strong>Anmeldeseite</strong>" in de.html
    assert '<a href="https://help.example.com/passwort">Hilfe</a>' in de.html
    assert "antworten Sie einfach auf diese E-Mail" in de.text
    assert "Vorgangsnummer MB-000123" in de.text
    assert "automatische Antwort" in de.text and "automatische Antwort" in de.html
    assert "simply reply to this e-mail" in en.text
    assert "automatic answer" in en.text and "automatic answer" in en.html


def test_answer_shows_the_article_title_when_given(renderer):
    ctx = {**CONTEXTS["answer"], "article_title": "Passwort zurücksetzen & <entsperren>"}
    out = renderer.render("answer", Language.DE, ctx)
    assert "weiterhelfen:\n\nPasswort zurücksetzen & <entsperren>\n\nSo setzen Sie" in out.text
    assert "Passwort zurücksetzen &amp; &lt;entsperren&gt;</p>" in out.html
    assert "weiterhelfen:\n\nSo setzen Sie" in renderer.render("answer", Language.DE, CONTEXTS["answer"]).text


def test_acknowledgement_explains_next_steps(renderer):
    de = renderer.render("acknowledgement", Language.DE, CONTEXTS["acknowledgement"])
    en = renderer.render("acknowledgement", Language.EN, CONTEXTS["acknowledgement"])

    assert "unter der Vorgangsnummer MB-000123 erfasst" in de.text
    assert "in diesem E-Mail-Verlauf" in de.text
    assert "Vorgangsnummer [MB-000123] im Betreff" in de.text
    assert "voraussichtlich" not in de.text and "spätestens" not in de.text  # no time without an SLA
    assert "so bald wie möglich" in de.text
    assert "Einschätzung" not in de.text  # no severity: a question or wish
    assert "Wissensdatenbank" not in de.text  # no interim hint given
    assert "logged your request under reference MB-000123" in en.text
    assert "aim to reply" not in en.text and "at the latest" not in en.text
    assert "as soon as possible" in en.text


def test_acknowledgement_with_interim_hint_and_due_time(renderer):
    ctx = customer_context(
        interim_markdown="Starten Sie die App **neu**.", due_text="Dienstag, 14. Mai, 12:00 Uhr"
    )
    de = renderer.render("acknowledgement", Language.DE, ctx)
    en = renderer.render("acknowledgement", Language.EN, {**ctx, "due_text": "Tuesday, 14 May, 12:00"})

    assert "voraussichtlich bis Dienstag, 14. Mai, 12:00 Uhr." in de.text
    assert "Starten Sie die App neu." in de.text and "**" not in de.text  # Markdown as clean text
    assert "Starten Sie die App <strong>neu</strong>." in de.html
    assert "(we aim to reply by Tuesday, 14 May, 12:00)" in en.text
    assert "<strong>neu</strong>" in en.html


@pytest.mark.parametrize("interim", [None, ""])
def test_acknowledgement_empty_interim_hint_is_left_out(renderer, interim):
    out = renderer.render("acknowledgement", Language.DE, customer_context(interim_markdown=interim))
    assert "Hinweis aus unserer Wissensdatenbank" not in out.text + out.html


def test_followup_received(renderer):
    de = renderer.render("followup_received", Language.DE, CONTEXTS["followup_received"])
    en = renderer.render("followup_received", Language.EN, CONTEXTS["followup_received"])
    assert "Ihrem Vorgang MB-000123 hinzugefügt" in de.text
    assert "added your message to your request MB-000123" in en.text


@pytest.mark.parametrize("language", list(Language))
def test_team_notice_lists_what_the_team_needs(renderer, language):
    out = renderer.render("team_notice", language, team_context())
    point = "," if language == Language.DE else "."  # decimals as the team's language writes them

    for needle in (
        "Erika Müller <erika@example.com>",
        "Export bricht ab",
        "classifier below threshold (0.41 < 0.60)",
        f"export-csv (0{point}41)",
        f"password-reset (0{point}12)",
        "limits: third mail from this sender today",
        "> der Export bricht bei 80 % ab.",
        "original.eml",
    ):
        assert needle in out.text
    assert "Erika Müller &lt;erika@example.com&gt;" in out.html
    assert f"<code>export-csv</code> (0{point}41)" in out.html


def test_team_notice_subjects_and_events(renderer):
    new_de = renderer.render("team_notice", Language.DE, team_context())
    new_en = renderer.render("team_notice", Language.EN, team_context())
    follow_de = renderer.render("team_notice", Language.DE, team_context(event="follow_up"))
    follow_en = renderer.render("team_notice", Language.EN, team_context(event="follow_up", subject=""))

    assert new_de.subject == "[MB-000123] Neues Ticket: Export bricht ab"
    assert new_en.subject == "[MB-000123] New ticket: Export bricht ab"
    assert follow_de.subject == "[MB-000123] Kundenantwort: Export bricht ab"
    assert follow_en.subject == "[MB-000123] Customer reply: (no subject)"
    assert "Kundenantwort zu Ticket MB-000123" in follow_de.text


def test_team_notice_of_an_unverified_sender_says_so_first(renderer):
    """Issue 11: a follow-up the receiving server could not verify is flagged, in subject and opening."""
    de = renderer.render("team_notice", Language.DE, team_context(event="unverified_follow_up"))
    en = renderer.render("team_notice", Language.EN, team_context(event="unverified_follow_up"))
    assert de.subject == "[MB-000123] Absender nicht bestätigt: Export bricht ab"
    assert en.subject == "[MB-000123] Sender not verified: Export bricht ab"
    assert de.text.startswith("ABSENDER NICHT BESTÄTIGT: Eine Nachricht zu Ticket MB-000123")
    assert en.text.startswith("SENDER NOT VERIFIED: a message about ticket MB-000123")
    assert "<strong>Absender nicht bestätigt</strong>" in de.html
    assert "<strong>Sender not verified</strong>" in en.html
    assert "Kundenantwort zu Ticket" not in de.text


def test_team_notice_without_ranking_or_rule_hits(renderer):
    out = renderer.render("team_notice", Language.EN, team_context(ranking=[], rule_hits=()))
    assert "Rule hits:\n- none\n" in out.text
    assert "(article, confidence):\n- none\n" in out.text


def test_team_notice_rejects_unknown_event(renderer):
    with pytest.raises(ValueError, match="event"):
        renderer.render("team_notice", Language.DE, team_context(event="closed"))


# --- customer text is data -------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(Language))
def test_customer_text_is_escaped_in_html_and_verbatim_in_text(renderer, language):
    ctx = team_context(subject=EVIL, body_excerpt=EVIL, customer=EVIL, reason=EVIL)
    out = renderer.render("team_notice", language, ctx)

    assert "<script>" not in out.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in out.html
    assert "{{ 7*7 }} {% raw %} ${7*7}" in out.html
    assert EVIL in out.text
    assert EVIL in out.subject
    assert "49" not in out.text + out.html + out.subject


@pytest.mark.parametrize("kind", render.CUSTOMER_KINDS)
def test_customer_name_and_subject_are_data(renderer, kind):
    # issue 10: a display name that is no person's name greets neutrally instead of as written
    ctx = {**CONTEXTS[kind], "customer_name": EVIL, "subject": EVIL}
    out = renderer.render(kind, Language.DE, ctx)

    assert "<script>" not in out.html
    assert out.text.startswith("Guten Tag,\n")
    named = renderer.render(kind, Language.DE, {**ctx, "customer_name": '"Erika Müller" <b>{{ 7*7 }}</b>'})
    assert named.text.startswith("Guten Tag Erika Müller,\n") and "<b>" not in named.html
    assert out.subject == (f"Re: {EVIL}" if kind in NO_REFERENCE_KINDS else f"Re: {EVIL} [MB-000123]")
    assert "49" not in out.text + out.html + out.subject


def test_subject_with_line_breaks_comes_out_as_one_line(renderer):
    ctx = team_context(subject="Hallo\r\nBcc: victim@example.com")
    assert renderer.render("team_notice", Language.DE, ctx).subject == (
        "[MB-000123] Neues Ticket: Hallo Bcc: victim@example.com"
    )


# --- context contract ------------------------------------------------------------------------------


@pytest.mark.parametrize(("kind", "key"), [(k, key) for k in KINDS for key in sorted(REQUIRED_KEYS[k])])
def test_every_required_key_is_required(renderer, kind, key):
    ctx = dict(CONTEXTS[kind])
    del ctx[key]
    with pytest.raises(UndefinedError, match=key):
        renderer.render(kind, Language.DE, ctx)


def test_context_keys_are_documented_in_the_module_docstring():
    for kind, keys in REQUIRED_KEYS.items():
        assert kind in render.__doc__
        for key in keys | render.OPTIONAL_DEFAULTS[kind].keys():
            assert key in render.__doc__


def test_unknown_kind_and_reserved_keys(renderer):
    with pytest.raises(ValueError, match="unknown mail kind"):
        renderer.render("closed", Language.DE, {})
    with pytest.raises(ValueError, match="lang"):
        renderer.render("acknowledgement", Language.DE, customer_context(lang="en"))


def test_language_given_as_string(renderer):
    assert renderer.render("acknowledgement", "en", customer_context()).text.startswith("Hello")  # type: ignore[arg-type]


# --- template directory checks ---------------------------------------------------------------------


@pytest.fixture
def template_copy(tmp_path: Path) -> Path:
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    return target


def test_missing_template_is_a_config_error_naming_the_file(template_copy):
    (template_copy / "answer.de.html.j2").unlink()
    (template_copy / "_customer.en.txt.j2").unlink()
    with pytest.raises(ConfigError) as info:
        TemplateRenderer(template_copy)
    message = str(info.value)
    assert "answer.de.html.j2" in message and "_customer.en.txt.j2" in message
    assert str(template_copy) in message
    assert "add the missing file" in message


def test_missing_template_directory_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        TemplateRenderer(tmp_path / "nope")


def test_template_syntax_error_is_a_config_error_with_line(template_copy):
    path = template_copy / "acknowledgement.en.txt.j2"
    path.write_text("line one\n{% if %}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"acknowledgement\.en\.txt\.j2:2"):
        TemplateRenderer(template_copy)


def test_a_template_edited_after_a_start_is_read_again_by_the_next_renderer(template_copy):
    # the compiled templates are shared within the process, by file and checked by the source's text
    context = customer_context()
    path = template_copy / "followup_received.en.txt.j2"
    first = TemplateRenderer(template_copy).render("followup_received", Language.EN, context).text
    path.write_text("Edited: {{ reference }}\n", encoding="utf-8")
    edited = TemplateRenderer(template_copy).render("followup_received", Language.EN, context).text
    assert first != edited and edited.startswith(f"Edited: {context['reference']}")
    path.write_text("line one\n{% if %}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"followup_received\.en\.txt\.j2:2"):
        TemplateRenderer(template_copy)


def test_the_html_and_text_environments_do_not_share_compiled_code(tmp_path):
    # autoescaping is compiled in: one file read by both must escape in one and not in the other
    loader = FileSystemLoader(tmp_path)
    for first in (False, True):  # either may have compiled the file first
        (tmp_path / "both.j2").write_text(f"{{{{ value }}}}{first}", encoding="utf-8")
        envs = {html: render.template_environment(loader, html=html) for html in (first, not first)}
        assert envs[False].get_template("both.j2").render(value="<b>") == f"<b>{first}"
        assert envs[True].get_template("both.j2").render(value="<b>") == f"&lt;b&gt;{first}"


def test_strict_undefined_inside_a_template(template_copy):
    path = template_copy / "followup_received.en.txt.j2"
    path.write_text("{{ reference }} {{ not_in_context }}\n", encoding="utf-8")
    with pytest.raises(UndefinedError, match=r"followup_received\.en\.txt\.j2.*not_in_context"):
        TemplateRenderer(template_copy).render("followup_received", Language.EN, customer_context())


def test_templates_cannot_reach_python_internals(template_copy):
    # The sandbox matters if a template is ever edited by someone less careful.
    from jinja2.exceptions import SecurityError

    (template_copy / "followup_received.en.txt.j2").write_text(
        "{{ reference.__class__.__mro__[1].__subclasses__() }}\n", encoding="utf-8"
    )
    with pytest.raises(SecurityError):
        TemplateRenderer(template_copy).render("followup_received", Language.EN, customer_context())


# --- markdown --------------------------------------------------------------------------------------


def test_markdown_to_html_basics():
    html = markdown_to_html("# Titel\n\nText mit **fett** und [Link](https://example.com/a?b=1&c=2).\n")
    assert isinstance(html, Markup)
    assert "<h1>Titel</h1>" in html
    assert "<strong>fett</strong>" in html
    assert '<a href="https://example.com/a?b=1&amp;c=2">Link</a>' in html


def test_markdown_raw_html_is_escaped_not_rendered():
    html = markdown_to_html(
        '<script>alert(1)</script>\n\n<img src=x onerror="alert(1)">\n\nok <b>inline</b>\n'
    )
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&lt;b&gt;inline&lt;/b&gt;" in html


def test_markdown_drops_dangerous_link_targets():
    html = markdown_to_html("[klick](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)\n")
    assert "href=" not in html  # left as plain text and 'href="data:text/html' not in html


def test_markdown_tables_and_code_get_inline_styles():
    html = markdown_to_html("| A | B |\n|---|--:|\n| 1 | 2 |\n\n```\ncode\n```\n\nund `inline`\n")
    assert '<table style="border-collapse:collapse;' in html
    assert '<td style="text-align:right;border:1px solid' in html
    assert '<pre><code style="display:block;' in html
    assert '<code style="background-color:#f4f5f7;' in html


def test_markdown_filter_accepts_none(renderer):
    out = renderer.render("acknowledgement", Language.EN, customer_context(interim_markdown=None))
    assert "None" not in out.text + out.html
