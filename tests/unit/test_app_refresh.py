"""The worker notices edits of the knowledge base's severity examples, as it does for articles."""

from __future__ import annotations

import shutil
from pathlib import Path

import mailbot.app
from mailbot.app import App
from mailbot.config import Settings
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE


def app_on_a_copy_of_the_sample_kb(tmp_path) -> tuple[App, Path]:
    kb = tmp_path / "kb"
    shutil.copytree(SHIPPED_KNOWLEDGE_BASE, kb)
    settings = Settings.model_validate(
        {
            "support": {"address": "support@example.com"},
            "team": {"address": "team@example.com"},
            "maildir": {"path": str(tmp_path / "Maildir")},
            "smtp": {"host": "127.0.0.1", "security": "none"},
            "knowledge_base": {"path": str(kb)},
            "classifier": {"model_dir": str(tmp_path / "model")},
        }
    )
    app = App(settings, engine=None, sessions=None)  # type: ignore[arg-type]  # no database needed here
    return app, kb


def test_editing_severity_examples_retrains_the_severity_model(tmp_path):
    app, kb = app_on_a_copy_of_the_sample_kb(tmp_path)
    first = app.severity
    assert app.refresh_knowledge_base() is False and app.severity is first

    cosmetic = kb / "_severity" / "cosmetic.md"
    added = "examples:\n  - Das Häkchen im Kalender ist blau statt grün\n"
    text = cosmetic.read_text(encoding="utf-8")
    cosmetic.write_text(text.replace("examples:\n", added, 1), encoding="utf-8")
    assert app.refresh_knowledge_base() is True
    assert app.severity is not first
    assert "Das Häkchen im Kalender ist blau statt grün" in app.severity.example_texts


def test_a_severity_file_touched_without_new_examples_keeps_the_model(tmp_path):
    app, kb = app_on_a_copy_of_the_sample_kb(tmp_path)
    first = app.severity
    cosmetic = kb / "_severity" / "cosmetic.md"
    cosmetic.write_text(cosmetic.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert app.refresh_knowledge_base() is True  # read again, and the same examples give the same model
    assert app.severity is first


def test_an_unchanged_knowledge_base_is_not_read_again_at_every_pass(tmp_path, monkeypatch):
    app, kb = app_on_a_copy_of_the_sample_kb(tmp_path)
    _ = app.kb, app.severity  # as build_app leaves it
    reads: list[Path] = []
    real = mailbot.app.load_configured_kb
    monkeypatch.setattr(mailbot.app, "load_configured_kb", lambda s: reads.append(kb) or real(s))
    assert app.refresh_knowledge_base() is False and len(reads) == 1  # the first look reads it
    assert app.refresh_knowledge_base() is False and len(reads) == 1  # nothing changed: only stat
    article = sorted((kb / "account").glob("*.md"))[0]
    article.write_text(article.read_text(encoding="utf-8") + "\nNeu: auch per App.\n", encoding="utf-8")
    assert app.refresh_knowledge_base() is True and len(reads) == 2  # an edit is read at the next pass
    monkeypatch.setattr(mailbot.app, "FULL_LOOK_SECONDS", 0.0)  # a while later: read again anyway
    assert app.refresh_knowledge_base() is False and len(reads) == 3
