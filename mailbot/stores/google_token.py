"""Access tokens of a Google service account for the androidpublisher scope (OAuth2 JWT-bearer grant).

The assertion is an RS256 JWT signed with the service account's key (PyJWT): `iss` the account, `aud`
the token URI, `scope` androidpublisher, an hour's lifetime. Google answers a bearer token for 3,600 s
and no refresh token, so a new assertion is made whenever a token is needed. A token is reused until 5
minutes before it expires (half its lifetime if it is shorter), so a call never carries a token that runs
out on the way, and one poll an hour costs one token.

PyJWT rather than google-auth: the grant is one signed JWT and one form POST, and doing it here sends it
through the client's own httpx session with its whole-call deadline; google-auth would bring a second HTTP
stack (requests) with its own timeouts, proxies and token cache beside it.

The cache belongs to the service account, not to a client object: a client made anew for every poll
uses the token of the one before (one token an hour per account, however many apps it reads), and the log
filter keeps one token and one assertion per account, not one per client ever made.

Tokens and assertions go to `logredact` the moment they exist; none of them, nor the key, is ever part of
a message.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import jwt

from mailbot import logredact
from mailbot.escalate import describe_url, parse_retry_after
from mailbot.stores.google_credentials import GoogleCredentials
from mailbot.stores.model import StoreAuthError, StoreRateLimited, StoreUnavailable

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # Google's maximum
REFRESH_MARGIN_SECONDS = 300.0


@dataclass(frozen=True)
class _Token:
    value: str = ""
    expires_at: float = 0.0
    lifetime: float = 0.0
    assertion: str = ""  # the last one signed: the next one retires it from the log filter

    def fresh(self, now: float, margin: float) -> bool:
        return bool(self.value) and now < self.expires_at - min(margin, self.lifetime / 2)


_Account = tuple[str, str, str]  # client_email, private_key_id, token_uri
_tokens: dict[_Account, _Token] = {}  # one cache per service account, shared by every client object
_locks: dict[_Account, threading.Lock] = {}
_locks_lock = threading.Lock()


def _account_lock(account: _Account) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(account, threading.Lock())


class GoogleTokenSource:
    """One service account's access token, fetched through `http` and cached in memory."""

    def __init__(
        self,
        credentials: GoogleCredentials,
        http: httpx.Client,
        *,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self.credentials = credentials
        self._http = http
        self._clock = clock
        self._margin = margin
        self._account: _Account = (
            credentials.client_email,
            credentials.private_key_id,
            credentials.token_uri,
        )
        self.fetched = 0  # tokens fetched through this source (for logs and tests)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.credentials.client_email!r})"

    def token(self) -> str:
        """A token good for at least the margin; fetched only when the cached one is not."""
        with _account_lock(self._account):
            cached = _tokens.get(self._account, _Token())
            if cached.fresh(self._clock(), self._margin):
                return cached.value
            return self._renew(cached)

    def renew(self, refused: str) -> str:
        """A new token: the API refused `refused` (unless a newer one was fetched meanwhile)."""
        with _account_lock(self._account):
            cached = _tokens.get(self._account, _Token())
            if cached.value and cached.value != refused:
                return cached.value
            return self._renew(cached)

    def _renew(self, old: _Token) -> str:
        assertion = self._sign()
        logredact.register_secret(assertion, replaces=old.assertion or None)
        _tokens[self._account] = _Token(assertion=assertion)  # the old token is gone, whatever happens now
        value, lifetime = self._fetch(assertion)
        logredact.register_secret(value, replaces=old.value or None)
        _tokens[self._account] = _Token(value, self._clock() + lifetime, lifetime, assertion)
        self.fetched += 1
        return value

    def _sign(self) -> str:
        c = self.credentials
        now = int(self._clock())
        claims = {"iss": c.client_email, "scope": SCOPE, "aud": c.token_uri, "iat": now}
        claims["exp"] = now + ASSERTION_LIFETIME
        return jwt.encode(claims, c.private_key_pem, algorithm="RS256", headers={"kid": c.private_key_id})

    def _fetch(self, assertion: str) -> tuple[str, float]:
        c = self.credentials
        where = describe_url(c.token_uri)
        form = {"grant_type": JWT_BEARER, "assertion": assertion}
        try:
            response = self._http.post(c.token_uri, data=form, headers={"Accept": "application/json"})
        except httpx.TimeoutException:
            raise StoreUnavailable(f"Google's token endpoint {where} did not answer in time") from None
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"Google's token endpoint {where} unreachable ({type(exc).__name__})"
            ) from None
        status = response.status_code
        body = _json(response)
        error = str(body.get("error") or "")[:40]
        if status in (400, 401, 403):
            described = str(body.get("error_description") or "")[:120]
            raise StoreAuthError(
                f"Google refused the service account {c.client_email} (key {c.private_key_id[:8]}…, "
                f"{status} {error}{': ' + described if described else ''}): check that the key file is "
                "the account's current key, not deleted in the Cloud console, and that the clock is right",
                status=status,
                code=error,
            )
        if status == 429:
            retry = parse_retry_after(response.headers.get("Retry-After"))
            raise StoreRateLimited(
                f"Google's token endpoint {where} asks to slow down (429)", retry_after_seconds=retry
            )
        if status != 200:
            raise StoreUnavailable(f"Google's token endpoint {where} answered {status}", status=status)
        value, lifetime = body.get("access_token"), body.get("expires_in")
        if not isinstance(value, str) or not value or not isinstance(lifetime, int | float):
            raise StoreUnavailable(f"Google's token endpoint {where} answered without a token", status=status)
        return value, float(lifetime)


def _json(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
