"""Pure parts of what agents and operators read: terminal escaping, references as typed, overdue,
excerpts and the "closed until ..." line (issue 10)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.clock import BusinessCalendar
from mailbot.config import BusinessHoursSettings
from mailbot.status import availability, availability_line, short_time
from mailbot.terminal import safe_json, safe_line, safe_text
from mailbot.tickets.service import parse_reference
from mailbot.tickets.views import excerpt, is_overdue

BERLIN = ZoneInfo("Europe/Berlin")
# what a terminal acts on or what reorders text: C0/C1 controls, bidi and zero-width format characters,
# line/paragraph separators, tag characters above U+FFFF
UNSAFE = ["\x1b", "\x07", "\x9b", "\r", "\u202e", "\u2066", "\u200b", "\ufeff", "\u2028", "\U000e0041"]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("\x1b[31mrot\x1b[0m", "\\x1b[31mrot\\x1b[0m"),
        ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
        ("\x9b2J", "\\x9b2J"),
        ("abc\u202etxt.exe", "abc\\u202etxt.exe"),
        ("zero\u200bwidth", "zero\\u200bwidth"),
        ("tag\U000e0041", "tag\\U000e0041"),
        ("two\nlines\r\ttab", "two\\x0alines\\x0d\\x09tab"),
        ("bad \udc80 byte", "bad \\udc80 byte"),
        ("Grüße, 東京 😀", "Grüße, 東京 😀"),  # ordinary letters and symbols stay as they are
        (None, ""),
    ],
)
def test_safe_line_shows_every_control_and_format_character_as_an_escape(text, shown) -> None:
    assert safe_line(text) == shown


def test_safe_text_keeps_lines_and_tabs_but_no_carriage_return() -> None:
    assert safe_text("a\r\nb\rc\n\td\x1b[2J") == "a\nb\nc\n\td\\x1b[2J"


@given(st.lists(st.text(), max_size=4), st.text())
def test_safe_json_decodes_to_the_same_data_and_holds_nothing_unsafe(values, key) -> None:
    data = {key: values, "extra": UNSAFE}
    text = safe_json(data)
    assert json.loads(text) == data
    assert not [ch for ch in UNSAFE if ch in text]
    assert all(ch == "\n" or not (ch < " " or "\x7f" <= ch <= "\x9f") for ch in text)


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("PF-000006", ("PF", 6)),
        ("pf-6", ("PF", 6)),
        ("Pf-0006", ("PF", 6)),
        ("[PF-000006]", ("PF", 6)),
        (" mb-123 ", ("MB", 123)),
        ("6", (None, 6)),
        ("000006", (None, 6)),
        ("MB2-1234567", ("MB2", 1234567)),
        ("", None),
        ("PF-", None),
        ("PF 6", None),
        ("sechs", None),
        ("PF-6a", None),
        ("PF-1234567890123", None),  # longer than any reference can be
        ("-6", None),
        ("٦", None),  # an Arabic-Indic digit is no ticket number
    ],
)
def test_references_are_read_as_people_type_them(typed, parsed) -> None:
    assert parse_reference(typed) == parsed


NOW = datetime(2026, 5, 26, 12, 0, tzinfo=UTC)
EARLIER, LATER = NOW - timedelta(minutes=1), NOW + timedelta(minutes=1)


@pytest.mark.parametrize(
    ("state", "response_due", "responded", "resolution_due", "overdue"),
    [
        ("escalated", LATER, None, LATER, False),
        ("escalated", EARLIER, None, LATER, True),  # no first answer in time
        ("escalated", NOW, None, LATER, True),  # due now is due
        ("escalated", EARLIER, EARLIER, LATER, False),  # answered: the response target is met
        ("escalated", EARLIER, EARLIER, EARLIER, True),  # answered but not solved in time
        ("answered", None, None, EARLIER, True),  # not solved, whatever the state is called
        ("solved", EARLIER, None, EARLIER, False),  # solved is never overdue
        ("escalated", None, None, None, False),  # no SLA (a question, no severity)
    ],
)
def test_overdue_means_not_solved_and_a_due_time_missed(
    state, response_due, responded, resolution_due, overdue
) -> None:
    assert is_overdue(state, response_due, responded, resolution_due, NOW) is overdue


def test_excerpt_is_one_line_and_says_when_it_cut() -> None:
    assert excerpt("kurz\n\n  und   gut") == ("kurz und gut", False)
    text, cut = excerpt("wort " * 100, limit=50)
    assert cut and len(text) == 50 and text.endswith("…") and "\n" not in text


def calendar(**extra: object) -> BusinessCalendar:
    hours = ["08:00-12:00", "13:00-18:00"]
    days = {day: hours for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
    return BusinessCalendar.from_settings(BusinessHoursSettings(timezone="Europe/Berlin", **days, **extra))


def test_closed_on_a_saturday_until_monday_morning() -> None:
    saturday = datetime(2026, 12, 5, 10, 0, tzinfo=BERLIN)
    status = availability(calendar(), saturday, 3, "acknowledge")
    assert status == {
        "open": False,
        "next_opening": "2026-12-07T08:00+01:00",
        "waiting": 3,
        "outside_hours": "acknowledge",
    }
    opening = calendar().next_opening(saturday)
    line = availability_line(False, opening, 3, "acknowledge", saturday)
    assert line == "closed until Mon 7 Dec 08:00 CET, 3 mails waiting"
    assert availability_line(False, opening, 1, "wait", saturday) == (
        "closed until Mon 7 Dec 08:00 CET, 1 mail waiting (new mail stays in the mailbox until then)"
    )


def test_open_and_never_open_and_a_new_year() -> None:
    tuesday = datetime(2026, 5, 26, 9, 0, tzinfo=BERLIN)
    assert availability(calendar(), tuesday, 0)["open"] is True
    assert availability_line(True, None, 0, "wait", tuesday) == "open, 0 mails waiting"
    assert "never opens" in availability_line(False, None, 2, "wait", tuesday)
    new_year = datetime(2027, 1, 4, 8, 0, tzinfo=BERLIN)
    assert short_time(new_year, datetime(2026, 12, 31, 18, 0, tzinfo=BERLIN)) == "Mon 4 Jan 2027 08:00 CET"
    summer = datetime(2026, 6, 1, 8, 0, tzinfo=BERLIN)
    assert short_time(summer, tuesday) == "Mon 1 Jun 08:00 CEST"
