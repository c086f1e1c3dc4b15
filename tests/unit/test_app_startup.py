"""Start-up pays only for what it needs (issue 13): no scikit-learn to import the app or to read the
command line, the models loaded when the first mail needs them; what can be wrong is still found at start."""

from __future__ import annotations

import json
import subprocess
import sys

from mailbot.app import build_app, load_or_train
from mailbot.classify import store
from mailbot.config import Settings
from mailbot.kb import load_knowledge_base
from tests.unit.test_classify import write_kb

HEAVY = ("sklearn", "skops", "scipy")


def imported_after(code: str) -> list[str]:
    """The heavy top-level packages that `code`, run in a fresh interpreter, has imported."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return [name for name in json.loads(out.splitlines()[-1]) if name in HEAVY]


def test_importing_the_app_and_the_model_store_imports_no_scikit_learn():
    assert imported_after("import mailbot.app, mailbot.classify.store, mailbot.clients.fleet") == []


def test_building_the_command_line_parser_imports_no_skops():
    assert "skops" not in imported_after("from mailbot.cli import _parser\n_parser()")


def test_building_the_command_line_parser_imports_no_scikit_learn():
    assert imported_after("from mailbot.cli import _parser\n_parser()") == []


def settings_for(tmp_path) -> Settings:
    return Settings.model_validate(
        {
            "support": {"address": "support@example.com"},
            "team": {"address": "team@example.com"},
            "maildir": {"path": str(tmp_path / "Maildir")},
            "smtp": {"host": "127.0.0.1", "security": "none"},
            "database": {"url": f"sqlite:///{tmp_path / 'mailbot.db'}"},
            "knowledge_base": {"path": str(tmp_path / "kb")},
            "classifier": {"model_dir": str(tmp_path / "model")},
        }
    )


def test_a_fitting_saved_model_is_loaded_when_the_first_mail_needs_it(tmp_path):
    settings = settings_for(tmp_path)
    trained = load_or_train(load_knowledge_base(write_kb(tmp_path / "kb")), settings.classifier)

    app = build_app(settings)
    try:
        assert "classifier" not in app.__dict__ and "severity" not in app.__dict__
        assert app.__dict__["severity_examples"] == ()  # read at start: this KB has no _severity/
        assert app.classifier.version == trained.version and app.classifier.threshold == trained.threshold
        assert app.severity.guess("Die App stürzt ab", "bei allen Nutzern").reasons
    finally:
        app.close()


def test_a_saved_model_that_does_not_fit_is_trained_at_start(tmp_path):
    settings = settings_for(tmp_path)
    write_kb(tmp_path / "kb")
    app = build_app(settings)  # no saved model: trained now, as before, not at the first mail
    try:
        assert "classifier" in app.__dict__
        assert (
            json.loads((tmp_path / "model" / store.CARD_FILE).read_text())["version"]
            == app.classifier.version
        )
    finally:
        app.close()


def test_broken_severity_examples_are_reported_at_start(tmp_path, caplog):
    settings = settings_for(tmp_path)
    load_or_train(load_knowledge_base(write_kb(tmp_path / "kb")), settings.classifier)
    (tmp_path / "kb" / "_severity").mkdir()
    (tmp_path / "kb" / "_severity" / "critcal.md").write_text("---\nseverity: critical\n---\n")

    app = build_app(settings)
    try:
        assert "the severity examples have problems" in caplog.text and "critcal.md" in caplog.text
        assert app.severity.pipeline is None  # signals alone until they are fixed
    finally:
        app.close()
