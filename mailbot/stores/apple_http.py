"""The HTTP layer of the App Store Connect client: one session, the bearer token, the quota, the errors.

Failure modes, in the words of `mailbot.stores.model`: a timeout, a dropped connection or a 5xx is
`StoreUnavailable` (after a POST the outcome is unknown: read the reply back before posting again);
401 renews the token and tries once more, then `StoreAuthError`; 403 is `StoreAccessDenied` with
Apple's code; 404 `StoreNotFound`; 400/409/422 `StoreRejected`; 429, or a spent `X-Rate-Limit`
budget, `StoreRateLimited` without calling again (no tight retry loop: the caller waits for its next
run). Requests are strictly sequential (Apple answered parallel bursts with 429 while budget was
left). Messages are one line naming what to fix; no token or key ever appears in one.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

import httpx

from mailbot.escalate import describe_url, parse_retry_after
from mailbot.escalate.bounded_http import BoundedTransport
from mailbot.stores.apple_json import first_error
from mailbot.stores.apple_keys import AppleCredentials
from mailbot.stores.apple_token import AppleTokens, Clock, parse_rate_limit, system_clock
from mailbot.stores.model import (
    Quota,
    StoreAccessDenied,
    StoreAuthError,
    StoreNotFound,
    StoreRateLimited,
    StoreRejected,
    StoreUnavailable,
)

AGREEMENT = "FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED"
QUOTA_RECHECK = timedelta(minutes=10)  # a spent budget blocks calls this long, then one call probes it
DEFAULT_TIMEOUT = 20.0


def json_of(response: httpx.Response) -> object:
    """The answer's JSON; an answer that is none came from something other than Apple (a proxy, an outage
    page): StoreUnavailable, a later run may read it fine."""
    try:
        return response.json()
    except ValueError:
        raise StoreUnavailable("App Store Connect sent an answer that is not JSON: try again later") from None


class AppleHttp:
    """Sequential, authorised calls to one App Store Connect base URL with a deadline per call."""

    def __init__(
        self,
        credentials: AppleCredentials,
        *,
        timeout_seconds: float = DEFAULT_TIMEOUT,
        clock: Clock = system_clock,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.credentials = credentials
        self.timeout_seconds = timeout_seconds
        self.tokens = AppleTokens(credentials, clock)
        self.quota = Quota()
        self._clock = clock
        self._quota_read_at: datetime | None = None
        base = credentials.base_url.rstrip("/")
        self._origin = httpx.URL(base)
        self._http = httpx.Client(
            base_url=base,
            timeout=httpx.Timeout(timeout_seconds, connect=min(10.0, timeout_seconds)),
            headers={"Accept": "application/json", "User-Agent": "mailbot"},
            follow_redirects=False,
            transport=transport or BoundedTransport(base, timeout_seconds),
        )

    def __repr__(self) -> str:
        where = describe_url(self.credentials.base_url)
        return f"{type(self).__name__}({where!r}, key_id={self.credentials.key_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        params: dict[str, str] | None = None,
        json: Any = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        """One call (`url` a path or an absolute link on the same origin); statuses in `allow` return."""
        self._check_budget(what)
        if url.startswith(("http://", "https://")) and not self._same_origin(url):
            raise StoreUnavailable(
                f"App Store Connect sent a link to {describe_url(url)} for {what}: mailbot follows only "
                f"links to {describe_url(self.credentials.base_url)} (check the base URL)"
            )
        response = self._send(method, url, what, params, json, self.tokens.token())
        if response.status_code == 401:  # refused a token that looked valid: sign a new one, once
            response = self._send(method, url, what, params, json, self.tokens.renew())
        if response.status_code not in allow:
            self._raise_for(response, what)
        return response

    def _send(
        self, method: str, url: str, what: str, params: dict[str, str] | None, json: Any, token: str
    ) -> httpx.Response:
        try:
            response = self._http.request(
                method, url, params=params, json=json, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.TimeoutException:
            unknown = (
                "; the outcome is unknown: read the reply back before posting again"
                if method != "GET"
                else ""
            )
            raise StoreUnavailable(
                f"App Store Connect did not answer {what} within {self.timeout_seconds:g} s{unknown}"
            ) from None
        except httpx.TransportError as exc:
            raise StoreUnavailable(
                f"App Store Connect at {describe_url(self.credentials.base_url)} could not be reached for "
                f"{what} ({type(exc).__name__}): try again later"
            ) from None
        quota = parse_rate_limit(response.headers.get("X-Rate-Limit"))
        if quota is not None:
            self.quota, self._quota_read_at = quota, self._clock()
        return response

    def _check_budget(self, what: str) -> None:
        if self.quota.remaining != 0 or self._quota_read_at is None:
            return
        waited = self._clock() - self._quota_read_at
        if waited >= QUOTA_RECHECK:
            return
        raise StoreRateLimited(
            f"App Store Connect's hourly budget of key {self.credentials.key_id} is spent "
            f"(limit {self.quota.limit}); {what} waits for the next run",
            status=None,
            code="RATE_LIMIT_EXCEEDED",
            retry_after_seconds=(QUOTA_RECHECK - waited).total_seconds(),
        )

    def _same_origin(self, url: str) -> bool:
        target = httpx.URL(url)
        return (target.scheme, target.host, target.port) == (
            self._origin.scheme,
            self._origin.host,
            self._origin.port,
        )

    def _raise_for(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        try:
            code, detail = first_error(response.json())
        except ValueError:
            code, detail = "", ""
        said = f"{status} {code}".strip()
        key = self.credentials.key_id
        if status == 401:
            raise StoreAuthError(
                f"App Store Connect refused the key {key} ({said}): check key id, issuer id and the .p8 file",
                status=status,
                code=code,
            )
        if status == 403 and code == AGREEMENT:
            raise StoreAccessDenied(
                f"App Store Connect refused {what} ({said}): the Account Holder must accept the latest "
                "agreements in App Store Connect (Business)",
                status=status,
                code=code,
            )
        if status == 403:
            raise StoreAccessDenied(
                f"App Store Connect does not let the key {key} do {what} ({said}): the key's user needs the "
                "Customer Support role with access to this app",
                status=status,
                code=code,
            )
        if status == 404:
            raise StoreNotFound(
                f"App Store Connect found nothing for {what} ({said})", status=status, code=code
            )
        if status == 429:
            retry = parse_retry_after(response.headers.get("Retry-After"))
            raise StoreRateLimited(
                f"App Store Connect's rate limit for key {key} is reached ({said}); {what} waits for the "
                "next run",
                status=status,
                code=code,
                retry_after_seconds=retry,
            )
        if status >= 500:
            raise StoreUnavailable(
                f"App Store Connect failed {what} ({said}): try again later", status=status, code=code
            )
        because = f": {detail}" if detail else ""
        raise StoreRejected(f"App Store Connect refused {what} ({said}){because}", status=status, code=code)
