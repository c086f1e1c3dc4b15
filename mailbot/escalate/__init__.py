"""Where 2nd-level tickets go: team e-mail, Jira Service Management (REST) or a signed webhook.

The HTTP backends speak the one retry vocabulary of mailbot (mailbot.errors); the two subclasses
here only add what an HTTP reply tells the caller beyond "again" or "never": the status code and,
for 429/503, how long the server asked us to wait. The clients live in `jira` and `webhook`, the
job queue in `jobs`; this module imports none of them, so all can import from here without a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from mailbot.errors import PermanentError, TransientError


@dataclass
class JobReport:
    """What one run of the escalation jobs (or of the Jira follow-up) did; errors are for the operator."""

    done: int = 0
    deferred: int = 0
    failed: int = 0
    waiting: int = 0  # not looked at in this pass (its time budget was used up, or the server was slow)
    errors: list[str] = field(default_factory=list)


class HttpTransientError(TransientError):
    """Try again later; `retry_after` (seconds) is the server's wish, a floor for the next backoff."""

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class HttpTimeout(HttpTransientError):
    """No complete answer in time (the server is down or hopelessly slow): asking it again in the
    same pass would only cost another deadline, so the job queue leaves the backend alone until then."""


class HttpPermanentError(PermanentError):
    """The server said no in a way retrying cannot change; the message names what to fix."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or HTTP-date, RFC 9110 10.2.3); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def describe_url(url: str) -> str:
    """Scheme and host only: webhook URLs are often capabilities whose path is itself a secret."""
    scheme, sep, rest = url.partition("://")
    host = rest.split("/", 1)[0].rpartition("@")[2]
    return f"{scheme}{sep}{host}" if sep else "(invalid URL)"


__all__ = [
    "HttpPermanentError",
    "HttpTimeout",
    "HttpTransientError",
    "JobReport",
    "describe_url",
    "parse_retry_after",
]
