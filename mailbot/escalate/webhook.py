"""Signed webhooks: POST one JSON event to a receiver that can check it came from us, unaltered.

The scheme follows Stripe and GitHub, so receivers can reuse what they know:

- body: the event as JSON, keys sorted, UTF-8, no insignificant whitespace;
- ``X-Mailbot-Event``: the event type (``event["type"]``, e.g. ``ticket.escalated``);
- ``X-Mailbot-Delivery``: an id the caller keeps per event; a re-sent event carries the same id,
  so the receiver can drop duplicates (delivery is at-least-once);
- ``X-Mailbot-Timestamp``: Unix time in seconds when this attempt was signed;
- ``X-Mailbot-Signature``: ``sha256=<hex>``, the HMAC-SHA256 under the shared secret of
  ``<timestamp>.<body>`` (the timestamp as decimal ASCII, a dot, then the raw body bytes).
  Several comma-separated signatures may appear while a secret is being rotated.

A receiver recomputes the HMAC over the raw bytes it received (never over re-serialised JSON),
compares in constant time and refuses timestamps outside a tolerance (default 5 minutes), which
stops replays of old captured requests. `verify_signature` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Mapping
from typing import Any

import httpx
from pydantic import SecretStr

from mailbot.escalate import (
    HttpPermanentError,
    HttpTimeout,
    HttpTransientError,
    describe_url,
    parse_retry_after,
)
from mailbot.escalate.bounded_http import BoundedTransport

log = logging.getLogger(__name__)

SIGNATURE_PREFIX = "sha256="
DEFAULT_TOLERANCE_SECONDS = 300


def _key(secret: str | SecretStr) -> bytes:
    return (secret.get_secret_value() if isinstance(secret, SecretStr) else secret).encode("utf-8")


def encode_event(event: Mapping[str, Any]) -> bytes:
    """The canonical body: sorted keys, compact, UTF-8 (non-ASCII kept as is, not \\u-escaped)."""
    return json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str | SecretStr, timestamp: int, body: bytes) -> str:
    """The X-Mailbot-Signature value for this timestamp and body."""
    digest = hmac.new(_key(secret), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return SIGNATURE_PREFIX + digest


def verify_signature(
    secret: str | SecretStr,
    timestamp: str | int,
    body: bytes,
    header: str,
    tolerance_seconds: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """True if `header` holds a valid signature of `body` at `timestamp`, and that is recent enough."""
    try:
        ts = int(str(timestamp).strip())
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > tolerance_seconds:
        return False
    expected = sign(secret, ts, body)
    # compare every candidate, so timing does not tell which position matched
    matches = [hmac.compare_digest(expected, candidate.strip()) for candidate in header.split(",")]
    return any(matches)


def webhook_client(url: str, timeout: float) -> httpx.Client:
    """A client for one receiver whose every call ends within `timeout` s (`bounded_http`); a pass of
    the job queue keeps one, so a backlog does not pay for a new connection and TLS set-up per event."""
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)), transport=BoundedTransport(url, timeout)
    )


def post_event(
    url: str,
    secret: str | SecretStr,
    event: Mapping[str, Any],
    *,
    delivery_id: str,
    timeout: float = 10.0,
    client: httpx.Client | None = None,
    now: float | None = None,
) -> None:
    """Deliver one event; return on 2xx, else raise TransientError or PermanentError.

    408, 429, 5xx, redirects and network trouble are transient (Retry-After is passed on); any other
    4xx means the receiver refuses this event for good (bad signature, unknown event, gone).
    `timeout` bounds the whole call, however slowly the receiver answers (`bounded_http`).
    """
    event_type = event.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError("a webhook event needs a 'type', e.g. 'ticket.escalated'")
    body = encode_event(event)
    timestamp = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "mailbot",
        "X-Mailbot-Event": event_type,
        "X-Mailbot-Delivery": delivery_id,
        "X-Mailbot-Timestamp": str(timestamp),
        "X-Mailbot-Signature": sign(secret, timestamp, body),
    }
    where = f"webhook {describe_url(url)}"
    own_client = client is None
    http = client or webhook_client(url, timeout)
    try:
        response = http.post(url, content=body, headers=headers, follow_redirects=False)
    except httpx.TimeoutException as exc:
        raise HttpTimeout(f"{where}: {event_type} timed out ({exc or type(exc).__name__})") from None
    except httpx.TransportError as exc:
        raise HttpTransientError(f"{where}: {event_type} failed: {exc or type(exc).__name__}") from None
    finally:
        if own_client:
            http.close()
    status = response.status_code
    if 200 <= status < 300:
        log.info("delivered %s %s to %s (%s)", event_type, delivery_id, where, status)
        return
    reply = " ".join(response.text[:200].split())
    if 400 <= status < 500 and status not in (408, 429):
        raise HttpPermanentError(
            f"{where} refused {event_type} with {status}: {reply or 'no details'}; check [webhook] url and"
            " secret with the receiver's owner",
            status,
        )
    retry = parse_retry_after(response.headers.get("Retry-After"))
    raise HttpTransientError(
        f"{where} answered {event_type} with {status}: {reply or 'no details'}", status, retry
    )
