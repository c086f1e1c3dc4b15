"""App Store Connect bearer tokens (ES256 JWTs) and the rate-limit header, both pure of I/O.

A token lives 15 minutes (Apple refuses more than 20) and is reused until less than 5 minutes are
left, as microsoft/asconnect does: a poll of hundreds of pages signs once, and a token never expires
in the middle of a call. The cache is shared by every client of the same key in this process, so
the polls of a long-running scheduler (a new client per run) reuse one token too. Each new token is
registered with `logredact` in place of the key's previous one, so a log line that somehow carries it
shows "[secret]" instead (and the filter keeps one token per key, not one per run); the token is never
formatted into a message.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailbot.logredact import register_secret
from mailbot.stores.apple_keys import AppleCredentials
from mailbot.stores.model import Quota

AUDIENCE = "appstoreconnect-v1"
LIFETIME = timedelta(minutes=15)
MAX_LIFETIME = timedelta(minutes=20)  # Apple rejects tokens that live longer
RENEW_BELOW = timedelta(minutes=5)  # a token with less left is replaced before the next call
Clock = Callable[[], datetime]

assert LIFETIME <= MAX_LIFETIME


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class _Signed:
    token: str
    issued: datetime
    expires: datetime


_shared: dict[str, _Signed] = {}  # fingerprint of the key -> its current token
_shared_lock = threading.Lock()


class AppleTokens:
    """Makes and caches the bearer token of one key; `renew()` after the service refused one."""

    def __init__(self, credentials: AppleCredentials, clock: Clock = system_clock) -> None:
        key = serialization.load_pem_private_key(credentials.private_key_pem.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError(f"the private key of API key {credentials.key_id} is not an EC key")
        self._key = key
        self._credentials = credentials
        self._clock = clock
        material = "\0".join((credentials.key_id, credentials.issuer_id or "", credentials.private_key_pem))
        self._fingerprint = hashlib.sha256(material.encode()).hexdigest()
        self.made = 0  # how many tokens this object signed (for tests and the status line)

    def __repr__(self) -> str:
        return f"AppleTokens(key_id={self._credentials.key_id!r}, made={self.made})"

    def token(self) -> str:
        """The cached token, or a new one when less than RENEW_BELOW is left."""
        now = self._clock()
        with _shared_lock:
            signed = _shared.get(self._fingerprint)
            if signed is None or signed.issued > now or signed.expires - now < RENEW_BELOW:
                signed = self._make(now, signed)
            return signed.token

    def renew(self) -> str:
        """A new token at once: the service refused the cached one although it looked valid."""
        with _shared_lock:
            return self._make(self._clock(), _shared.get(self._fingerprint)).token

    def _make(self, now: datetime, old: _Signed | None) -> _Signed:
        issued = int(now.timestamp())
        expires = issued + int(LIFETIME.total_seconds())
        claims: dict[str, object] = {"aud": AUDIENCE, "iat": issued, "exp": expires}
        if self._credentials.issuer_id is None:
            claims["sub"] = "user"  # an individual key has no issuer id
        else:
            claims["iss"] = self._credentials.issuer_id
        headers = {"kid": self._credentials.key_id, "typ": "JWT"}
        token = jwt.encode(claims, self._key, algorithm="ES256", headers=headers)
        register_secret(token, replaces=old.token if old else None)
        signed = _Signed(token, datetime.fromtimestamp(issued, UTC), datetime.fromtimestamp(expires, UTC))
        _shared[self._fingerprint] = signed
        self.made += 1
        return signed


_RATE_PART = re.compile(r"\s*([\w-]+)\s*:\s*(\d+)\s*")


def parse_rate_limit(header: str | None) -> Quota | None:
    """Apple's `X-Rate-Limit: user-hour-lim:3500;user-hour-rem:500;` as a Quota; None if absent or unusable.

    Parts in another order, spaces, a missing trailing ";" and unknown parts are tolerated ("actual
    limits can vary", so Apple may add some); a part that is not `name:number` is skipped.
    """
    if not header:
        return None
    values: dict[str, int] = {}
    for part in header.split(";"):
        match = _RATE_PART.fullmatch(part)
        if match:
            values[match.group(1).lower()] = int(match.group(2))
    if "user-hour-lim" not in values and "user-hour-rem" not in values:
        return None
    return Quota(limit=values.get("user-hour-lim"), remaining=values.get("user-hour-rem"))
