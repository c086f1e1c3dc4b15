"""Issue 4 mail kinds and filters: severity, due times, agent messages, status, SLA and delivery alerts."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from markupsafe import Markup

from mailbot.domain import Language, Severity, TicketState
from mailbot.errors import ConfigError
from mailbot.reply.render import (
    KINDS,
    TemplateRenderer,
    format_due_time,
    paragraphs_to_html,
    required_templates,
)

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2026, 5, 26, 10, 0, tzinfo=BERLIN)  # summer time: CEST
RESOLUTION = datetime(2026, 5, 28, 16, 30, tzinfo=BERLIN)
DUE_DE = "Dienstag, 26. Mai 2026, 10:00 Uhr"
DUE_EN = "Tuesday, 26 May 2026, 10:00 CEST"
RESOLUTION_DE = "Donnerstag, 28. Mai 2026, 16:30 Uhr"
RESOLUTION_EN = "Thursday, 28 May 2026, 16:30 CEST"
EVIL = "<script>alert('x')</script> {{ 7*7 }} {% raw %}"
EVIL_HTML = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; {{ 7*7 }} {% raw %}"

SEVERITY_WORDS = {
    Language.DE: {
        "critical": "kritisch – die App oder eine Kernfunktion ist für alle nicht nutzbar",
        "major": "schwerwiegend – eine wichtige Funktion ist eingeschränkt, ohne Umgehungsmöglichkeit",
        "minor": "leicht – eingeschränkt, aber mit Umgehungsmöglichkeit",
        "cosmetic": "Darstellungsfehler – nur die Anzeige ist betroffen",
    },
    Language.EN: {
        "critical": "critical – the app or a core function cannot be used by anyone",
        "major": "major – an important function is impaired and there is no workaround",
        "minor": "minor – impaired, but a workaround exists",
        "cosmetic": "cosmetic – only the display is affected",
    },
}
DUE_TEXT = {Language.DE: DUE_DE, Language.EN: DUE_EN}
RESOLUTION_TEXT = {Language.DE: RESOLUTION_DE, Language.EN: RESOLUTION_EN}
LANGUAGES = list(Language)


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


def customer(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000012",
        "subject": "App stürzt beim Login ab",
        "customer_name": "Erika Müller",
        "support_name": "Ihr Support-Team der Beispiel GmbH",
        **extra,
    }


def team(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000012",
        "customer": "erika@example.com",
        "subject": "App stürzt beim Login ab",
        "reason": "fault report: escalated",
        "language": "de",
        "ranking": [("login-problems", 0.38), ("app-update", 0.21)],
        "rule_hits": [],
        "body_excerpt": "Seit heute stürzt die App ab.",
        "event": "new",
        **extra,
    }


def sla(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000012",
        "customer": "erika@example.com",
        "subject": "App stürzt beim Login ab",
        "language": "de",
        "severity": Severity.CRITICAL,
        "response_due": DUE,
        "share_used": 0.8,
        "breached": False,
        **extra,
    }


def out_of_hours(**extra: object) -> dict[str, object]:
    return {
        "subject": "AW: App stürzt beim Login ab",
        "customer_name": "Erika Müller",
        "support_name": "Ihr Support-Team der Beispiel GmbH",
        "next_opening": DUE,
        **extra,
    }


def no_none_or_template_code(*texts: str) -> bool:
    joined = "".join(texts)
    return "None" not in joined and "{{" not in joined.replace("{{ 7*7 }}", "")


# --- filters -------------------------------------------------------------------------------------


def test_due_time_german_and_english():
    assert format_due_time(DUE, "de") == DUE_DE
    assert format_due_time(DUE, Language.EN) == DUE_EN
    winter = datetime(2026, 1, 5, 8, 5, tzinfo=BERLIN)
    assert format_due_time(winter, "de") == "Montag, 5. Januar 2026, 08:05 Uhr"
    assert format_due_time(winter, "en") == "Monday, 5 January 2026, 08:05 CET"


def test_due_time_keeps_the_zone_it_is_given():
    value = datetime(2026, 5, 26, 10, 0, tzinfo=UTC)  # not converted to Berlin time
    assert format_due_time(value, "de") == DUE_DE
    assert format_due_time(value, "en") == "Tuesday, 26 May 2026, 10:00 UTC"


def test_due_time_none_naive_and_unknown_language():
    assert format_due_time(None, "de") == ""
    with pytest.raises(ValueError, match="time zone"):
        format_due_time(datetime(2026, 5, 26, 10, 0), "de")
    with pytest.raises(ValueError):
        format_due_time(DUE, "fr")


def test_paragraphs_escapes_and_splits():
    html = paragraphs_to_html("Hallo,\r\n\r\n<b>fett</b> & {{ 7*7 }}\nZeile 2\n \n\n\nGruß\n")
    assert isinstance(html, Markup)
    assert html == Markup(
        "<p>Hallo,</p>\n<p>&lt;b&gt;fett&lt;/b&gt; &amp; {{ 7*7 }}<br>\nZeile 2</p>\n<p>Gruß</p>"
    )
    assert paragraphs_to_html("") == paragraphs_to_html(None) == Markup("")


def test_new_kinds_and_severity_partials_are_required(tmp_path):
    names = required_templates()
    for kind in ("solved", "agent_reply", "status", "out_of_hours", "sla_alert", "delivery_failed"):
        assert kind in KINDS
        for lang in ("de", "en"):
            for part in ("subject", "txt", "html"):
                assert f"{kind}.{lang}.{part}.j2" in names
    assert "_severity.de.j2" in names and "_severity.en.j2" in names

    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    (copy / "_severity.en.j2").unlink()
    (copy / "sla_alert.de.subject.j2").unlink()
    with pytest.raises(ConfigError) as info:
        TemplateRenderer(copy)
    assert "_severity.en.j2" in str(info.value) and "sla_alert.de.subject.j2" in str(info.value)


# --- acknowledgement -----------------------------------------------------------------------------


@pytest.mark.parametrize("severity", list(Severity))
@pytest.mark.parametrize("language", LANGUAGES)
def test_acknowledgement_states_severity_and_promised_time(renderer, language, severity):
    out = renderer.render("acknowledgement", language, customer(severity=severity, response_due=DUE))
    words = SEVERITY_WORDS[language][severity.value]

    assert words in out.text and words in out.html
    assert DUE_TEXT[language] in out.text and DUE_TEXT[language] in out.html
    assert "MB-000012" in out.text and "[MB-000012]" in out.subject
    assert no_none_or_template_code(out.text, out.html)


def test_acknowledgement_promise_wording(renderer):
    ctx = customer(severity="critical", response_due=DUE)
    de = renderer.render("acknowledgement", Language.DE, ctx)
    en = renderer.render("acknowledgement", Language.EN, ctx)
    assert f"Wir melden uns spätestens bis {DUE_DE} bei Ihnen." in de.text
    assert "Unsere erste Einschätzung: kritisch – die App" in de.text
    assert f"We will get back to you by {DUE_EN} at the latest." in en.text
    assert f"<strong>{DUE_DE}</strong>" in de.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_acknowledgement_without_severity_promises_no_time(renderer, language):
    out = renderer.render("acknowledgement", language, customer(severity=None, response_due=None))
    assert ("so bald wie möglich" if language is Language.DE else "as soon as possible") in out.text
    assert "Einschätzung" not in out.text and "assessment" not in out.text
    assert "spätestens" not in out.text and "at the latest" not in out.text
    assert no_none_or_template_code(out.text, out.html)


def test_acknowledgement_severity_without_due_time(renderer):
    out = renderer.render("acknowledgement", Language.DE, customer(severity="minor"))
    assert SEVERITY_WORDS[Language.DE]["minor"] in out.text
    assert "so bald wie möglich" in out.text and "spätestens" not in out.text


def test_acknowledgement_response_due_wins_over_due_text(renderer):
    ctx = customer(severity="major", response_due=DUE, due_text="irgendwann", interim_markdown="**Tipp**")
    out = renderer.render("acknowledgement", Language.DE, ctx)
    assert DUE_DE in out.text and "irgendwann" not in out.text
    assert "<strong>Tipp</strong>" in out.html  # the interim hint stays


def test_acknowledgement_rejects_unknown_severity(renderer):
    with pytest.raises(ValueError, match="severity"):
        renderer.render("acknowledgement", Language.DE, customer(severity="blocker"))


# --- team notice ---------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_team_notice_shows_severity_reasons_and_due_times(renderer, language):
    ctx = team(
        severity=Severity.CRITICAL,
        severity_confidence=0.87,
        severity_reasons=["signal: 'stürzt ab' + 'alle Nutzer'", f"feature {EVIL}"],
        response_due=DUE,
        resolution_due=RESOLUTION,
        parent_reference="MB-000010",
        external_key="SUP-123",
        event="follow_up",
    )
    out = renderer.render("team_notice", language, ctx)

    for text in (out.text, out.html):
        assert ("kritisch" if language is Language.DE else "critical") in text
        assert ("0,87" if language is Language.DE else "0.87") in text
        assert "signal: 'stürzt ab' + 'alle Nutzer'" in text or "signal: &#39;stürzt ab&#39;" in text
        assert DUE_TEXT[language] in text and RESOLUTION_TEXT[language] in text
        assert "MB-000010" in text and "SUP-123" in text
        assert "login-problems" in text and "app-update" in text  # near misses
    assert (
        "Einstufung: kritisch (critical), Konfidenz 0,87"
        if language is Language.DE
        else "Severity: critical, confidence 0.87"
    ) in out.text
    assert f"- feature {EVIL}" in out.text
    assert f"<li>feature {EVIL_HTML}</li>" in out.html
    assert "<script>" not in out.html and "49" not in out.text + out.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_team_notice_without_severity(renderer, language):
    out = renderer.render("team_notice", language, team())
    expected = (
        "keine Störung (Frage oder Wunsch, kein SLA)" if language is Language.DE else "none (a question"
    )
    assert expected in out.text and expected in out.html
    assert no_none_or_template_code(out.text, out.html)
    assert "fällig" not in out.text and " due" not in out.text
    assert "Jira" not in out.text and "MB-000010" not in out.text


# --- solved and agent_reply ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["solved", "agent_reply"])
def test_agent_message_is_data(renderer, kind, language):
    message = f"Guten Tag,\n\nwir haben das behoben: {EVIL}\nBitte App neu starten.\n\nViele Grüße"
    out = renderer.render(kind, language, customer(message=message, subject=EVIL))

    assert message in out.text
    assert f"<p>wir haben das behoben: {EVIL_HTML}<br>\nBitte App neu starten.</p>" in out.html
    assert "<script>" not in out.html
    assert "49" not in out.text + out.html + out.subject
    assert out.subject == f"Re: {EVIL} [MB-000012]"
    assert "MB-000012" in out.text and "MB-000012" in out.html


def test_solved_says_solved_and_how_to_reopen(renderer):
    de = renderer.render("solved", Language.DE, customer(message="Der Fehler ist behoben."))
    en = renderer.render("solved", Language.EN, customer(message="The bug is fixed."))
    assert "Ihr Anliegen ist gelöst" in de.text and "Vorgang MB-000012 abgeschlossen" in de.text
    assert "antworten Sie einfach auf diese E-Mail" in de.text and "wieder" in de.text
    assert "Your request has been solved" in en.text and "reopen" in en.text
    assert "Der Fehler ist behoben." in de.text


def test_agent_reply_keeps_the_ticket_open(renderer):
    de = renderer.render("agent_reply", Language.DE, customer(message="Welche App-Version nutzen Sie?"))
    en = renderer.render("agent_reply", Language.EN, customer(message="Which app version do you use?"))
    assert "Welche App-Version nutzen Sie?" in de.text and "Der Vorgang bleibt offen" in de.text
    assert "Which app version do you use?" in en.text and "stays open" in en.text


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", ["solved", "agent_reply"])
def test_empty_agent_message(renderer, kind, language):
    out = renderer.render(kind, language, customer(message=""))
    assert "<div style" not in out.html  # no empty message box
    assert "Nachricht unseres" not in out.text and "message:" not in out.text
    assert no_none_or_template_code(out.text, out.html)


# --- status --------------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_status_escalated_waiting_for_first_response(renderer, language):
    ctx = customer(
        state=TicketState.ESCALATED, responded=False, severity="major", response_due=DUE, resolution_due=None
    )
    out = renderer.render("status", language, ctx)
    assert SEVERITY_WORDS[language]["major"] in out.text and SEVERITY_WORDS[language]["major"] in out.html
    assert DUE_TEXT[language] in out.text and DUE_TEXT[language] in out.html
    assert "[MB-000012]" in out.subject and "MB-000012" in out.text
    if language is Language.DE:
        assert f"Wir melden uns spätestens bis {DUE_DE} bei Ihnen." in out.text
        assert "liegt bei unserem Support-Team" in out.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_status_escalated_after_first_response_names_the_resolution_target(renderer, language):
    ctx = customer(
        state="escalated", responded=True, severity="minor", response_due=DUE, resolution_due=RESOLUTION
    )
    out = renderer.render("status", language, ctx)
    assert RESOLUTION_TEXT[language] in out.text
    assert DUE_TEXT[language] not in out.text  # the response is done, its due time no longer matters


@pytest.mark.parametrize("language", LANGUAGES)
def test_status_question_without_sla(renderer, language):
    out = renderer.render("status", language, customer(state="escalated", responded=False))
    assert ("so bald wie möglich" if language is Language.DE else "as soon as possible") in out.text
    assert "Einschätzung" not in out.text and "assessment" not in out.text
    assert no_none_or_template_code(out.text, out.html)


def test_status_answered_and_solved(renderer):
    answered = renderer.render("status", Language.DE, customer(state="answered", responded=True))
    solved = renderer.render(
        "status", Language.EN, customer(state="solved", responded=True, severity="major")
    )
    assert "bereits geantwortet" in answered.text
    assert "has been solved and closed" in solved.text
    assert "major" not in solved.text  # a solved ticket needs no severity


def test_status_rejects_unknown_state(renderer):
    with pytest.raises(ValueError, match="state"):
        renderer.render("status", Language.DE, customer(state="open", responded=False))


# --- out of hours --------------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_out_of_hours_names_the_next_opening(renderer, language):
    out = renderer.render("out_of_hours", language, out_of_hours())
    assert DUE_TEXT[language] in out.text and DUE_TEXT[language] in out.html
    assert out.subject == "Re: App stürzt beim Login ab"
    assert "Vorgangsnummer" not in out.text + out.html and "Reference" not in out.html
    assert "reference" not in out.text
    assert no_none_or_template_code(out.text, out.html)
    if language is Language.DE:
        assert "ist bei uns angekommen" in out.text and f"ab {DUE_DE} wieder für Sie da" in out.text
        assert out.text.startswith("Guten Tag Erika Müller,\n")
    else:
        assert "it has reached us" in out.text and f"back on {DUE_EN}" in out.text


def test_out_of_hours_subject_fallback_and_evil_subject(renderer):
    assert (
        renderer.render("out_of_hours", Language.DE, out_of_hours(subject="")).subject == "Re: Ihre Anfrage"
    )
    out = renderer.render("out_of_hours", Language.EN, out_of_hours(subject=EVIL, customer_name=EVIL))
    assert out.subject == f"Re: {EVIL}"
    assert out.text.startswith("Hello,\n") and "<script>" not in out.html  # issue 10: no name, neutral


# --- SLA alert -----------------------------------------------------------------------------------


def test_sla_alert_subjects():
    r = TemplateRenderer(TEMPLATES)
    assert r.render("sla_alert", Language.DE, sla()).subject == (
        f"[MB-000012] SLA: Antwortfrist läuft ab – {DUE_DE}"
    )
    assert r.render("sla_alert", Language.DE, sla(breached=True, share_used=1.25)).subject.startswith(
        "[MB-000012] SLA verletzt"
    )
    assert (
        r.render("sla_alert", Language.EN, sla()).subject == f"[MB-000012] SLA: response due soon – {DUE_EN}"
    )
    assert r.render("sla_alert", Language.EN, sla(breached=True)).subject.startswith(
        "[MB-000012] SLA breached"
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("breached", [False, True])
def test_sla_alert_body(renderer, language, breached):
    ctx = sla(breached=breached, share_used=1.25 if breached else 0.8, subject=EVIL, customer=EVIL)
    out = renderer.render("sla_alert", language, ctx)
    used = ("125" if breached else "80") + (" %" if language is Language.DE else "%")
    for text in (out.text, out.html):
        assert "MB-000012" in text and DUE_TEXT[language] in text and used in text
        assert ("kritisch" if language is Language.DE else "critical") in text
    assert EVIL in out.text and EVIL_HTML in out.html and "<script>" not in out.html
    assert "49" not in out.text + out.html


# --- delivery failed -----------------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_delivery_failed(renderer, language):
    ctx = {
        "reference": "MB-000012",
        "recipient": "erika@example.com",
        "subject": "Re: App stürzt ab [MB-000012]",
        "error": f"550 5.1.1 <erika@example.com>: user unknown\n{EVIL}",
    }
    out = renderer.render("delivery_failed", language, ctx)
    word = "Zustellung fehlgeschlagen" if language is Language.DE else "Delivery failed"
    assert out.subject == f"[MB-000012] {word}: App stürzt ab"  # issue 10: the reference once, no "Re:"
    assert "> 550 5.1.1 <erika@example.com>: user unknown" in out.text
    assert f"> {EVIL}" in out.text
    assert "550 5.1.1 &lt;erika@example.com&gt;: user unknown" in out.html and "<script>" not in out.html
    assert "erika@example.com" in out.text and "49" not in out.text + out.html


@pytest.mark.parametrize("language", LANGUAGES)
def test_delivery_failed_for_an_address_no_server_was_asked_about(renderer, language):
    """Refused by mailbot itself (an address no mail can be sent to): the mail must not blame a server."""
    ctx = {
        "reference": "MB-000012",
        "recipient": "kunde@xn--zz.example",
        "subject": "App stürzt ab",
        "error": "not sent: the domain 'xn--zz.example' is not a valid host name",
    }
    refused = renderer.render("delivery_failed", language, {**ctx, "not_sent": True})
    bounced = renderer.render("delivery_failed", language, {**ctx, "error": "550 no such user"})
    sent_not, server, reason, response = (
        ("nicht gesendet", "Mailserver des Empfängers", "Grund", "Antwort des Mailservers")
        if language is Language.DE
        else ("could not be sent", "recipient's mail server", "Reason", "Mail server response")
    )
    for part in (refused.text, refused.html):
        assert sent_not in part and server not in part and reason in part and response not in part
    assert "> not sent: the domain 'xn--zz.example' is not a valid host name" in refused.text
    assert refused.subject == bounced.subject
    for part in (bounced.text, bounced.html):  # a server's refusal reads as before
        assert server in part and response in part and sent_not not in part


@pytest.mark.parametrize("language", LANGUAGES)
def test_delivery_failed_without_reference(renderer, language):
    ctx = {"recipient": "erika@example.com", "subject": "", "error": "554 rejected"}
    out = renderer.render("delivery_failed", language, ctx)
    assert not out.subject.startswith("[")
    assert out.subject.endswith("(ohne Betreff)" if language is Language.DE else "(no subject)")
    assert "MB-" not in out.text and no_none_or_template_code(out.text, out.html)
    assert renderer.render("delivery_failed", language, {**ctx, "reference": None}).text == out.text
