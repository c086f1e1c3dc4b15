"""`mailbot kb learn`: which tickets become training examples (pure selection, fixed clock).

Calendar: Mon-Fri 09:00-17:00 Europe/Berlin; window 3 business days. Friday 2026-12-04 10:00 + 3
business days is Wednesday 2026-12-09 10:00.
"""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from mailbot.clock import BusinessCalendar
from mailbot.reports.learn_select import (
    ARTICLE,
    SEVERITY,
    Event,
    TicketHistory,
    article_candidate,
    candidates,
    severity_candidate,
)
from mailbot.reports.learn_text import example_text, mask, shorten

BERLIN = ZoneInfo("Europe/Berlin")
CALENDAR = BusinessCalendar(
    BERLIN, ((((time(9), time(17)),),) * 5) + ((), ()), frozenset({date(2026, 12, 25)})
)
WINDOW = 3
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie komme ich wieder in mein Konto?"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


ANSWERED = at("2026-12-04 10:00")  # a Friday
CLOSES = at("2026-12-09 10:00")
AFTER = at("2026-12-10 09:00")


def history(*events: Event, ticket_id: int = 7, ranking: tuple[tuple[str, float], ...] = ()) -> TicketHistory:
    opened = Event(at("2026-12-03 15:00"), "escalated", "below the threshold")
    return TicketHistory(
        ticket_id, f"MB-{ticket_id:06d}", "de", "Passwort", QUESTION, (opened, *events), ranking
    )


def test_an_escalated_ticket_answered_by_an_agent_and_quiet_for_the_window_is_offered() -> None:
    found = article_candidate(
        history(Event(ANSWERED, "agent_reply", "Bitte ..."), ranking=(("password-reset", 0.41),)),
        CALENDAR,
        AFTER,
        WINDOW,
    )
    assert found is not None
    assert (found.id, found.kind, found.reference, found.pending) == ("t7", ARTICLE, "MB-000007", False)
    assert found.window_closes == CLOSES
    assert found.target is None  # the agent wrote their own text: the article is named at confirmation
    assert found.ranking == (("password-reset", 0.41),)
    assert found.text == QUESTION  # the subject repeats the body, so it is left out as the classifier does


@pytest.mark.parametrize(
    ("now", "pending"),
    [(at("2026-12-09 09:59"), True), (CLOSES, False)],
    ids=["window-open", "window-closed"],
)
def test_the_window_is_three_business_days_of_the_clients_calendar(now: datetime, pending: bool) -> None:
    found = article_candidate(history(Event(ANSWERED, "agent_reply", "x")), CALENDAR, now, WINDOW)
    assert found is not None and found.pending is pending


@pytest.mark.parametrize("kind", ["customer_reply", "failure_signal", "reopened"])
def test_a_customer_coming_back_within_the_window_means_no_example(kind: str) -> None:
    came_back = Event(at("2026-12-08 11:00"), kind, "geht immer noch nicht", inbound_id=9)
    assert (
        article_candidate(history(Event(ANSWERED, "agent_reply", "x"), came_back), CALENDAR, AFTER, WINDOW)
        is None
    )
    # a failure is final at once, even while the window is still open
    assert (
        article_candidate(
            history(Event(ANSWERED, "agent_reply", "x"), came_back), CALENDAR, at("2026-12-08 12:00"), 3
        )
        is None
    )


def test_a_comeback_after_the_window_or_a_thank_you_is_no_failure() -> None:
    late = Event(at("2026-12-09 10:00"), "customer_reply", "neue Frage", inbound_id=10)
    thanks = (
        Event(at("2026-12-07 09:30"), "customer_reply", "danke", inbound_id=11),
        Event(at("2026-12-07 09:30"), "customer_closing", "thanks", inbound_id=11),
    )
    found = article_candidate(
        history(Event(ANSWERED, "agent_reply", "x"), *thanks, late), CALENDAR, AFTER, WINDOW
    )
    assert found is not None and not found.pending


def test_not_offered_without_an_escalation_or_a_persons_answer() -> None:
    automatic = TicketHistory(3, "MB-000003", "de", "", QUESTION, (Event(ANSWERED, "agent_reply", "x"),))
    assert article_candidate(automatic, CALENDAR, AFTER, WINDOW) is None  # never with the 2nd level
    silent_solve = history(Event(ANSWERED, "solved", "(no message)"))
    assert article_candidate(silent_solve, CALENDAR, AFTER, WINDOW) is None
    incident = history(Event(ANSWERED, "solved", "solved with its incident MB-000001"))
    assert article_candidate(incident, CALENDAR, AFTER, WINDOW) is None
    solved_with_words = history(Event(ANSWERED, "solved", "Behoben in Version 2.3.1."))
    assert article_candidate(solved_with_words, CALENDAR, AFTER, WINDOW) is not None


def test_the_article_is_the_one_the_agent_sent_by_mail() -> None:
    by_mail = (
        Event(ANSWERED, "agent_reply", "So setzen Sie ...", inbound_id=5),
        Event(
            ANSWERED, "answered_by_mail", "katrin@agency.example", inbound_id=5, article_id="password-reset"
        ),
    )
    found = article_candidate(history(*by_mail), CALENDAR, AFTER, WINDOW)
    assert found is not None and found.target == "password-reset"


def test_the_window_starts_at_the_first_answer() -> None:
    second = Event(at("2026-12-08 10:00"), "agent_reply", "Nachtrag")
    found = article_candidate(history(Event(ANSWERED, "agent_reply", "x"), second), CALENDAR, AFTER, WINDOW)
    assert found is not None and found.answered_at == ANSWERED and found.window_closes == CLOSES


def test_a_severity_correction_offers_the_final_class() -> None:
    corrected = history(
        Event(at("2026-12-03 16:00"), "severity_corrected", "critical -> minor: nur bei mir"),
        Event(at("2026-12-03 16:05"), "severity_corrected", "minor -> major"),
    )
    found = severity_candidate(corrected)
    assert found is not None and (found.id, found.kind, found.target) == ("s7", SEVERITY, "major")
    no_fault = severity_candidate(history(Event(ANSWERED, "severity_corrected", "minor -> none: Frage")))
    assert no_fault is not None and no_fault.target == "none"
    assert severity_candidate(history(Event(ANSWERED, "severity_corrected", "nonsense"))) is None


def test_decided_candidates_are_not_offered_again_and_order_is_by_ticket() -> None:
    answered = Event(ANSWERED, "agent_reply", "x")
    corrected = Event(ANSWERED, "severity_corrected", "minor -> major")
    histories = [history(answered, corrected, ticket_id=9), history(answered, ticket_id=4)]
    assert [c.id for c in candidates(histories, CALENDAR, AFTER, WINDOW)] == ["t4", "t9", "s9"]
    assert [c.id for c in candidates(histories, CALENDAR, AFTER, WINDOW, frozenset({"t9"}))] == ["t4", "s9"]


def test_the_example_masks_what_identifies_the_customer() -> None:
    text = (
        "Meine Adresse ist erika.muster@example.org, Telefon +49 170 1234567 oder (030) 123-4567, "
        "IBAN DE89 3704 0044 0532 0130 00 und Kundennummer 4711081542. Version 2.3.1 seit 3 Tagen."
    )
    masked = mask(text)
    for secret in ("erika.muster", "1234567", "123-4567", "3704", "4711081542", "DE89"):
        assert secret not in masked
    assert "name@example.org" in masked and "DE00 0000" in masked and "0000000000" in masked
    assert "Version 2.3.1 seit 3 Tagen" in masked  # short numbers carry meaning and identify no one


def test_the_example_is_one_shortened_line_with_the_subject_when_it_adds_a_topic() -> None:
    text = example_text("AW: Abo kündigen [MB-000123]", "Hallo,\n\nwie geht das?\n" + "sehr " * 200)
    assert text.startswith("Abo kündigen Hallo, wie geht das? sehr")  # reply marker, reference dropped
    assert "\n" not in text and len(text) <= 300 and not text.endswith(" ")
    assert shorten("kurz") == "kurz"
    assert (
        example_text("Frage", "Wie lösche ich mein Konto?") == "Wie lösche ich mein Konto?"
    )  # generic subject
