"""Configuration: the example file is valid, and every mistake names its key and the fix."""

from pathlib import Path

import pytest

from mailbot.config import load_settings, secret
from mailbot.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]

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


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_example_config_is_valid():
    settings = load_settings(
        ROOT / "mailbot.example.toml", env={"MAILBOT_IMAP_PASSWORD": "x", "MAILBOT_SMTP_PASSWORD": "y"}
    )
    assert settings.imap is not None and settings.imap.security == "tls"
    assert settings.imap.tls_verify is True
    assert settings.business_hours.monday == ["08:00-12:00", "13:00-17:00"]
    assert settings.message_id_domain == "example.com"


def test_minimal_config_resolves_paths_relative_to_the_file(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), env={})
    assert settings.maildir is not None and settings.maildir.path == tmp_path / "Maildir"
    assert settings.database.url == f"sqlite:///{tmp_path / 'mailbot.db'}"
    assert settings.knowledge_base.path == tmp_path / "knowledge_base"
    assert settings.support.ticket_prefix == "MB"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("port = 25", 'port = "abc"'), "[smtp] port"),
        (('security = "none"', 'security = "ssl"'), "[smtp] security"),
        (('address = "support@example.com"', 'address = "support"'), "[support] address"),
        (('host = "127.0.0.1"', 'host = "127.0.0.1"\nhots = "x"'), "[smtp] hots: unknown key"),
        (('[team]\naddress = "team@example.com"', ""), "[team]: required key is missing"),
    ],
)
def test_mistakes_name_the_key(tmp_path, change, expected):
    text = MINIMAL.replace('security = "none"', 'security = "none"\nport = 25')
    text = text.replace(*change)
    with pytest.raises(ConfigError) as error:
        load_settings(write(tmp_path, text), env={})
    assert expected in str(error.value)
    assert str(tmp_path / "mailbot.toml") in str(error.value)


def test_toml_syntax_error_names_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"mailbot.toml: TOML syntax error: .*line 3"):
        load_settings(write(tmp_path, '[support]\naddress = "a@b.de"\nname = \n'), env={})


def test_two_sources_are_refused(tmp_path):
    text = MINIMAL + '[imap]\nhost = "imap.example.com"\n'
    with pytest.raises(ConfigError, match="exactly one mail source"):
        load_settings(write(tmp_path, text), env={})


def test_bad_opening_hours(tmp_path):
    text = MINIMAL + '[business_hours]\nmonday = ["17:00-08:00"]\n'
    with pytest.raises(ConfigError, match=r"\[business_hours\] monday.*ends before it starts"):
        load_settings(write(tmp_path, text), env={})


def test_secret_from_environment_wins_and_never_shows(tmp_path):
    text = MINIMAL.replace('security = "none"', 'security = "none"\nusername = "bot"\npassword = "in-file"')
    settings = load_settings(write(tmp_path, text), env={"MAILBOT_SMTP_PASSWORD": "from-env"})
    assert secret(settings.smtp, "smtp", {"MAILBOT_SMTP_PASSWORD": "from-env"}) == "from-env"
    assert secret(settings.smtp, "smtp", {}) == "in-file"
    assert "in-file" not in repr(settings) and "in-file" not in str(settings.model_dump())


def test_username_without_password_says_which_variable(tmp_path):
    text = MINIMAL.replace('security = "none"', 'security = "none"\nusername = "bot"')
    with pytest.raises(ConfigError, match="MAILBOT_SMTP_PASSWORD"):
        load_settings(write(tmp_path, text), env={})


def test_missing_file_and_env(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="MAILBOT_CONFIG"):
        load_settings(None, env={})
