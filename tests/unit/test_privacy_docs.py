"""docs/privacy.md and its German version docs/privacy.de.md stay in step: the same sections, the same
table rows, every [privacy] key and every mailbot command of the English page in both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailbot.config import PrivacySettings

DOCS = Path(__file__).parents[2] / "docs"
ENGLISH = DOCS / "privacy.md"
GERMAN = DOCS / "privacy.de.md"
_CODE_SPAN = re.compile(r"`([^`]+)`")


def text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def lines_starting(path: Path, prefix: str) -> list[str]:
    return [line for line in text(path).splitlines() if line.startswith(prefix)]


def code_spans(path: Path) -> list[str]:
    """Inline code of a page, a span wrapped over two lines joined by one space."""
    return [" ".join(span.split()) for span in _CODE_SPAN.findall(text(path))]


@pytest.mark.parametrize("prefix", ["## ", "### ", "|"])
def test_same_headings_and_table_rows(prefix: str) -> None:
    english, german = lines_starting(ENGLISH, prefix), lines_starting(GERMAN, prefix)
    assert len(german) == len(english), (
        f"{len(english)} lines starting with {prefix!r} in privacy.md, {len(german)} in privacy.de.md"
    )


@pytest.mark.parametrize("page", [ENGLISH, GERMAN], ids=lambda page: page.name)
@pytest.mark.parametrize("key", sorted(PrivacySettings.model_fields))
def test_every_privacy_key_documented(page: Path, key: str) -> None:
    assert f"`{key}`" in text(page), f"[privacy] {key} is not named (in backticks) in {page.name}"


def test_every_english_command_in_german() -> None:
    commands = {span for span in code_spans(ENGLISH) if span.startswith("mailbot ")}
    assert commands, "no `mailbot ...` command found in privacy.md"
    missing = sorted(commands - set(code_spans(GERMAN)))
    assert not missing, f"commands of privacy.md missing from privacy.de.md: {missing}"


def test_pages_link_each_other() -> None:
    assert "(privacy.de.md)" in text(ENGLISH)
    assert "(privacy.md)" in text(GERMAN)
