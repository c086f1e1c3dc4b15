"""The saved model keeps the articles it was trained on, so it can answer while the KB is broken."""

from __future__ import annotations

import json

from mailbot.app import load_kb_and_classifier, load_or_train
from mailbot.classify import store
from mailbot.classify.snapshot import ARTICLES_FILE, read_snapshot, write_snapshot
from mailbot.config import Settings
from mailbot.kb import load_knowledge_base
from tests.unit.test_classify import write_kb


def settings_for(tmp_path) -> Settings:
    return Settings.model_validate(
        {
            "support": {"address": "support@example.com"},
            "team": {"address": "team@example.com"},
            "maildir": {"path": str(tmp_path / "Maildir")},
            "smtp": {"host": "127.0.0.1", "security": "none"},
            "knowledge_base": {"path": str(tmp_path / "kb")},
            "classifier": {"model_dir": str(tmp_path / "model")},
        }
    )


def test_the_snapshot_gives_back_the_same_articles(tmp_path):
    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    write_snapshot(kb, tmp_path / "model")
    assert read_snapshot(tmp_path / "model", kb.digest, kb.root) == kb
    assert read_snapshot(tmp_path / "model", "another-digest", kb.root) is None
    data = json.loads((tmp_path / "model" / ARTICLES_FILE).read_text(encoding="utf-8"))
    assert data["articles"][0]["path"] == "cancel-subscription.md"  # relative: the KB may move


def test_a_trained_model_is_saved_with_its_articles(tmp_path):
    settings = settings_for(tmp_path)
    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    load_or_train(kb, settings.classifier)
    card = json.loads((tmp_path / "model" / store.CARD_FILE).read_text(encoding="utf-8"))
    assert card["articles_file"] == ARTICLES_FILE
    good = store.last_good(tmp_path / "model", kb.root, 0.97)
    assert good is not None and good.kb == kb and good.classifier.version == card["version"]


def test_a_model_saved_without_articles_gets_them_at_the_next_load(tmp_path):
    settings = settings_for(tmp_path)
    kb = load_knowledge_base(write_kb(tmp_path / "kb"))
    load_or_train(kb, settings.classifier)
    (tmp_path / "model" / ARTICLES_FILE).unlink()  # as saved by an earlier mailbot
    assert store.last_good(tmp_path / "model", kb.root, 0.97) is None
    load_or_train(kb, settings.classifier)
    assert store.last_good(tmp_path / "model", kb.root, 0.97) is not None


def test_a_broken_kb_falls_back_to_the_last_good_model_and_articles(tmp_path, caplog):
    settings = settings_for(tmp_path)
    write_kb(tmp_path / "kb")
    good_kb, trained = load_kb_and_classifier(settings)
    article = tmp_path / "kb" / "push-notifications.md"
    article.write_text(article.read_text().replace("language: en", "language: xx"))

    kb, classifier = load_kb_and_classifier(settings)

    assert kb == good_kb and classifier.version == trained.version
    assert f"{article}:4: language 'xx' is not allowed" in caplog.text
    assert "answering with the last good model" in caplog.text


def test_other_settings_than_the_saved_model_had_mean_no_fallback(tmp_path):
    settings = settings_for(tmp_path)
    write_kb(tmp_path / "kb")
    kb, _ = load_kb_and_classifier(settings)
    assert store.last_good(tmp_path / "model", kb.root, 0.9) is None  # another target precision
