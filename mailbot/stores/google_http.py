"""Google Play's HTTP answers to mailbot's store errors, each one short line that names the fix.

Google's error document is {"error": {"code", "message", "status", "errors"|"details"}}; its `status`
(PERMISSION_DENIED, RESOURCE_EXHAUSTED, ...) becomes the error's `code`. Google's own message is quoted
(shortened) only where it says something a person can act on: a refused request (400). It never holds
a credential: tokens travel in headers, which no message repeats.
"""

from __future__ import annotations

from typing import Any

import httpx

from mailbot.escalate import parse_retry_after
from mailbot.stores.model import (
    StoreAccessDenied,
    StoreAuthError,
    StoreError,
    StoreNotFound,
    StoreRateLimited,
    StoreRejected,
    StoreUnavailable,
)

GRANT_FIX = (
    "in Play Console > Users and permissions, invite {email} for {package} with 'View app information "
    "(read-only)' and 'Reply to reviews' (a new grant can take up to 24 hours)"
)


def google_status(response: httpx.Response) -> tuple[str, str]:
    """(status name, message) of Google's error document; ("", "") when the body is something else."""
    try:
        body: Any = response.json()
    except ValueError:
        return "", ""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", ""
    return str(error.get("status") or "")[:40], " ".join(str(error.get("message") or "").split())[:160]


def error_for(response: httpx.Response, what: str, package: str, email: str) -> StoreError:
    """The store error of a failed answer to `what` ("reading the reviews", ...) about `package`."""
    status = response.status_code
    code, message = google_status(response)
    said = f"{status} {code}".strip()
    if status == 401:
        return StoreAuthError(
            f"Google Play refused the access token of {email} ({said}) for {what} of {package}: check that "
            "the service account and its key still exist in the Cloud console",
            status=status,
            code=code,
        )
    if status == 403:
        return StoreAccessDenied(
            f"Google Play denied {email} {what} of {package} ({said}): "
            + GRANT_FIX.format(email=email, package=package),
            status=status,
            code=code,
        )
    if status == 404:
        return StoreNotFound(
            f"Google Play found nothing for {what} of {package} ({said}): check the package name and that "
            "the review is from the last 7 days",
            status=status,
            code=code,
        )
    if status == 429:
        return StoreRateLimited(
            f"Google Play's quota for {package} is spent ({said}) while {what}: wait for the next run",
            status=status,
            code=code,
            retry_after_seconds=parse_retry_after(response.headers.get("Retry-After")),
        )
    if status >= 500:
        return StoreUnavailable(f"Google Play failed {what} of {package} ({said})", status=status, code=code)
    quoted = f": {message}" if message else ""
    return StoreRejected(
        f"Google Play refused {what} of {package} ({said}){quoted}", status=status, code=code
    )
