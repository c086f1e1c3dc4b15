"""IMAP error texts for the operator: the server's words, and where the password came from."""

from imapclient.exceptions import LoginError
from pydantic import SecretStr

from mailbot.config import ImapSettings
from mailbot.ingest.imap import error_text, password_source


def test_the_servers_words_replace_imaplibs_bytes_repr():
    assert error_text(LoginError(str(b"[AUTHENTICATIONFAILED] Authentication failed."))) == (
        "[AUTHENTICATIONFAILED] Authentication failed."
    )
    assert error_text(LoginError(str("Anmeldung fehlgeschlagen ä".encode()))) == "Anmeldung fehlgeschlagen ä"
    assert error_text(ConnectionRefusedError(111, "Connection refused")) == "[Errno 111] Connection refused"
    assert error_text(TimeoutError()) == "TimeoutError"


def test_the_password_source_is_the_variable_or_the_file_never_the_password():
    settings = ImapSettings(host="imap.example.com", username="bot", password=SecretStr("in-file"))
    assert (
        password_source(settings, {"MAILBOT_IMAP_PASSWORD": "x"})
        == "the environment variable MAILBOT_IMAP_PASSWORD"
    )
    assert password_source(settings, {}) == (
        "[imap] password (or set the environment variable MAILBOT_IMAP_PASSWORD)"
    )
    own = ImapSettings(host="imap.example.com", username="bot", password_env="SUPPORT_SECRET")
    assert password_source(own, {}) == "the environment variable SUPPORT_SECRET (it is not set)"
    assert "in-file" not in password_source(settings, {})
