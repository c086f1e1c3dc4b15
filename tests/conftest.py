"""Suite-wide fixtures for the real test servers (logic in ``tests/servers/``).

- ``dovecot`` (session): one Dovecot for the whole run; isolate tests by user, not by restart.
- ``imap_user`` (function): a fresh address whose mailbox on ``dovecot`` starts empty.
- ``smtp_sink`` (function): a fresh, plain aiosmtpd sink per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import DovecotError, DovecotServer, SmtpSink


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


@pytest.fixture
def imap_user(dovecot: DovecotServer) -> str:
    return dovecot.new_user()


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    with SmtpSink() as sink:
        yield sink
