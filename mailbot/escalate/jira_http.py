"""The HTTP layer of the Jira client: one httpx session, paging, and the status-to-error mapping.

Every failure becomes one of mailbot's two retry words (see mailbot.escalate): network trouble,
timeouts, 408, 429, 5xx and replies that are not JSON are HttpTransientError (with the server's
Retry-After; a call without a complete answer in time is HttpTimeout); 401, 403, 404, 400 and every
other 4xx or 3xx are HttpPermanentError, whose message names what to fix. The API token never
appears in a message, repr or log line.

`[jira] timeout_seconds` bounds each call as a whole (`bounded_http`), not only each read: a Jira
(or a proxy in front of it) that answers one byte at a time cannot hold the worker. An upload gets
more time by its size (UPLOAD_BYTES_PER_SECOND).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, Self

import httpx
from pydantic import SecretStr

from mailbot.escalate import (
    HttpPermanentError,
    HttpTimeout,
    HttpTransientError,
    describe_url,
    parse_retry_after,
)
from mailbot.escalate.bounded_http import DEADLINE_EXTENSION, BoundedTransport
from mailbot.escalate.settings import JIRA_TOKEN_ENV, JiraSettings

API = "/rest/servicedeskapi"
PAGE_LIMIT = 50
MAX_PAGES = 200  # a runaway pager (a server that never says "last page") stops here
# Some servicedeskapi resources were experimental for years; the opt-in header is harmless otherwise.
EXPERIMENTAL = {"X-ExperimentalApi": "opt-in"}
TRANSIENT_STATUSES = (408, 429)  # plus every 5xx
UPLOAD_BYTES_PER_SECOND = 256 * 1024  # an attachment adds size / this to the call's deadline


class JiraHttp:
    """Basic auth (Atlassian account e-mail + API token), a deadline per call, no redirects followed.

    `transport` replaces the bounded one (tests); the deadline then is the caller's business.
    """

    def __init__(
        self,
        settings: JiraSettings,
        token: SecretStr | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._token = token if token is not None else settings.resolve_token()
        self._http = httpx.Client(
            base_url=settings.base_url,
            auth=httpx.BasicAuth(settings.user, self._token.get_secret_value()),
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
            headers={"Accept": "application/json", "User-Agent": "mailbot"},
            follow_redirects=False,
            transport=transport or BoundedTransport(settings.base_url, settings.timeout_seconds),
        )

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.settings.base_url!r}, user={self.settings.user!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _pages(
        self,
        path: str,
        params: Mapping[str, str],
        what: str,
        hints: Mapping[int, str],
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The `values` of a paged servicedeskapi resource; advances by what came back, not by `limit`."""
        start = 0
        for _ in range(MAX_PAGES):
            response = self._send(
                "GET",
                path,
                what,
                params={**params, "start": start, "limit": PAGE_LIMIT},
                headers=headers,
                hints=hints,
            )
            page = self._json(response, what)
            values = [v for v in page.get("values") or [] if isinstance(v, dict)]
            yield from values
            if page.get("isLastPage", True) or not values:
                return
            start = int(page.get("start", start)) + len(values)

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        headers: Mapping[str, str] | None = None,
        hints: Mapping[int, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        where = describe_url(self.settings.base_url)
        extensions = {}
        if files:
            size = sum(len(content) for _, content, _ in files.values())
            extensions[DEADLINE_EXTENSION] = self.settings.timeout_seconds + size / UPLOAD_BYTES_PER_SECOND
        try:
            response = self._http.request(
                method, path, params=params, json=json, files=files, headers=headers, extensions=extensions
            )
        except httpx.TimeoutException as exc:
            raise HttpTimeout(f"Jira at {where}: {what} timed out ({exc or type(exc).__name__})") from None
        except httpx.TransportError as exc:
            reason = self._scrub(str(exc)) or type(exc).__name__
            raise HttpTransientError(f"Jira at {where}: {what} failed: {reason}") from None
        if response.status_code not in allow:
            self._check(response, what, hints or {})
        return response

    def _check(self, response: httpx.Response, what: str, hints: Mapping[int, str]) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        s = self.settings
        detail = self._detail(response)
        hint = f"; {hints[status]}" if status in hints else ""
        if status in TRANSIENT_STATUSES or status >= 500:
            retry = parse_retry_after(response.headers.get("Retry-After"))
            wait = f", asks to wait {retry:g} s" if retry is not None else ""
            raise HttpTransientError(f"Jira {status} for {what}{wait}: {detail}", status, retry)
        if status == 401:
            raise HttpPermanentError(
                f"Jira rejected the API token for {s.user} at {describe_url(s.base_url)}: check [jira] user"
                f" and token (environment variable {s.token_env or JIRA_TOKEN_ENV})",
                status,
            )
        if 300 <= status < 400:
            target = describe_url(response.headers.get("Location", ""))
            raise HttpPermanentError(
                f"Jira redirected {what} to {target}: set [jira] base_url to the https://<site>.atlassian.net"
                " address of the site",
                status,
            )
        raise HttpPermanentError(f"Jira refused {what} ({status}): {detail}{hint}", status)

    def _detail(self, response: httpx.Response) -> str:
        """The server's own words: servicedeskapi `errorMessage`, platform `errorMessages`/`errors`."""
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            parts: list[str] = []
            if isinstance(body, dict):
                if body.get("errorMessage"):
                    parts.append(str(body["errorMessage"]))
                parts.extend(str(m) for m in body.get("errorMessages") or [])
                errors = body.get("errors")
                if isinstance(errors, dict):
                    parts.extend(f"{k}: {v}" for k, v in errors.items())
                if not parts and body.get("message"):
                    parts.append(str(body["message"]))
            text = "; ".join(parts) if parts else str(body)
        text = " ".join(text.split())
        return self._scrub(text[:300]) or f"HTTP {response.status_code} without details"

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise HttpTransientError(
                f"Jira answered {what} with something that is not JSON (a proxy or maintenance page?)",
                response.status_code,
            ) from None

    def _scrub(self, text: str) -> str:
        token = self._token.get_secret_value()
        return text.replace(token, "***") if token else text
