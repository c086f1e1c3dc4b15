"""Suite-wide fixtures for the real test servers (logic in ``tests/servers/``).

- ``dovecot`` (session): one Dovecot for the whole run; isolate tests by user, not by restart.
- ``imap_user`` (function): a fresh address whose mailbox on ``dovecot`` starts empty.
- ``smtp_sink`` (function): a fresh, plain aiosmtpd sink per test.
- ``identity`` (session): a loopback identity provider (Microsoft / Google token endpoints, token
  introspection); ``oauth_dovecot`` (session): a second Dovecot whose XOAUTH2 logins it checks.
- ``postgres`` (session): one throwaway PostgreSQL cluster; ``database_url`` (function, parametrised)
  gives a test a fresh SQLite file and, in a second run, a fresh PostgreSQL database.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from tests.servers import DovecotError, DovecotServer, IdentityStandIn, OAuth2Passdb, SmtpSink
from tests.servers.postgres import PostgresError, PostgresServer


@pytest.fixture(autouse=True)
def _collectable_after_the_test() -> Iterator[None]:
    """`mailbot run --once` freezes what its start made for the rest of the process (mailbot.run_command);
    the suite's process lives on, so after each test the cyclic GC may collect those objects again."""
    yield
    gc.unfreeze()


@pytest.fixture(scope="session")
def dovecot() -> Iterator[DovecotServer]:
    # A missing or broken dovecot must fail loudly (naming the apt command), never skip silently.
    try:
        server = DovecotServer.started()
    except DovecotError as exc:
        failure = str(exc)  # fail outside the except block: no chained-traceback noise
    else:
        with server:
            yield server
        return
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def identity() -> Iterator[IdentityStandIn]:
    with IdentityStandIn() as stand_in:
        yield stand_in


@pytest.fixture(scope="session")
def oauth_dovecot(identity: IdentityStandIn) -> Iterator[DovecotServer]:
    """Dovecot with the oauth2 passdb: XOAUTH2 tokens are checked at `identity`'s introspection URL."""
    try:
        server = DovecotServer.started(oauth2=OAuth2Passdb(identity.introspection_url, identity.cafile))
    except DovecotError as exc:
        failure = str(exc)
    else:
        with server:
            yield server
        return
    pytest.fail(failure, pytrace=False)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # like Dovecot: a missing PostgreSQL fails loudly with the install hint, never skips silently
    try:
        server = PostgresServer.started()
    except PostgresError as exc:
        failure = str(exc)
    else:
        with server:
            yield server
        return
    pytest.fail(failure, pytrace=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> str:
    """The same test on the embedded default and on the shared database of several workers."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mailbot.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> str:
    return dovecot.new_user()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
