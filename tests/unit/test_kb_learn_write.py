"""An accepted example becomes one new line in the knowledge-base file, every other byte kept."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mailbot.classify.severity_examples import load_severity_examples
from mailbot.kb import check_knowledge_base, load_knowledge_base
from mailbot.kb.learn_write import ExampleNotWritten, with_example
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.reports.learn_apply import NotPlaced, place_article_example, place_severity_example

ARTICLE = """\ufeff---\r
id: password-reset\r
title: Passwort  # a comment stays\r
language: de\r
examples:\r
  - Ich habe mein Passwort vergessen\r
  - |\r
    zwei\r
    Zeilen\r
tags: [konto]\r
---\r
So geht es.\r
"""


def test_the_example_is_appended_to_the_list_and_nothing_else_changes() -> None:
    changed = with_example(ARTICLE, "Passwort weg: was nun? #dringend")
    added = "  - 'Passwort weg: was nun? #dringend'\r\n"
    assert changed == ARTICLE.replace("    Zeilen\r\n", "    Zeilen\r\n" + added, 1)
    assert changed.replace(added, "", 1) == ARTICLE  # exactly one line more: BOM, CRLF, comment kept


@pytest.mark.parametrize("text", ["no", "2024", "- a list?", '"quoted"', "ä ö ü – ß", "{{ name }}"])
def test_any_text_reads_back_as_written(tmp_path: Path, text: str) -> None:
    path = tmp_path / "a.md"
    path.write_text(with_example(ARTICLE.replace("\r\n", "\n").lstrip("\ufeff"), text), encoding="utf-8")
    [article] = load_knowledge_base(tmp_path).articles
    assert article.examples[-1] == text


def test_a_flow_list_is_refused_with_the_fix() -> None:
    with pytest.raises(ExampleNotWritten, match="one entry per line"):
        with_example("---\nid: a\nexamples: [eins, zwei]\n---\nx\n", "drei")


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    root = tmp_path / "kb"
    shutil.copytree(SHIPPED_KNOWLEDGE_BASE, root)
    return root


def test_placing_an_article_example_keeps_kb_check_passing(kb: Path) -> None:
    placed = place_article_example(kb, "password-reset", "en", "Locked out, the reset mail never arrives")
    assert placed.written and placed.path.name == "password-reset.en.md"
    assert check_knowledge_base(kb) == []
    again = place_article_example(kb, "password-reset", "en", "locked out, the reset mail never arrives!")
    assert not again.written  # the same example (case and end punctuation ignored) is not written twice


def test_an_example_of_another_topic_or_an_unknown_article_is_refused(kb: Path) -> None:
    deletion = next(a for a in load_knowledge_base(kb).articles if a.id == "account-deletion")
    with pytest.raises(NotPlaced, match="example of account-deletion already"):
        place_article_example(kb, "password-reset", "de", deletion.examples[0])
    with pytest.raises(NotPlaced, match="did you mean 'password-reset'"):
        place_article_example(kb, "pasword-reset", "de", "neu")


def test_an_out_of_scope_example_goes_to_its_file(kb: Path) -> None:
    placed = place_article_example(kb, "_out_of_scope", "de", "Ich möchte Ihre Firma verklagen, Herr Anwalt")
    assert placed.path.name == "_out_of_scope.md"
    assert "Ich möchte Ihre Firma verklagen, Herr Anwalt" in load_knowledge_base(kb).out_of_scope.examples  # type: ignore[union-attr]


def test_a_severity_example_goes_to_its_class_file(kb: Path) -> None:
    text = "Die Buchung geht nur bei mir nicht, auf dem Tablet klappt es"
    placed = place_severity_example(kb, "minor", text)
    assert placed.path == kb / "_severity" / "minor.md"
    assert any(e.text == text and e.label == "minor" for e in load_severity_examples(kb))
    with pytest.raises(NotPlaced, match="minor example already"):
        place_severity_example(kb, "major", text)
    with pytest.raises(NotPlaced, match="not a severity class"):
        place_severity_example(kb, "urgent", text)


def test_without_a_severity_folder_nothing_is_created(kb: Path) -> None:
    shutil.rmtree(kb / "_severity")
    with pytest.raises(NotPlaced, match="no _severity/ folder"):
        place_severity_example(kb, "major", "geht nicht")
    assert not (kb / "_severity").exists()
