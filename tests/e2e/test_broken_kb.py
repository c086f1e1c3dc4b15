"""A knowledge base broken at start-up: `run --once` answers with the last good model, as the worker does."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from tests.e2e.conftest import Bot, make_mail, text_of

pytestmark = pytest.mark.servers

CUSTOMER = "erika.muster@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def own_kb(bot: Bot, tmp_path: Path) -> Path:
    kb = tmp_path / "kb"
    shutil.copytree(SHIPPED_KNOWLEDGE_BASE, kb)
    bot.config.write_text(bot.config.read_text().replace(str(SHIPPED_KNOWLEDGE_BASE), str(kb)))
    return kb


def break_password_article(kb: Path) -> Path:
    """An agent's half-finished edit: a new answer text, and a language the KB does not know (line 4)."""
    article = kb / "account" / "password-reset.de.md"
    text = article.read_text(encoding="utf-8")
    assert text.splitlines()[3] == "language: de"
    text = text.replace("language: de", "language: deutsch").replace("60 Minuten gültig", "NEUER ENTWURF")
    article.write_text(text, encoding="utf-8")
    return article


def test_run_once_with_a_broken_kb_answers_with_the_last_good_model(bot: Bot, tmp_path, caplog, capsys):
    kb = own_kb(bot, tmp_path)
    assert main(["train", "--config", str(bot.config)]) == 0
    article = break_password_article(kb)
    severity = kb / "_severity" / "critical.md"
    severity.write_text(
        severity.read_text(encoding="utf-8").replace("severity: critical", "severity: urgent")
    )
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))

    with caplog.at_level(logging.INFO):
        bot.run_once()

    [answer] = bot.sent_to(CUSTOMER)
    assert "60 Minuten gültig" in text_of(answer)  # the article as it was trained, not the broken edit
    assert "NEUER ENTWURF" not in text_of(answer)
    errors = [record.getMessage() for record in caplog.records if record.levelno == logging.ERROR]
    assert any(
        "answering with the last good model" in e and f"{article}:4:" in e and "fix:" in e for e in errors
    )
    assert any("signals alone" in e and "_severity/critical.md" in e for e in errors)
    [row] = bot.inbound()
    assert row.outcome == "answered"


@pytest.mark.own_model
def test_with_no_good_model_a_broken_kb_stops_the_start_with_its_problems(bot: Bot, tmp_path, capsys):
    article = break_password_article(own_kb(bot, tmp_path))
    capsys.readouterr()
    bot.run_once(expect=2)
    err = capsys.readouterr().err
    assert f"{article}:4:" in err and "fix:" in err


@pytest.mark.own_model
def test_a_missing_kb_folder_names_the_config_key(bot: Bot, tmp_path, capsys):
    missing = tmp_path / "no-such-kb"
    bot.config.write_text(bot.config.read_text().replace(str(SHIPPED_KNOWLEDGE_BASE), str(missing)))
    bot.run_once(expect=2)
    err = capsys.readouterr().err
    assert f"set [knowledge_base] path in {bot.config} to your articles' folder" in err
    assert "--kb" not in err
