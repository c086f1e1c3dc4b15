"""Configuration: the example file is valid, and every mistake names its key and the fix."""

from pathlib import Path

import pytest

from mailbot.config import SlaSettings, SlaTarget, load_settings, secret
from mailbot.domain import Severity
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
    holidays = settings.business_hours.holidays
    assert holidays is not None and (holidays.country, holidays.subdivision) == ("DE", "BY")
    assert settings.business_hours.outside_hours == "wait"
    assert settings.sla == SlaSettings()  # the example spells out the defaults


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


def test_defaults_without_business_hours_or_sla(tmp_path):
    settings = load_settings(write(tmp_path, MINIMAL), env={})
    assert settings.business_hours.holidays is None and settings.business_hours.outside_hours == "wait"
    assert settings.sla.warn_at == 0.75
    assert settings.sla.target(Severity.CRITICAL) == SlaTarget(response_hours=2, resolution_hours=8)
    assert settings.sla.target(Severity.COSMETIC) == SlaTarget(response_hours=40, resolution_hours=200)


def test_holidays_and_sla_are_read(tmp_path):
    text = MINIMAL + (
        '[business_hours]\nmonday = ["08:00-17:00"]\nholidays = { country = "de", subdivision = "Bayern" }\n'
        'outside_hours = "acknowledge"\n[sla]\nwarn_at = 0.5\n[sla.major]\nresponse_hours = 4\n'
        "resolution_hours = 16.5\n"
    )
    settings = load_settings(write(tmp_path, text), env={})
    holidays = settings.business_hours.holidays
    assert holidays is not None and (holidays.country, holidays.subdivision) == ("DE", "BY")  # normalised
    assert settings.business_hours.outside_hours == "acknowledge"
    assert settings.sla.warn_at == 0.5
    assert settings.sla.target(Severity.MAJOR) == SlaTarget(response_hours=4, resolution_hours=16.5)
    assert settings.sla.target(Severity.MINOR) == SlaTarget(response_hours=24, resolution_hours=80)


HOURS = '[business_hours]\nmonday = ["08:00-17:00"]\n'


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            HOURS + 'holidays = { country = "XX" }\n',
            r"\[business_hours\] holidays\.country: unknown holiday country 'XX'; "
            r"use an ISO 3166-1 code, one of: .*\bDE\b.*\(got 'XX'\)",
        ),
        (
            HOURS + 'holidays = { country = "DE", subdivision = "BYX" }\n',
            r"\[business_hours\] holidays\.subdivision: unknown subdivision 'BYX' of DE; use one of: .*"
            r"BW \(Baden-Württemberg\), BY \(Bayern\).* \(got 'BYX'\)",
        ),
        (
            HOURS + 'outside_hours = "reply"\n',
            r"\[business_hours\] outside_hours: .*'wait' or 'acknowledge'",
        ),
        (
            "[sla.critical]\nresponse_hours = 10\nresolution_hours = 8\n",
            r"\[sla\] critical: response_hours \(10\) must not exceed resolution_hours \(8\)",
        ),
        (
            "[sla.minor]\nresponse_hours = 0\nresolution_hours = 8\n",
            r"\[sla\] minor\.response_hours: .*greater than 0",
        ),
        ("[sla]\nwarn_at = 1\n", r"\[sla\] warn_at: .*less than 1"),
        ("[sla.urgent]\nresponse_hours = 1\nresolution_hours = 2\n", r"\[sla\] urgent: unknown key"),
    ],
)
def test_bad_holidays_and_sla_name_the_key(tmp_path, section, expected):
    with pytest.raises(ConfigError, match=expected) as error:
        load_settings(write(tmp_path, MINIMAL + section), env={})
    assert str(tmp_path / "mailbot.toml") in str(error.value)


def test_trust_keys_of_support(tmp_path):
    """Issue 11: contact-form senders and the receiving server's authserv-id; none by default."""
    assert load_settings(write(tmp_path, MINIMAL), env={}).support.form_senders == []
    assert load_settings(write(tmp_path, MINIMAL), env={}).support.authserv_id is None
    text = MINIMAL.replace(
        'address = "support@example.com"',
        'address = "support@example.com"\nform_senders = ["NoReply@App.example"]\n'
        'authserv_id = "mx.example.com"',
    )
    support = load_settings(write(tmp_path, text), env={}).support
    assert (support.form_senders, support.authserv_id) == (["noreply@app.example"], "mx.example.com")
    for wrong, key in (
        ('form_senders = ["Kontaktformular"]', "[support] form_senders"),
        ('authserv_id = "mx.example.com; dmarc=pass"', "[support] authserv_id"),
    ):
        bad = MINIMAL.replace('address = "support@example.com"', f'address = "support@example.com"\n{wrong}')
        with pytest.raises(ConfigError, match=key.replace("[", r"\[").replace("]", r"\]")):
            load_settings(write(tmp_path, bad), env={})


@pytest.mark.parametrize("section", ["smtp", "imap"])
def test_a_login_over_an_unencrypted_connection_to_another_machine_is_refused(tmp_path, section):
    text = MINIMAL.replace('[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n', "")
    text += f'[{section}]\nhost = "mail.example.net"\nsecurity = "none"\nusername = "bot"\n'
    if section == "imap":
        text += '[smtp]\nhost = "127.0.0.1"\nsecurity = "none"\n'
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text), env={f"MAILBOT_{section.upper()}_PASSWORD": "secret"})
    message = str(caught.value)
    assert f"[{section}]" in message and "mailbot.toml" in message
    assert "unencrypted to 'mail.example.net'" in message and '"starttls"' in message
    assert "secret" not in message


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.53", "::1", "[::1]", "localhost", "relay.localhost"])
def test_a_login_without_encryption_to_this_machine_is_allowed(tmp_path, host):
    text = MINIMAL.replace('host = "127.0.0.1"', f'host = "{host}"').replace(
        'security = "none"', 'security = "none"\nusername = "bot"'
    )
    settings = load_settings(write(tmp_path, text), env={"MAILBOT_SMTP_PASSWORD": "secret"})
    assert settings.smtp.security == "none"


def test_an_unencrypted_relay_without_a_login_is_allowed(tmp_path):
    """An internal relay on port 25 that takes mail without a login: nothing secret goes over the wire."""
    text = MINIMAL.replace('host = "127.0.0.1"', 'host = "relay.internal.example"')
    assert load_settings(write(tmp_path, text), env={}).smtp.host == "relay.internal.example"
