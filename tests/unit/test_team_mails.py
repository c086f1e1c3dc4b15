"""What the team reads (issue 10): one reference in subjects, the customer's name, the ticket's language,
severity reasons in the team's language. Rendered through the real templates."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from mailbot.domain import Language
from mailbot.reply.render import TemplateRenderer
from mailbot.tickets.team_view import customer_label, recipient_label, team_reasons

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
DUE = datetime(2026, 5, 26, 10, 0, tzinfo=ZoneInfo("Europe/Berlin"))
STORED_REASONS = [
    'signal: "None of our 40 drivers can" (all users affected)',
    'signal: "can log in" (login impossible)',
    "signal: all users + core function failing",
    'closest example (critical): "Nobody can log in, for all our members" (similarity 0.41)',
]


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


def notice(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000012",
        "customer": "Dana Fleet <ops@fleet.example>",
        "subject": "Problem",
        "reason": "no article above the threshold",
        "language": "en",
        "ranking": [],
        "rule_hits": [],
        "body_excerpt": "None of our 40 drivers can log in.",
        "event": "follow_up",
        **extra,
    }


# --- one reference in the subject ---------------------------------------------------------------------

FOLLOW_UPS = [
    "Re: Problem [MB-000012]",
    "Re: Re: Problem [MB-000012]",
    "AW: [MB-000012] Problem",
    "AW: AW: Problem [MB-000012] [MB-000012]",
    "WG: Problem [mb-12]",
    "RE[2]: Problem [MB-000012]",
    "Antwort: Problem [MB-000012]",
    "Fwd: Re: [MB-000012] - Problem",
]


@pytest.mark.parametrize("subject", FOLLOW_UPS)
def test_the_team_notice_of_a_follow_up_names_the_reference_once(renderer, subject):
    de = renderer.render("team_notice", Language.DE, notice(subject=subject))
    en = renderer.render("team_notice", Language.EN, notice(subject=subject))
    assert de.subject == "[MB-000012] Kundenantwort: Problem"
    assert en.subject == "[MB-000012] Customer reply: Problem"


@pytest.mark.parametrize("subject", ["Re: [MB-000012]", "AW: ", ""])
def test_a_follow_up_without_a_topic_says_so(renderer, subject):
    de = renderer.render("team_notice", Language.DE, notice(subject=subject))
    assert de.subject == "[MB-000012] Kundenantwort: (ohne Betreff)"


@pytest.mark.parametrize("subject", FOLLOW_UPS)
def test_a_failed_delivery_names_the_reference_once(renderer, subject):
    context = {"reference": "MB-000012", "recipient": "ops@fleet.example", "subject": subject, "error": "550"}
    assert renderer.render("delivery_failed", Language.DE, context).subject == (
        "[MB-000012] Zustellung fehlgeschlagen: Problem"
    )
    assert renderer.render("delivery_failed", Language.EN, context).subject == (
        "[MB-000012] Delivery failed: Problem"
    )


# --- the ticket's language, the customer's name -------------------------------------------------------


@pytest.mark.parametrize(
    ("team", "line", "word"),
    [(Language.DE, "Sprache:  Englisch", "Englisch"), (Language.EN, "Language: English", "English")],
)
def test_team_mails_name_the_tickets_language_in_the_teams_words(renderer, team, line, word):
    out = renderer.render("team_notice", team, notice(language="en"))
    assert f"\n{line}\n" in out.text
    assert f">{word}</td>" in out.html
    sla = {
        "reference": "MB-000012",
        "customer": "Dana Fleet <ops@fleet.example>",
        "subject": "Problem",
        "language": "en",
        "severity": "critical",
        "response_due": DUE,
        "share_used": 0.8,
        "breached": False,
    }
    alert = renderer.render("sla_alert", team, sla)
    assert word in alert.text and f">{word}</td>" in alert.html
    assert "Dana Fleet <ops@fleet.example>" in alert.text
    assert "Dana Fleet &lt;ops@fleet.example&gt;" in alert.html


@pytest.mark.parametrize(
    ("name", "address", "shown"),
    [
        ("Dana Fleet", "ops@fleet.example", "Dana Fleet <ops@fleet.example>"),
        ("Müller, Katrin", "k@x.example", "Müller, Katrin <k@x.example>"),
        ('"Katrin Müller"', "k@x.example", "Katrin Müller <k@x.example>"),
        ("OPS@fleet.example", "ops@fleet.example", "ops@fleet.example"),
        ("", "ops@fleet.example", "ops@fleet.example"),
        (None, "ops@fleet.example", "ops@fleet.example"),
        ("Dana\r\nBcc: x@y", "ops@fleet.example", "Dana Bcc: x@y <ops@fleet.example>"),
    ],
)
def test_customer_label(name, address, shown):
    assert customer_label(name, address) == shown


def test_a_failed_recipient_gets_the_customers_name_only_when_it_is_the_customer():
    ticket = SimpleNamespace(customer="ops@fleet.example", customer_name="Dana Fleet")
    assert recipient_label("OPS@fleet.example", ticket) == "Dana Fleet <OPS@fleet.example>"  # type: ignore[arg-type]
    assert recipient_label("form@agency.example", ticket) == "form@agency.example"  # type: ignore[arg-type]
    assert recipient_label("form@agency.example", None) == "form@agency.example"


# --- severity reasons in the team's language ------------------------------------------------------------


def test_the_team_notice_gives_reasons_in_german_with_the_customers_words(renderer):
    context = notice(event="new", severity="critical", severity_confidence=0.97)
    context["severity_reasons"] = team_reasons([*STORED_REASONS, 'words: "absturz"'], Language.DE)
    out = renderer.render("team_notice", Language.DE, context)
    assert "- Alle Nutzer betroffen: „None of our 40 drivers can“\n" in out.text
    assert "- Anmeldung nicht möglich: „can log in“\n" in out.text
    assert "- Alle Nutzer betroffen und eine Kernfunktion fällt aus: spricht für kritisch\n" in out.text
    assert (
        "- Ähnlichstes Beispiel für „kritisch“ (Textmodell): „Nobody can log in, for all our members“"
        in out.text
    )
    assert "<li>Alle Nutzer betroffen: „None of our 40 drivers can“</li>" in out.html
    for raw in ("absturz", "signal:", "closest example", "(all users affected)"):
        assert raw not in out.text and raw not in out.html


def test_the_team_notice_gives_reasons_in_english_for_an_english_team(renderer):
    context = notice(event="new", severity="critical", language="de")
    context["severity_reasons"] = team_reasons(STORED_REASONS, Language.EN)
    out = renderer.render("team_notice", Language.EN, context)
    assert '- All users affected: "None of our 40 drivers can"\n' in out.text
    assert "Language: German\n" in out.text
    assert "<li>All users affected: &#34;None of our 40 drivers can&#34;</li>" in out.html
