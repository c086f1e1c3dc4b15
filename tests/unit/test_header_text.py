"""Subjects and names we write carry no control, escape or bidi/format character (issue 11)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailbot.header_text import one_line, without_controls
from mailbot.parse import parse_mail
from mailbot.reply.names import greeting_name
from mailbot.reply.subject import bare_subject, reply_subject
from mailbot.tickets.team_view import customer_label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mrot\x1b[0m", "rot"),  # SGR colour
        ("a\x1b[2Jb", "ab"),  # clear screen
        ("\x1b]0;pwned\x07Rechnung", "Rechnung"),  # OSC: window title, BEL-terminated
        ("\x1b]8;;https://evil.example\x1b\\Link\x1b]8;;\x1b\\", "Link"),  # OSC 8 hyperlink, ST-terminated
        ("\x9b2Jx", "x"),  # the one-byte C1 CSI
        ("\x1bcReset", "Reset"),  # ESC c: full reset
        ("Rechnung \u202eexe.fdp", "Rechnung exe.fdp"),  # RIGHT-TO-LEFT OVERRIDE
        ("a\u2066b\u2069c\u200fd\u061ce", "abcde"),  # isolates, RLM, Arabic letter mark
        ("Ka\u200btrin\u00ad\ufeff", "Katrin"),  # zero-width space, soft hyphen, BOM
        ("flag \U000e0067\U000e0062", "flag "),  # tag characters
        ("a\x00b\x07c\x7fd\x90e", "abcde"),  # C0, DEL, C1
        ("lone \udc80 surrogate", "lone \ufffd surrogate"),
        ("Grüße, Müller – 日本 😀", "Grüße, Müller – 日本 😀"),  # text stays as written
        ("a\tb\nc", "a\tb\nc"),  # white space is left to the caller
    ],
)
def test_without_controls(text, expected):
    assert without_controls(text) == expected


def test_one_line_collapses_white_space_after_dropping_controls():
    assert one_line(" \x1b[1mApp\x1b[0m \u202e stürzt\r\n ab\u2028 ") == "App stürzt ab"


@given(st.text())
def test_nothing_a_terminal_or_bidi_algorithm_acts_on_is_left(text):
    cleaned = one_line(text)
    assert not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in cleaned)
    assert one_line(cleaned) == cleaned


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        ("Ka\u200btrin Müller", "Katrin Müller"),  # was "Ka Trin Müller"
        ("\x1b[31mKatrin\x1b[0m Müller", "Katrin Müller"),  # was "" (the "31" read as a number)
        ("Katrin \u202eMüller", "Katrin Müller"),
    ],
)
def test_the_greeting_name_drops_controls_and_format_characters(display_name, expected):
    assert greeting_name(display_name) == expected


def test_outgoing_and_team_subjects_and_labels_drop_them():
    subject = "\x1b]0;pwned\x07Rechnung \u202eexe.fdp"
    assert reply_subject(subject, "MB-000001") == "Re: Rechnung exe.fdp [MB-000001]"
    assert bare_subject(subject) == "Rechnung exe.fdp"
    assert customer_label("\x1b[1mErika\u202e", "erika@example.org") == "Erika <erika@example.org>"


def test_the_parsed_subject_drops_them_so_the_stored_ticket_subject_does():
    raw = (
        b"From: erika@example.org\r\nTo: support@example.com\r\n"
        b"Subject: =?utf-8?q?App_st=C3=BCrzt_ab_=E2=80=AEexe.fdp?= \x1b[31mrot\x1b[0m\r\n"
        b"Message-ID: <c-1@example.org>\r\n\r\nHallo\r\n"
    )
    assert parse_mail(raw).subject == "App stürzt ab exe.fdp rot"
