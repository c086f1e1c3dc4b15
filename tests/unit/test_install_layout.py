"""What a wheel user relies on: shipped templates by default, `mailbot init`, nothing outside the package."""

from pathlib import Path

import pytest

from mailbot.cli import main
from mailbot.config import load_settings
from mailbot.errors import ConfigError
from mailbot.kb import check_knowledge_base, load_knowledge_base
from mailbot.paths import EXAMPLE_CONFIG, SHIPPED_KNOWLEDGE_BASE, SHIPPED_TEMPLATES
from mailbot.reply.render import TemplateRenderer, required_templates
from mailbot.scaffold import init_installation

PASSWORDS = {"MAILBOT_IMAP_PASSWORD": "x", "MAILBOT_SMTP_PASSWORD": "y"}
MINIMAL = """
[support]
address = "support@example.com"
[team]
address = "team@example.com"
[maildir]
path = "Maildir"
[smtp]
host = "127.0.0.1"
security = "none"
"""


def test_shipped_files_are_complete():
    assert all((SHIPPED_TEMPLATES / name).is_file() for name in required_templates())
    assert load_knowledge_base(SHIPPED_KNOWLEDGE_BASE).articles
    assert EXAMPLE_CONFIG.is_file()


def test_without_templates_setting_the_shipped_templates_are_used(tmp_path):
    config = tmp_path / "mailbot.toml"
    config.write_text(MINIMAL, encoding="utf-8")
    settings = load_settings(config, env={})
    assert settings.templates.path is None
    assert settings.templates.directory == SHIPPED_TEMPLATES
    TemplateRenderer(settings.templates.directory)  # complete and valid


def test_a_templates_setting_is_relative_to_the_config_file(tmp_path):
    config = tmp_path / "mailbot.toml"
    config.write_text(MINIMAL + '[templates]\npath = "my-templates"\n', encoding="utf-8")
    assert load_settings(config, env={}).templates.directory == tmp_path / "my-templates"


def test_init_writes_a_config_and_a_knowledge_base_that_pass_their_checks(tmp_path, capsys):
    assert main(["init", str(tmp_path / "new")]) == 0
    config = tmp_path / "new" / "mailbot.toml"
    settings = load_settings(config, env=PASSWORDS)
    assert settings.knowledge_base.path == tmp_path / "new" / "knowledge_base"
    assert check_knowledge_base(settings.knowledge_base.path) == []
    assert settings.templates.directory == SHIPPED_TEMPLATES
    out = capsys.readouterr().out
    assert f"mailbot kb check --kb {tmp_path / 'new' / 'knowledge_base'}" in out


def test_init_never_overwrites(tmp_path):
    (tmp_path / "mailbot.toml").write_text("# mine\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="never overwrites"):
        init_installation(tmp_path)
    assert (tmp_path / "mailbot.toml").read_text(encoding="utf-8") == "# mine\n"
    assert not (tmp_path / "knowledge_base").exists()


def test_a_missing_knowledge_base_names_the_config_key_and_the_sample(tmp_path):
    problems = check_knowledge_base(tmp_path / "nowhere")
    assert len(problems) == 1
    text = str(problems[0])
    assert "[knowledge_base] path" in text and "mailbot init" in text and str(SHIPPED_KNOWLEDGE_BASE) in text


def test_package_code_does_not_reach_outside_the_package_for_data():
    """In a wheel there is no checkout: data paths must all come from mailbot.paths."""
    package = Path(__file__).resolve().parents[2] / "mailbot"
    offenders = [
        str(path)
        for path in package.rglob("*.py")
        if path.name != "paths.py" and "parent.parent" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
