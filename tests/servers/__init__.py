"""Real test servers for the suite: a throwaway Dovecot (IMAP/IMAPS/LMTP) and an aiosmtpd sink.

Both bind to 127.0.0.1 on free ports only. Fixtures live in ``tests/conftest.py``; the logic is here.
"""

from .dovecot import PASSWORD, DovecotError, DovecotServer, OAuth2Passdb, find_dovecot
from .identity import IdentityStandIn
from .smtp_sink import AuthAttempt, Rejection, SinkMessage, SmtpSink

__all__ = [
    "PASSWORD",
    "AuthAttempt",
    "DovecotError",
    "DovecotServer",
    "IdentityStandIn",
    "OAuth2Passdb",
    "Rejection",
    "SinkMessage",
    "SmtpSink",
    "find_dovecot",
]
