"""Subject references: formatting, finding, and reply subjects that do not grow on long threads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.reply.subject import bare_subject, find_references, format_reference, one_line, reply_subject

REF = "MB-000123"


@pytest.mark.parametrize(
    ("prefix", "number", "expected"),
    [
        ("MB", 123, "MB-000123"),
        ("MB", 0, "MB-000000"),
        ("MB", 999999, "MB-999999"),
        ("MB", 1234567, "MB-1234567"),
        ("T1", 5, "T1-000005"),
        ("mb", 7, "mb-000007"),
    ],
)
def test_format_reference(prefix, number, expected):
    assert format_reference(prefix, number) == expected


@pytest.mark.parametrize(
    ("prefix", "number"),
    [("", 1), ("M-B", 1), ("1MB", 1), ("M B", 1), ("MB", -1), ("MB", 10**12), ("MB", True)],
)
def test_format_reference_rejects(prefix, number):
    with pytest.raises(ValueError):
        format_reference(prefix, number)


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Re: Drucker [MB-000123]", (123,)),
        ("[mb-000123] lower-case prefix", (123,)),
        ("[Mb-7] short", (7,)),
        ("[MB-000000000001] twelve digits", (1,)),
        ("[MB-0000000000001] thirteen digits", ()),
        ("MB-000123 without brackets", ()),
        ("[MB-000123 unclosed", ()),
        ("[MB 000123] space", ()),
        ("[MB-] no digits", ()),
        ("[XMB-000123] other prefix", ()),
        ("[MB-12a] trailing letter", ()),
        ("[MB-١٢٣] Arabic-Indic digits", ()),
        ("[MB-1] then [MB-2] then [MB-1]", (1, 2, 1)),
        ("", ()),
    ],
)
def test_find_references(subject, expected):
    assert find_references(subject, "MB") == expected


def test_find_references_rejects_bad_prefix():
    with pytest.raises(ValueError):
        find_references("[MB-1]", "M.B")


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Drucker druckt nicht", "Re: Drucker druckt nicht [MB-000123]"),
        ("Re: Drucker druckt nicht", "Re: Drucker druckt nicht [MB-000123]"),
        ("AW: WG: Re[3]: Drucker", "Re: Drucker [MB-000123]"),
        ("RE: re: Re(2): Antw: Antwort: Fwd: FW: Fw: wg: aw: x", "Re: x [MB-000123]"),
        ("Re : AW:Drucker", "Re: Drucker [MB-000123]"),
        ("Re： full-width colon", "Re: full-width colon [MB-000123]"),
        ("Re: Drucker [MB-000123]", "Re: Drucker [MB-000123]"),
        ("AW: Re: Drucker [MB-000123] [MB-000123]", "Re: Drucker [MB-000123]"),
        ("[MB-000123] AW: Re: Drucker", "Re: Drucker [MB-000123]"),
        ("AW: [MB-000123] Re: Drucker", "Re: Drucker [MB-000123]"),
        ("Re: Drucker [mb-123]", "Re: Drucker [MB-000123]"),
        ("Re: Drucker [MB-000099]", "Re: Drucker [MB-000123]"),
        ("Re: Drucker [JIRA-42]", "Re: Drucker [JIRA-42] [MB-000123]"),
        ("Re: Drucker MB-000123", "Re: Drucker MB-000123 [MB-000123]"),
        ("Drucker Re: kaputt", "Re: Drucker Re: kaputt [MB-000123]"),
        ("Regarding: invoice", "Re: Regarding: invoice [MB-000123]"),
        ("Reply needed", "Re: Reply needed [MB-000123]"),
        ("Awesome: feedback", "Re: Awesome: feedback [MB-000123]"),
        ("  Grüße   aus\tKöln\r\n  ", "Re: Grüße aus Köln [MB-000123]"),
        ("Zeile 1\r\nZeile 2\u2028Zeile 3", "Re: Zeile 1 Zeile 2 Zeile 3 [MB-000123]"),
        ("日本語の件名", "Re: 日本語の件名 [MB-000123]"),
        ("Émoji 🎉 ok", "Re: Émoji 🎉 ok [MB-000123]"),
        ("bad\x00bytes\udcc3", "Re: badbytes\ufffd [MB-000123]"),
        ("", "Re: Support [MB-000123]"),
        ("   ", "Re: Support [MB-000123]"),
        ("Re: AW:", "Re: Support [MB-000123]"),
        ("[MB-000123]", "Re: Support [MB-000123]"),
    ],
)
def test_reply_subject(original, expected):
    assert reply_subject(original, REF) == expected


def test_reply_subject_fallback_is_a_parameter():
    assert reply_subject("", REF, fallback="Ihre Anfrage") == "Re: Ihre Anfrage [MB-000123]"
    assert reply_subject("AW:", REF, fallback="  Your\nrequest ") == "Re: Your request [MB-000123]"


@pytest.mark.parametrize(
    "reference", ["", "MB", "MB-", "MB-12a", "[MB-000123]", "MB 000123", "MB-0000000000001"]
)
def test_reply_subject_rejects_bad_reference(reference):
    with pytest.raises(ValueError):
        reply_subject("x", reference)


@given(st.text(max_size=120), st.integers(min_value=0, max_value=10**12 - 1))
def test_reply_subject_is_stable_on_long_threads(original, number):
    reference = format_reference("MB", number)
    once = reply_subject(original, reference)
    assert reply_subject(once, reference) == once
    assert reply_subject("AW: " + once, reference) == once
    assert find_references(once, "MB") == (number,)
    assert once.startswith("Re: ")
    assert once == one_line(once)
    assert "\r" not in once and "\n" not in once


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (" a \t b\r\nc\x0bd\x1ce\x85f\u2028g\u2029 ", "a b c d e f g"),
        ("a\x00b\x7fc\x9fd", "abcd"),
        ("lone \udc80 surrogate", "lone \ufffd surrogate"),
        ("", ""),
    ],
)
def test_one_line(text, expected):
    assert one_line(text) == expected


MARKERS = ["Re:", "RE: ", "AW:", "Aw :", "WG:", "Fwd:", "Fw:", "Antw:", "Re[2]:", "Re(3):", "Re", ":"]
REFS = ["[MB-000123]", "[mb-7]", "[MB-", "]", "[JIRA-1]", "MB-000123"]
SEPARATORS = [" - ", "-", " – ", ": ", " | "]
FRAGMENTS = st.sampled_from([*MARKERS, *REFS, *SEPARATORS, " ", "\t", "\r\n", "Drucker", "Grüße", "日本"])


@given(st.lists(FRAGMENTS, max_size=12).map("".join))
def test_reply_subject_is_stable_for_marker_soup(original):
    once = reply_subject(original, REF)
    assert reply_subject(once, REF) == once
    assert find_references(once, "MB") == (123,)
    assert not once.removeprefix("Re: ").lower().startswith(("re:", "aw:", "wg:", "fwd:", "fw:"))


# --- follow-ups (issue 10): one "Re:", one reference, whatever the customer's client made of it ---------

FOLLOW_UP_SUBJECTS = [
    # German and English clients, Outlook, Lotus Notes, counted markers
    "Re: Re: Problem [MB-000012]",
    "AW: [MB-000012] Problem",
    "AW: AW: Problem [MB-000012]",
    "WG: AW: Problem [MB-000012]",
    "Fwd: Re: Problem [MB-000012]",
    "FW: Problem [MB-000012]",
    "RE[2]: Problem [MB-000012]",
    "Re(3): Problem [MB-000012]",
    "Antwort: Problem [MB-000012]",
    "Antw: Problem [MB-000012]",
    "aw: re: Problem [MB-000012]",
    # the reference twice, spelled differently, or where a helpdesk puts it
    "Re: Problem [MB-000012] [MB-000012]",
    "Re: [MB-000012] Problem [MB-000012]",
    "AW: Problem [mb-12]",
    "AW: Problem [MB-12] [mb-000012]",
    "Re: [MB-000012] - Problem",
    "AW: [MB-000012]: Problem",
    "Re: Problem - [MB-000012]",
    "Re: Problem – [MB-000012]",
    "[MB-000012] | Problem",
    "Re:\u00a0Problem [MB-000012]",
]


@pytest.mark.parametrize("original", FOLLOW_UP_SUBJECTS)
def test_a_follow_up_gets_one_re_and_one_reference(original):
    assert reply_subject(original, "MB-000012") == "Re: Problem [MB-000012]"


@pytest.mark.parametrize("original", FOLLOW_UP_SUBJECTS)
def test_bare_subject_of_a_follow_up_is_the_topic_alone(original):
    assert bare_subject(original) == "Problem"


@pytest.mark.parametrize(
    ("original", "expected"),
    [
        ("Problem - Teil 2", "Problem - Teil 2"),  # a dash that belongs to the topic stays
        ("Re: 10:00 Termin", "10:00 Termin"),
        ("Problem: [JIRA-42] fehlt", "Problem: fehlt"),
        ("Drucker [MB-000012]-Fehler", "Drucker -Fehler"),
        ("", ""),
    ],
)
def test_bare_subject_keeps_what_is_not_a_marker(original, expected):
    assert bare_subject(original) == expected
