"""OAuth2 mailboxes end to end: mail fetched over XOAUTH2 IMAP (Dovecot's oauth2 passdb asks the
identity stand-in whether a token is active) and answered over XOAUTH2 SMTP (aiosmtpd), with tokens
that msal and google-auth really fetch from the stand-in. Never a password attempt."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from mailbot.logredact import mask_addresses
from tests.e2e.conftest import Bot, make_mail, text_of, write_config
from tests.servers import DovecotServer, IdentityStandIn, SmtpSink

pytestmark = pytest.mark.servers

CUSTOMER = "erika.muster@example.org"
QUESTION = "Hallo, ich habe mein Passwort vergessen. Wie kann ich es zurücksetzen?"


def token_checker(identity: IdentityStandIn):
    def accepted(user: str, token: str) -> bool:
        answer = identity.introspect(token)
        return bool(answer["active"]) and answer["username"] == user.lower()

    return accepted


@pytest.fixture
def oauth_sink(identity: IdentityStandIn) -> Iterator[SmtpSink]:
    with SmtpSink(xoauth2=token_checker(identity)) as sink:
        yield sink


@dataclass
class OAuthBot(Bot):
    identity: IdentityStandIn | None = None
    apps: dict[str, str] = field(default_factory=dict)  # section -> the Entra app's client id


def oauth_bot(
    tmp_path: Path, dovecot: DovecotServer, user: str, sink: SmtpSink, imap_block: str, smtp_block: str
) -> OAuthBot:
    """The e2e harness's configuration with auth = "oauth2" for IMAP and SMTP and no password at all."""
    path = write_config(tmp_path / "mailbot.toml", dovecot, user, sink)
    text = path.read_text(encoding="utf-8")
    text = text.replace('password = "secret"\n', 'auth = "oauth2"\n', 1)
    text = text.replace("[smtp]\n", f'[smtp]\nauth = "oauth2"\nusername = "{user}"\n', 1)
    path.write_text(text + f"\n[imap.oauth2]\n{imap_block}\n[smtp.oauth2]\n{smtp_block}\n", encoding="utf-8")
    return OAuthBot(dovecot, user, sink, path)


def microsoft_block(identity: IdentityStandIn, tenant: str, client_id: str, secret_env: str) -> str:
    return (
        f'provider = "microsoft"\ntenant = "{tenant}"\nclient_id = "{client_id}"\n'
        f'client_secret_env = "{secret_env}"\nauthority = "{identity.authority(tenant)}"\n'
        f'cafile = "{identity.cafile}"\n'
    )


@pytest.fixture
def microsoft_bot(tmp_path, oauth_dovecot, oauth_sink, identity, monkeypatch) -> OAuthBot:
    """IMAP and SMTP with two Entra apps of one tenant (each may be revoked alone)."""
    tenant, user = f"contoso-{uuid.uuid4().hex[:6]}", oauth_dovecot.new_user()
    blocks, apps = {}, {}
    for section in ("imap", "smtp"):
        client_id, secret = str(uuid.uuid4()), f"{section}~" + uuid.uuid4().hex
        identity.add_microsoft_app(tenant, client_id, secret, user)
        monkeypatch.setenv(f"TEST_{section.upper()}_SECRET", secret)
        blocks[section] = microsoft_block(identity, tenant, client_id, f"TEST_{section.upper()}_SECRET")
        apps[section] = client_id
    bot = oauth_bot(tmp_path, oauth_dovecot, user, oauth_sink, blocks["imap"], blocks["smtp"])
    bot.identity, bot.apps = identity, apps
    return bot


def run_once(bot: Bot, *extra: str, expect: int = 0) -> list[str]:
    """`mailbot run --once`; returns the Dovecot login lines of the bot's user written meanwhile (the
    test's own helpers log in with the password, outside this window)."""
    start = bot.dovecot.log_path.stat().st_size
    bot.run_once(*extra, expect=expect)
    with bot.dovecot.log_path.open("rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").splitlines()
    return [line for line in lines if f"user=<{bot.user}>" in line and "method=" in line]


def assert_only_xoauth2(bot: Bot, imap_logins: list[str]) -> None:
    """No password went to either server: SMTP saw XOAUTH2 only, Dovecot logged XOAUTH2 only."""
    assert bot.sink.auth_attempts and {a.mechanism for a in bot.sink.auth_attempts} == {"XOAUTH2"}
    assert imap_logins and all("method=XOAUTH2" in line for line in imap_logins), imap_logins


def test_mail_is_fetched_over_xoauth2_imap_and_answered_over_xoauth2_smtp(microsoft_bot: Bot):
    bot = microsoft_bot
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    logins = run_once(bot)

    [answer] = bot.sent_to(CUSTOMER)
    assert "Passwort" in text_of(answer)
    assert [row.state for row in bot.inbound()] == ["done"]
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    assert len(bot.dovecot.list_folder(bot.user, "Processed")) == 1
    assert [a.accepted for a in bot.sink.auth_attempts] == [True]
    assert_only_xoauth2(bot, logins)


def test_google_service_account_mailbox_end_to_end(tmp_path, oauth_dovecot, oauth_sink, identity):
    user = oauth_dovecot.new_user()
    email = f"mailbot-{uuid.uuid4().hex[:6]}@project.iam.gserviceaccount.com"
    key = identity.add_service_account(tmp_path, email, {user})  # delegated for this mailbox only
    block = (
        f'provider = "google"\nservice_account_file = "{key}"\n'
        f'token_uri = "{identity.google_token_uri}"\ncafile = "{identity.cafile}"\n'
    )
    bot = oauth_bot(tmp_path, oauth_dovecot, user, oauth_sink, block, block)

    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    logins = run_once(bot)

    assert len(bot.sent_to(CUSTOMER)) == 1
    assert_only_xoauth2(bot, logins)
    assert identity.fetches(email) == 1  # IMAP and SMTP share the credential's cached token


def test_an_expired_token_is_renewed_before_it_is_used(
    tmp_path, oauth_dovecot, oauth_sink, identity, monkeypatch
):
    tenant, client_id = f"short-{uuid.uuid4().hex[:6]}", str(uuid.uuid4())
    monkeypatch.setenv("TEST_SECRET", "short~secret")
    block = microsoft_block(identity, tenant, client_id, "TEST_SECRET")
    bot = oauth_bot(tmp_path, oauth_dovecot, oauth_dovecot.new_user(), oauth_sink, block, block)
    identity.add_microsoft_app(tenant, client_id, "short~secret", bot.user, lifetime=4)

    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    bot.run_once()
    fetched = identity.fetches(client_id)
    [first] = identity.issued_for(bot.user)
    time.sleep(2.5)  # past half the token's life: it must not be presented any more

    bot.deliver(make_mail("max@example.org", "Passwort vergessen", QUESTION))
    logins = run_once(bot)
    assert identity.fetches(client_id) > fetched
    assert len(bot.sent_to("max@example.org")) == 1
    assert all(a.accepted for a in bot.sink.auth_attempts)  # renewed before use, never refused
    time.sleep(1.6)
    assert identity.introspect(first)["active"] is False  # the old token has run out by now
    assert_only_xoauth2(bot, logins)


def test_a_revoked_imap_token_is_a_clear_error_and_the_mail_waits_for_the_next_pass(microsoft_bot, capsys):
    bot, identity = microsoft_bot, microsoft_bot.identity
    imap_client = bot.apps["imap"]
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    bot.run_once()  # the database now holds mail of this mailbox
    identity.revoke(imap_client)
    fetches = identity.fetches(imap_client)

    bot.deliver(make_mail("max@example.org", "Passwort vergessen", QUESTION))
    capsys.readouterr()
    refused = run_once(bot, expect=1)
    error = capsys.readouterr().err
    # printed like the log: the address shortened ([privacy] redact_addresses, issue 15)
    assert (
        f"OAuth2 token refused for {mask_addresses(bot.user)} at 127.0.0.1:{bot.dovecot.imap_port}" in error
    )
    assert "provider microsoft" in error and "re-consent / check app permissions" in error
    assert identity.fetches(imap_client) == fetches + 1  # one fresh token, tried once
    assert len(bot.dovecot.list_folder(bot.user, "INBOX")) == 1  # the mail is not lost
    assert len(bot.inbound()) == 1

    # one connection, the cached token and one fresh one, no third try and no password
    assert len(refused) == 1 and "auth failed, 2 attempts" in refused[0] and "method=XOAUTH2" in refused[0]

    identity.reinstate(imap_client)
    logins = run_once(bot)
    assert len(bot.sent_to("max@example.org")) == 1
    assert bot.dovecot.list_folder(bot.user, "INBOX") == []
    assert_only_xoauth2(bot, refused + logins)


def test_a_revoked_smtp_token_keeps_the_answer_queued_until_it_works_again(microsoft_bot, capsys):
    bot, identity = microsoft_bot, microsoft_bot.identity
    smtp_client = bot.apps["smtp"]
    identity.revoke(smtp_client)

    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    capsys.readouterr()
    logins = run_once(bot, expect=1)
    refused_line = f"OAuth2 token refused for {mask_addresses(bot.user)} at 127.0.0.1:{bot.sink.port}"
    assert refused_line in capsys.readouterr().err
    [row] = bot.outbox()
    assert row.state == "pending" and "re-consent / check app permissions" in (row.last_error or "")
    assert bot.sent_to(CUSTOMER) == []
    assert [a.accepted for a in bot.sink.auth_attempts] == [False, False]  # the cached token, one fresh

    identity.reinstate(smtp_client)
    later = (row.next_attempt_at + timedelta(seconds=1)).isoformat()
    logins += run_once(bot, "--now", later)
    assert len(bot.sent_to(CUSTOMER)) == 1
    assert [row.state for row in bot.outbox()] == ["sent"]
    assert_only_xoauth2(bot, logins)


def test_a_wrong_client_secret_names_the_app_and_leaves_the_mail(microsoft_bot, capsys, monkeypatch):
    bot = microsoft_bot
    monkeypatch.setenv("TEST_IMAP_SECRET", "an-old-expired-secret")
    bot.deliver(make_mail(CUSTOMER, "Passwort vergessen", QUESTION))
    capsys.readouterr()
    run_once(bot, expect=1)
    error = capsys.readouterr().err
    assert "OAuth2 token refused by Microsoft" in error and "AADSTS7000215" in error
    assert bot.apps["imap"] in error and "an-old-expired-secret" not in error
    assert len(bot.dovecot.list_folder(bot.user, "INBOX")) == 1
    assert bot.sink.auth_attempts == []  # nothing was decided, nothing sent
