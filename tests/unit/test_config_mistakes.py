"""Configuration mistakes a new user made: a folder loop, misspelt keys; each error names key and fix."""

from pathlib import Path

import pytest

from mailbot.config import load_settings
from mailbot.errors import ConfigError

BASE = """
[support]
address = "support@example.com"
[team]
address = "team@example.com"
[smtp]
host = "127.0.0.1"
security = "none"
"""
IMAP = '[imap]\nhost = "imap.example.com"\n'
MAILDIR = '[maildir]\npath = "Maildir"\n'


def error_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "mailbot.toml"
    path.write_text(BASE + text, encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(path, env={})
    return str(error.value)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            IMAP + 'processed_folder = "INBOX"\n',
            "[imap] processed_folder: is the same folder as [imap] folder (where new mail is read): mail "
            "moved there would come back as new mail, again and again; name another folder, e.g. 'Processed'",
        ),
        (  # INBOX is case-insensitive in IMAP
            IMAP + 'quarantine_folder = "inbox"\n',
            "[imap] quarantine_folder: is the same folder as [imap] folder",
        ),
        (
            IMAP + 'folder = "Support"\nprocessed_folder = "Support"\n',
            "[imap] processed_folder: is the same folder as [imap] folder",
        ),
        (
            IMAP + 'processed_folder = "Done"\nquarantine_folder = "Done"\n',
            "[imap] quarantine_folder: is the same folder as [imap] processed_folder (where decided mail "
            "goes): decided and quarantined mail would be mixed up; name another folder, e.g. 'Quarantine'",
        ),
        (IMAP + 'processed_folder = " "\n', "[imap] processed_folder: must name a folder"),
        (
            MAILDIR + 'processed_folder = ""\n',
            "[maildir] processed_folder: names the Maildir itself, where new mail is read",
        ),
        (MAILDIR + 'quarantine_folder = "INBOX"\n', "[maildir] quarantine_folder: names the Maildir itself"),
        (MAILDIR + 'processed_folder = "../elsewhere"\n', "[maildir] processed_folder: must be a Maildir++"),
        (
            MAILDIR + 'processed_folder = "Done"\nquarantine_folder = "Done"\n',
            "[maildir] quarantine_folder: is the same folder as [maildir] processed_folder",
        ),
    ],
)
def test_a_folder_that_would_loop_or_mix_is_refused(tmp_path, section, expected):
    assert expected in error_of(tmp_path, section)


def test_distinct_folders_are_fine(tmp_path):
    path = tmp_path / "mailbot.toml"
    path.write_text(BASE + IMAP + 'folder = "Support"\nprocessed_folder = "INBOX"\n', encoding="utf-8")
    settings = load_settings(path, env={})
    assert settings.imap is not None and settings.imap.processed_folder == "INBOX"


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (
            IMAP + 'procesed_folder = "Done"\n',
            "[imap] procesed_folder: unknown key; did you mean processed_folder?",
        ),
        (IMAP + 'Host = "x"\n', "[imap] Host: unknown key; did you mean host?"),
        (MAILDIR + "pol_seconds = 5\n", "[maildir] pol_seconds: unknown key; did you mean poll_seconds?"),
        (
            MAILDIR + '[business_hours]\nmonday = ["08:00-17:00"]\nholidays = { contry = "DE" }\n',
            "[business_hours] holidays.contry: unknown key; did you mean country?",
        ),
        (MAILDIR + "[sla.critcal]\nresponse_hours = 1\nresolution_hours = 2\n", "did you mean critical?"),
        (
            MAILDIR + "[sla.urgent]\nresponse_hours = 1\nresolution_hours = 2\n",
            "[sla] urgent: unknown key; the keys here are: warn_at, start_skew_minutes, "
            "acknowledgement_is_response, near_miss, critical, major, minor, cosmetic",
        ),
        (
            MAILDIR + "[clasifier]\nthreshold = 0.5\n",
            "[clasifier]: unknown section; did you mean [classifier]?",
        ),
    ],
)
def test_an_unknown_key_suggests_the_nearest_one(tmp_path, section, expected):
    assert expected in error_of(tmp_path, section)
