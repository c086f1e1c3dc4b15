"""The worker notices edits of the knowledge base's severity examples, as it does for articles."""

from __future__ import annotations

import shutil

from mailbot.app import App
from mailbot.config import Settings
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE


def test_editing_severity_examples_retrains_the_severity_model(tmp_path):
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
    first = app.severity
    assert app.refresh_knowledge_base() is False and app.severity is first

    cosmetic = kb / "_severity" / "cosmetic.md"
    cosmetic.write_text(cosmetic.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert app.refresh_knowledge_base() is True
    assert app.severity is not first
