"""The three team mails about app-store reviews (issue 16): review_ticket, reviews_digest and
reviews_polling_failed, rendered from the real templates/ directory in the team's language."""

from __future__ import annotations

import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import UndefinedError

from mailbot.domain import Language
from mailbot.errors import ConfigError
from mailbot.reply.render import OPTIONAL_DEFAULTS, REQUIRED_KEYS, TEAM_KINDS, TemplateRenderer

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
BERLIN = ZoneInfo("Europe/Berlin")
DUE = datetime(2026, 12, 7, 12, 0, tzinfo=BERLIN)
HOSTILE = "<b>x</b> {{ 7*7 }} {% raw %}"
REVIEW_KINDS = ("review_ticket", "reviews_digest", "reviews_polling_failed")
FOOTER = {Language.DE: "Automatisch erstellt von mailbot.", Language.EN: "Created automatically by mailbot."}


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(TEMPLATES)


def ticket(**extra: object) -> dict[str, object]:
    return {
        "reference": "MB-000123",
        "store_name": "App Store",
        "app_name": "Aktivo Fitness",
        "rating": 1,
        "review_number": "R12",
        "review_title": "App crashes at start",
        "review_body": "Since the update to 2.3.0 the app crashes at once.",
        "language": "en",
        "reason": "a crash report: passed on to the 2nd level",
        **extra,
    }


def full_ticket(**extra: object) -> dict[str, object]:
    return ticket(
        severity="major",
        severity_confidence=0.82,
        severity_reasons=["Die App stürzt ab."],
        response_due=DUE,
        resolution_due=datetime(2026, 12, 9, 12, 0, tzinfo=BERLIN),
        external_key="SUP-482",
        reply_state="draft",
        **extra,
    )


def draft(number: str = "R12", **extra: object) -> dict[str, object]:
    return {
        "number": number,
        "store_name": "App Store",
        "app_name": "Aktivo Fitness",
        "rating": 5,
        "language": "de",
        "excerpt": "Super App!",
        "kind": "thank",
        "text": "Vielen Dank für Ihre freundlichen Worte!",
        "problems": [],
        **extra,
    }


def person(number: str = "R16", **extra: object) -> dict[str, object]:
    return {
        "number": number,
        "store_name": "Google Play",
        "app_name": "Aktivo Fitness",
        "rating": 1,
        "language": "fr",
        "excerpt": "Je veux être remboursé !",
        "reason": "asks for a refund",
        **extra,
    }


def failure(number: str = "R9", **extra: object) -> dict[str, object]:
    return {
        "number": number,
        "store_name": "Google Play",
        "app_name": "Aktivo Fitness",
        "error": "Google Play refused the reply (400 INVALID_ARGUMENT)",
        **extra,
    }


def digest(**extra: object) -> dict[str, object]:
    return {"support_name": "Aktivo Support", "drafts": [draft()], "persons": [], "failed": [], **extra}


def polling(**extra: object) -> dict[str, object]:
    return {
        "store_name": "Google Play",
        "app_name": "Aktivo Fitness",
        "app_id": "de.aktivo.fitness",
        "since": datetime(2026, 12, 1, 8, 30, tzinfo=BERLIN),
        "days": 3.2,
        "error": "Google Play refused the service account (403 PERMISSION_DENIED)",
        "fix": "Invite the service account in Play Console with Reply to reviews.",
        **extra,
    }


REQUIRED_ONLY = {
    "review_ticket": ticket(),
    "reviews_digest": {"support_name": "Aktivo Support", "drafts": [], "persons": [person()], "failed": []},
    "reviews_polling_failed": polling(),
}
WITH_ALL_KEYS = {
    "review_ticket": full_ticket(),
    "reviews_digest": digest(
        drafts=[draft(), draft("R13", problems=["a link"])], persons=[person()], failed=[failure()]
    ),
    "reviews_polling_failed": polling(google_window=True),
}


def test_the_three_kinds_are_team_mails_with_exactly_the_keys_the_lead_passes():
    assert set(REVIEW_KINDS) <= set(TEAM_KINDS)
    for kind in REVIEW_KINDS:
        assert set(REQUIRED_ONLY[kind]) == REQUIRED_KEYS[kind]
        assert set(WITH_ALL_KEYS[kind]) == REQUIRED_KEYS[kind] | OPTIONAL_DEFAULTS[kind].keys()


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", REVIEW_KINDS)
@pytest.mark.parametrize("contexts", [REQUIRED_ONLY, WITH_ALL_KEYS], ids=["required", "all"])
def test_every_review_mail_renders_text_and_html_in_both_languages(renderer, kind, language, contexts):
    out = renderer.render(kind, language, contexts[kind])

    assert out.subject and "\n" not in out.subject
    assert out.text.endswith(f"\n-- \n{FOOTER[language]}\n") and not out.text.startswith("\n")
    assert out.html.startswith("<!DOCTYPE html>") and f'<html lang="{language.value}">' in out.html
    assert FOOTER[language] in out.html
    for part in (out.subject, out.text, out.html):
        assert "None" not in part and "{{" not in part and "{%" not in part
    assert not out.personal


@pytest.mark.parametrize("kind", REVIEW_KINDS)
def test_a_missing_required_key_is_the_renderers_error(renderer, kind):
    for key in REQUIRED_KEYS[kind]:
        context = {k: v for k, v in REQUIRED_ONLY[kind].items() if k != key}
        with pytest.raises(UndefinedError, match=key):
            renderer.render(kind, Language.DE, context)


def test_a_digest_item_without_a_field_fails_loudly(renderer):
    broken = {k: v for k, v in draft().items() if k != "text"}
    with pytest.raises(UndefinedError, match="text"):
        renderer.render("reviews_digest", Language.EN, digest(drafts=[broken]))


# --- review_ticket --------------------------------------------------------------------------------


def test_review_ticket_subject_names_store_stars_and_title(renderer):
    assert renderer.render("review_ticket", Language.EN, ticket()).subject == (
        "[MB-000123] App Store review ★1: App crashes at start"
    )
    assert renderer.render(
        "review_ticket", Language.DE, ticket(store_name="Google Play", rating=2)
    ).subject == ("[MB-000123] Google-Play-Bewertung ★2: App crashes at start")


def test_review_ticket_subject_without_title_takes_the_opening_of_the_body_on_one_line(renderer):
    body = "Crashes\nevery time I open the workout tab, and also when I try to sync my watch with the app."
    out = renderer.render("review_ticket", Language.EN, ticket(review_title="  ", review_body=body))
    assert out.subject.startswith(
        "[MB-000123] App Store review ★1: Crashes every time I open the workout tab"
    )
    assert out.subject.endswith("…") and len(out.subject) < 120
    empty = renderer.render("review_ticket", Language.DE, ticket(review_title="", review_body=""))
    assert empty.subject == "[MB-000123] App-Store-Bewertung ★1: (ohne Text)"


@pytest.mark.parametrize("language", list(Language))
def test_review_ticket_says_there_is_no_address_and_what_happens_when_solved(renderer, language):
    out = renderer.render("review_ticket", language, full_ticket())
    if language is Language.DE:
        needles = (
            "Neues Ticket MB-000123 aus einer Bewertung im App Store",
            "Bewertung:  R12, ★☆☆☆☆ (1 von 5)",
            "Sprache:    Englisch",
            "keine E-Mail-Adresse: mailbot kann der Person, die sie geschrieben hat, nicht schreiben",
            "nur als öffentliche Antwort auf die Bewertung im App Store",
            "Wenn das Ticket gelöst ist, entwirft mailbot eine aktualisierte öffentliche Antwort",
            "(„in Version … behoben“), die Sie freigeben oder ändern können",
            "Einstufung: schwerwiegend (major), Konfidenz 0,82",
            "Antwort fällig bis: Montag, 7. Dezember 2026, 12:00 Uhr",
            "Lösung fällig bis:  Mittwoch, 9. Dezember 2026, 12:00 Uhr",
            "Jira:       SUP-482",
            "- Die App stürzt ab.",
        )
    else:
        needles = (
            "New ticket MB-000123 from a review in the App Store",
            "Review:    R12, ★☆☆☆☆ (1 of 5)",
            "Language:  English",
            "A store review comes without an e-mail address: mailbot cannot write to the reviewer",
            "only as the public reply to the review in the App Store",
            'When the ticket is solved, mailbot drafts an updated public reply ("fixed in version ...")',
            "that you can approve or edit",
            "Severity: major, confidence 0.82",
            "Response due:   Monday, 7 December 2026, 12:00 CET",
            "Resolution due: Wednesday, 9 December 2026, 12:00 CET",
        )
    for needle in needles:
        assert needle in out.text
    assert "> App crashes at start\n>\n> Since the update to 2.3.0 the app crashes at once.\n" in out.text
    assert "<strong>R12</strong>" in out.html and "SUP-482" in out.html


def test_review_ticket_on_google_play_and_without_severity(renderer):
    de = renderer.render("review_ticket", Language.DE, ticket(store_name="Google Play"))
    en = renderer.render("review_ticket", Language.EN, ticket(store_name="Google Play"))
    assert "aus einer Bewertung bei Google Play" in de.text and "Bewertung bei Google Play." in de.text
    assert "from a review on Google Play" in en.text
    assert "Einstufung: ohne Einstufung (kein SLA)" in de.text and "fällig" not in de.text
    assert "Severity: none (no SLA)" in en.text and "Jira" not in en.text


@pytest.mark.parametrize("language", list(Language))
def test_review_ticket_tells_how_the_passed_on_reply_goes_out(renderer, language):
    draft_out = renderer.render("review_ticket", language, ticket(reply_state="draft"))
    auto_out = renderer.render("review_ticket", language, ticket(reply_state="auto"))
    none_out = renderer.render("review_ticket", language, ticket())

    for out in (draft_out, auto_out, none_out):
        assert "mailbot reviews show R12" in out.text and "mailbot reviews show R12" in out.html
    assert "mailbot reviews approve R12" in draft_out.text and "mailbot reviews approve R12" in draft_out.html
    assert 'mailbot reviews edit R12 --text "..."' in draft_out.text
    for out in (auto_out, none_out):
        assert "approve R12" not in out.text + out.html
    words = {Language.DE: ("wartet auf Ihre Freigabe", "automatisch veröffentlicht", "keine vorbereitet")}
    words[Language.EN] = ("waits for your approval", "posted automatically", "has not prepared one")
    waits, automatic, nothing = words[language]
    assert waits in draft_out.text and automatic in auto_out.text and nothing in none_out.text
    assert automatic not in draft_out.text and waits not in auto_out.text + none_out.text


@pytest.mark.parametrize(("key", "value"), [("rating", 0), ("rating", 6), ("rating", "5"), ("rating", True)])
def test_review_ticket_refuses_a_rating_it_cannot_show(renderer, key, value):
    with pytest.raises(ValueError, match="rating"):
        renderer.render("review_ticket", Language.EN, ticket(**{key: value}))


def test_review_ticket_refuses_an_unknown_reply_state(renderer):
    with pytest.raises(ValueError, match="reply_state"):
        renderer.render("review_ticket", Language.EN, ticket(reply_state="posted"))


# --- reviews_digest -------------------------------------------------------------------------------


def test_digest_subject_counts_what_waits(renderer):
    ctx = digest(drafts=[draft("R1"), draft("R2"), draft("R3")], persons=[person()])
    assert renderer.render("reviews_digest", Language.EN, ctx).subject == (
        "Reviews (Aktivo Support): 3 drafts to approve, 1 for a person"
    )
    assert renderer.render("reviews_digest", Language.DE, ctx).subject == (
        "Bewertungen (Aktivo Support): 3 Entwürfe zur Freigabe, 1 für eine Person"
    )
    one_each = digest(persons=[person()], failed=[failure()])
    assert renderer.render("reviews_digest", Language.EN, one_each).subject == (
        "Reviews (Aktivo Support): 1 draft to approve, 1 for a person, 1 reply not posted"
    )
    assert renderer.render("reviews_digest", Language.DE, one_each).subject == (
        "Bewertungen (Aktivo Support): 1 Entwurf zur Freigabe, 1 für eine Person, "
        "1 Antwort nicht veröffentlicht"
    )


@pytest.mark.parametrize("language", list(Language))
def test_digest_shows_every_item_and_the_commands(renderer, language):
    ctx = WITH_ALL_KEYS["reviews_digest"]
    out = renderer.render("reviews_digest", language, ctx)

    for command in (
        "mailbot reviews show R12",
        "mailbot reviews approve R12",
        'mailbot reviews edit R12 --text "..."',
        "mailbot reviews reject R12",
        'mailbot reviews edit R13 --text "..."',  # the draft the check objects to: change it first
        "mailbot reviews reject R16",
        "mailbot reviews show R9",
    ):
        assert command in out.text and command in out.html.replace("&#34;", '"')
    assert "approve R13" not in out.text + out.html
    assert "> Vielen Dank für Ihre freundlichen Worte!\n" in out.text
    assert "> Super App!\n" in out.text and "> Je veux être remboursé !\n" in out.text
    assert "- a link\n" in out.text and "<li>a link</li>" in out.html
    assert "asks for a refund" in out.text and "400 INVALID_ARGUMENT" in out.text
    assert "R12 · Aktivo Fitness (App Store) · ★★★★★ · " in out.text
    assert ("40 Zeichen" if language is Language.DE else "40 characters") in out.text  # Google's limit is 350
    assert ("Dank" if language is Language.DE else "thank-you") in out.text


@pytest.mark.parametrize("seen", ["fr", "French"])
def test_digest_names_the_review_language_in_the_teams_words(renderer, seen):
    ctx = digest(drafts=[], persons=[person(language=seen)])
    assert "R16 · Aktivo Fitness (Google Play) · ★☆☆☆☆ · Französisch\n" in (
        renderer.render("reviews_digest", Language.DE, ctx).text
    )
    assert "★☆☆☆☆ · French\n" in renderer.render("reviews_digest", Language.EN, ctx).text
    unknown = renderer.render(
        "reviews_digest", Language.DE, digest(drafts=[], persons=[person(language="Klingon")])
    )
    assert "★☆☆☆☆ · Klingon\n" in unknown.text


def test_digest_leaves_out_empty_sections(renderer):
    out = renderer.render("reviews_digest", Language.EN, REQUIRED_ONLY["reviews_digest"])
    assert "For a person (1):" in out.text
    assert "Drafts to approve" not in out.text + out.html and "Not posted" not in out.text + out.html
    assert "mailbot reviews show R16" in out.text  # the commands name a review of this mail


# --- reviews_polling_failed -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "de", "en"), [(3, "3 Tagen", "3 days"), (1.0, "1 Tag", "1 day"), (3.46, "3,5 Tagen", "3.5 days")]
)
def test_polling_failed_says_how_long(renderer, days, de, en):
    assert renderer.render("reviews_polling_failed", Language.DE, polling(days=days)).subject == (
        f"Bewertungen: Aktivo Fitness (Google Play) seit {de} nicht gelesen"
    )
    assert renderer.render("reviews_polling_failed", Language.EN, polling(days=days)).subject == (
        f"Reviews: Aktivo Fitness (Google Play) not read for {en}"
    )


@pytest.mark.parametrize("language", list(Language))
def test_polling_failed_names_app_error_and_fix(renderer, language):
    out = renderer.render("reviews_polling_failed", language, polling())
    since = (
        "Dienstag, 1. Dezember 2026, 08:30 Uhr"
        if language is Language.DE
        else "Tuesday, 1 December 2026, 08:30 CET"
    )
    for needle in (
        since,
        "de.aktivo.fitness",
        "403 PERMISSION_DENIED",
        "Invite the service account in Play Console",
    ):
        assert needle in out.text and needle in out.html
    assert ("7 Tage lang" if language is Language.DE else "for 7 days only") in out.text  # loss is coming
    apple = renderer.render(
        "reviews_polling_failed", language, polling(store_name="App Store", app_id="1234567890")
    )
    assert "7 Tage" not in apple.text and "7 days" not in apple.text
    assert ("App-ID:    1234567890" if language is Language.DE else "App ID:    1234567890") in apple.text


@pytest.mark.parametrize("language", list(Language))
def test_polling_failed_past_googles_window_says_reviews_are_being_lost(renderer, language):
    out = renderer.render("reviews_polling_failed", language, polling(google_window=True))
    calm = renderer.render("reviews_polling_failed", language, polling())
    if language is Language.DE:
        assert out.subject.startswith("Bewertungen gehen verloren: Aktivo Fitness (Google Play)")
        assert "BEWERTUNGEN GEHEN VERLOREN" in out.text and "Bewertungen gehen verloren:" in out.html
        assert "verloren" not in calm.subject and "GEHEN VERLOREN" not in calm.text
    else:
        assert out.subject.startswith("Reviews being lost: Aktivo Fitness (Google Play)")
        assert "REVIEWS ARE BEING LOST" in out.text and "Reviews are being lost:" in out.html
        assert "lost" not in calm.subject and "BEING LOST" not in calm.text


# --- review text is data --------------------------------------------------------------------------


@pytest.mark.parametrize("language", list(Language))
def test_review_text_stays_data_in_every_review_mail(renderer, language):
    contexts = {
        "review_ticket": full_ticket(
            review_title=HOSTILE, review_body=HOSTILE, reason=HOSTILE, app_name=HOSTILE
        ),
        "reviews_digest": digest(
            support_name=HOSTILE,
            drafts=[draft(excerpt=HOSTILE, text=HOSTILE, problems=[HOSTILE], app_name=HOSTILE)],
            persons=[person(excerpt=HOSTILE, reason=HOSTILE)],
            failed=[failure(error=HOSTILE)],
        ),
        "reviews_polling_failed": polling(error=HOSTILE, fix=HOSTILE, app_name=HOSTILE),
    }
    for kind, context in contexts.items():
        out = renderer.render(kind, language, context)
        assert "<b>" not in out.html and "&lt;b&gt;x&lt;/b&gt; {{ 7*7 }} {% raw %}" in out.html
        assert HOSTILE in out.text
        assert "49" not in out.subject + out.text + out.html
    ticket_subject = renderer.render("review_ticket", language, contexts["review_ticket"]).subject
    assert ticket_subject.endswith(HOSTILE)


# --- start-up check of a client's override folder -------------------------------------------------


def test_an_overridden_partial_renders_the_review_mails_with_sample_values(tmp_path):
    """A partial in an override folder makes the renderer try every kind with `overrides` samples:
    the review kinds must have samples that render (required keys only and with every key)."""
    override = tmp_path / "override"
    override.mkdir()
    shutil.copy(TEMPLATES / "_reviews.en.j2", override / "_reviews.en.j2")
    TemplateRenderer([override, TEMPLATES])


def test_a_misspelt_variable_in_an_overridden_review_mail_stops_the_start(tmp_path):
    override = tmp_path / "override"
    override.mkdir()
    (override / "review_ticket.de.subject.j2").write_text(
        "[{{ reference }}] {{ review_numbr }}\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"review_ticket\.de\.subject\.j2:1: .*review_numbr"):
        TemplateRenderer([override, TEMPLATES])
