"""Issue 10, "wrong for customers": the pure parts, without servers. Closing thank-yous, status questions
without a reference, the questions of a mail, promises of due times, when a customer reads the severity
guess, and the texts that say a request is overdue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from mailbot.classify.disclosure import MIN_CONFIDENCE, backing_signals, show_to_customer
from mailbot.classify.normalise import classification_text
from mailbot.classify.questions import MAX_QUESTIONS, question_segments
from mailbot.domain import Attachment, Intent, Language, Severity, SeverityGuess
from mailbot.paths import SHIPPED_TEMPLATES
from mailbot.pipeline.deciding import read_intent
from mailbot.reply.render import TemplateRenderer
from mailbot.tickets.closing import is_closing
from mailbot.tickets.overdue import Promise, overdue_note, promise
from mailbot.tickets.status_query import asks_for_news, is_status_request
from tests.unit.test_rules import make_mail

BERLIN = ZoneInfo("Europe/Berlin")

# --- closing thank-yous -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Vielen Dank, hat geklappt!",
        "danke, hat geholfen",
        "Problem gelöst, Sie können das Ticket schließen.",
        "Problem gelöst, bitte schließen Sie das Ticket.",
        "Danke, jetzt geht es wieder!",
        "Super, danke!",
        "Perfekt, vielen Dank für die schnelle Hilfe!\n\nViele Grüße\nErika",
        "Fehler ist behoben, danke!",
        "thanks, solved",
        "Thank you so much, that worked.",
        "Please close the ticket, thanks!",
        "Cheers, works now.",
    ],
)
def test_thanks_and_closing_words_are_closing(body):
    assert is_closing(body)


@pytest.mark.parametrize(
    "body",
    [
        "danke, aber es geht immer noch nicht",
        "Danke, das hat leider nicht geholfen.",
        "Hat nicht geklappt, danke.",
        "Danke! Wie ändere ich jetzt meine E-Mail-Adresse?",
        "Danke im Voraus!",
        "Danke, anbei ein Screenshot.",
        "Danke, bitte schicken Sie mir noch die Rechnung.",
        "Das hilft nicht, läuft seit 3 Stunden!!",
        "Thanks, but it still crashes.",
        "Thank you, unfortunately the code never arrived.",
        "Thanks in advance",
        "Thanks, please send me the invoice as well.",
        "Status?",
        "",
        "Danke. " + "Ich habe noch eine Menge weiterer Informationen für Sie zusammengestellt " * 4,
    ],
)
def test_replies_that_still_want_something_are_not_closing(body):
    assert not is_closing(body)


# --- status questions without a reference ----------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "Wie ist der Stand?",
        "Hallo, wie ist der aktuelle Stand bei meinem Problem? Viele Grüße",
        "Status?",
        "Gibt es Neuigkeiten?",
        "Any update on my request?",
        "What is the status of my ticket?",
    ],
)
def test_news_questions_without_a_reference(body):
    assert asks_for_news(body) and is_status_request(body)


@pytest.mark.parametrize(
    "body",
    [
        "Wann kann ich mein Abo kündigen?",  # a new question, even though "wann" asks about time
        "When can I cancel my subscription?",
        "Wie ändere ich meinen Status in der App?",
        "Ich stand vor dem Studio und die App hat die Tür nicht geöffnet.",
    ],
)
def test_new_questions_are_no_news_questions_but_may_be_status_in_a_thread(body):
    assert not asks_for_news(body)
    assert is_status_request(body)  # in a ticket's thread "Wann ...?" can only mean that ticket


# --- the questions of a mail -----------------------------------------------------------------------


def test_each_question_keeps_the_statements_before_it():
    body = (
        "Hallo,\n\nich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?\n"
        "Außerdem möchte ich mein Abo kündigen. Wie geht das?\n\nDanke!"
    )
    assert question_segments(body) == (
        "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?",
        "Außerdem möchte ich mein Abo kündigen. Wie geht das?",
    )


@pytest.mark.parametrize(
    "body",
    [
        "Ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?",
        "Wie geht das??? Bitte helfen Sie mir!",
        "Keine Frage, nur ein Hinweis.",
        " ".join(f"Frage {n}?" for n in range(MAX_QUESTIONS + 1)),
    ],
)
def test_fewer_than_two_or_too_many_questions_give_nothing(body):
    assert question_segments(body) == ()


# --- promises --------------------------------------------------------------------------------------

NOW = datetime(2026, 5, 25, 17, 0, tzinfo=BERLIN)


def test_a_due_time_ahead_is_promised():
    due = NOW + timedelta(minutes=5)
    assert promise(due, NOW) == Promise(due)
    assert overdue_note(promise(due, NOW)) is None


@pytest.mark.parametrize(
    "due", [NOW, NOW - timedelta(hours=1, minutes=30), datetime(2026, 5, 25, 14, 59, tzinfo=UTC)]
)
def test_a_due_time_that_has_passed_is_never_promised(due):
    assert promise(due, NOW) == Promise(None, overdue=True)
    assert "overdue and has priority" in (overdue_note(promise(due, NOW)) or "")


def test_no_due_time_no_promise():
    assert promise(None, NOW) == Promise(None)


# --- when the customer reads the severity guess -------------------------------------------------------

CRASH = classification_text(
    "App stürzt seit dem Update ab",
    "seit dem Update stürzt die App bei mir sofort ab. Neustart des Handys hat nichts gebracht.",
)
HEADPHONES = classification_text(
    "Left my headphones at the spinning class",
    "I think I left my headphones in the changing room after the class I booked through your app. "
    "Is there a lost and found?",
)


def test_a_confident_guess_backed_by_a_fault_signal_is_shown():
    guess = SeverityGuess(Severity.MAJOR, 0.97, ('signal: "stürzt ab" (crash)',))
    assert "crash" in backing_signals(guess, CRASH)
    assert show_to_customer(guess, CRASH)


@pytest.mark.parametrize(
    ("guess", "text"),
    [
        (SeverityGuess(Severity.MAJOR, 0.46), HEADPHONES),  # the demo's lost headphones
        (SeverityGuess(Severity.MAJOR, 0.95), HEADPHONES),  # confident, but no fault signal at all
        (SeverityGuess(Severity.MAJOR, MIN_CONFIDENCE - 0.01), CRASH),  # a fault, but unsure
        (SeverityGuess(Severity.COSMETIC, 0.95), CRASH),  # "crash" says nothing for "cosmetic"
        (SeverityGuess(None, 0.99), CRASH),  # no fault class
    ],
)
def test_unsure_or_unbacked_guesses_stay_with_the_team(guess, text):
    assert not show_to_customer(guess, text)


def test_wishes_questions_and_urgency_do_not_back_a_fault():
    text = classification_text(
        "Dringend!!!", "Wann kommt endlich der Dunkelmodus? Das wäre toll. Dringend!!!"
    )
    assert backing_signals(SeverityGuess(Severity.MAJOR, 0.9), text) == ()


# --- texts that say a request is overdue ------------------------------------------------------------


@pytest.fixture(scope="module")
def renderer() -> TemplateRenderer:
    return TemplateRenderer(SHIPPED_TEMPLATES)


def customer(**extra: object) -> dict[str, object]:
    return {"reference": "MB-000042", "subject": "App stürzt ab", "support_name": "Aktivo Support"} | extra


OVERDUE_WORDS = {Language.DE: "bereits überschritten", Language.EN: "already passed"}
PRIORITY_WORDS = {Language.DE: "vorrangig", Language.EN: "priority"}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize(
    ("kind", "context"),
    [
        ("acknowledgement", {"severity": "critical", "overdue": True}),
        ("followup_received", {"overdue": True}),
        ("status", {"state": "escalated", "responded": False, "overdue": True}),
    ],
)
def test_overdue_mails_say_so_and_promise_no_time(renderer, language, kind, context):
    out = renderer.render(kind, language, customer(**context))
    for part in (out.text, out.html):
        assert OVERDUE_WORDS[language] in part and PRIORITY_WORDS[language] in part
        assert "spätestens" not in part and "at the latest" not in part


@pytest.mark.parametrize("language", list(Language))
def test_status_after_the_resolution_target_says_it_is_overdue(renderer, language):
    out = renderer.render("status", language, customer(state="escalated", responded=True, overdue=True))
    assert PRIORITY_WORDS[language] in out.text
    assert ("bereits bei Ihnen gemeldet" if language is Language.DE else "already been in touch") in out.text


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        (Language.DE, "spätestens bis Dienstag, 26. Mai 2026, 12:00 Uhr"),
        (Language.EN, "by Tuesday, 26 May 2026"),
    ],
)
def test_followup_received_promises_the_response_time(renderer, language, expected):
    due = datetime(2026, 5, 26, 12, 0, tzinfo=BERLIN)
    out = renderer.render("followup_received", language, customer(response_due=due))
    assert expected in out.text and expected in out.html.replace("<strong>", "").replace("</strong>", "")


# --- what process reads before decide() ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "attachments", "in_thread", "intent"),
    [
        ("Vielen Dank, hat geklappt!", (), True, Intent.CLOSING),
        ("Vielen Dank, hat geklappt!", (Attachment("bild.png", "image/png", 2048),), True, None),
        ("Vielen Dank, hat geklappt!", (), False, None),  # no ticket to close: a new conversation
        ("Wann wird das behoben?", (), True, Intent.STATUS),
        ("Wann wird das behoben?", (), False, None),
        ("Wie ist der Stand?", (), False, Intent.STATUS),
    ],
)
def test_read_intent(body, attachments, in_thread, intent):
    mail = replace(make_mail(body=body, text=body), attachments=attachments)
    assert read_intent(mail, in_thread=in_thread) is intent
