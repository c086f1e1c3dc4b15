"""The note of a severity correction is read back by the reports: the two must agree."""

from __future__ import annotations

import pytest

from mailbot.tickets.correction import correction_note, parse_correction


@pytest.mark.parametrize(
    ("old", "new", "note"),
    [("minor", "major", "alle Nutzer"), (None, "critical", ""), ("cosmetic", None, "kein Fehler: a -> b")],
)
def test_a_correction_note_reads_back(old: str | None, new: str | None, note: str) -> None:
    assert parse_correction(correction_note(old, new, note)) == (old, new)


@pytest.mark.parametrize(
    "note", ["", "minor", "minor -> urgent", "whatever -> major", "reopened by an agent"]
)
def test_other_notes_are_no_corrections(note: str) -> None:
    assert parse_correction(note) is None
