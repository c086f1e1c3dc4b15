"""Signed webhooks against a local receiver (tests/servers/webhook_sink.py) over real HTTP."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr, ValidationError

from mailbot.errors import ConfigError, PermanentError, TransientError
from mailbot.escalate import HttpPermanentError, HttpTimeout, HttpTransientError
from mailbot.escalate.settings import WebhookSettings
from mailbot.escalate.webhook import encode_event, post_event, sign, verify_signature
from tests.servers.common import free_ports, wait_until
from tests.servers.webhook_sink import WebhookSink

SECRET = "whsec-test-0123456789abcdef"
EVENT = {"type": "ticket.escalated", "ticket": "MB-42", "subject": "Drucker läuft über", "severity": "major"}


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink(SECRET) as receiver:
        yield receiver


def test_signed_event_is_verified_by_the_receiver(sink: WebhookSink) -> None:
    post_event(sink.url, SECRET, EVENT, delivery_id="d-1")

    (delivery,) = sink.deliveries
    assert delivery.verified and delivery.status == 204
    assert delivery.event == EVENT
    assert delivery.body == encode_event(EVENT)
    assert delivery.body.startswith(
        b'{"severity":"major","subject":"Drucker l\xc3\xa4uft \xc3\xbcber"'
    )  # sorted, UTF-8
    headers = delivery.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-mailbot-event"] == "ticket.escalated"
    assert headers["x-mailbot-delivery"] == "d-1"
    assert abs(int(headers["x-mailbot-timestamp"]) - time.time()) < 60
    assert headers["x-mailbot-signature"] == sign(SECRET, int(headers["x-mailbot-timestamp"]), delivery.body)


def test_resent_event_keeps_its_delivery_id_and_is_signed_anew(sink: WebhookSink) -> None:
    now = time.time()
    post_event(sink.url, SECRET, EVENT, delivery_id="d-2", now=now)
    post_event(sink.url, SecretStr(SECRET), EVENT, delivery_id="d-2", now=now + 30)
    first, second = sink.deliveries
    assert first.headers["x-mailbot-delivery"] == second.headers["x-mailbot-delivery"] == "d-2"
    assert first.headers["x-mailbot-signature"] != second.headers["x-mailbot-signature"]
    assert first.verified and second.verified


def test_tampered_body_is_rejected_by_the_receiver(sink: WebhookSink) -> None:
    post_event(sink.url, SECRET, EVENT, delivery_id="d-3")
    original = sink.deliveries[0]
    tampered = original.body.replace(b"MB-42", b"MB-43")
    replay = {k: v for k, v in original.headers.items() if k.startswith("x-mailbot-") or k == "content-type"}

    response = httpx.post(sink.url, content=tampered, headers=replay)

    assert response.status_code == 401
    assert not sink.deliveries[1].verified


def test_verify_signature_refuses_wrong_secret_stale_time_and_garbage() -> None:
    body, ts = encode_event(EVENT), 1_700_000_000
    good = sign(SECRET, ts, body)
    assert verify_signature(SECRET, str(ts), body, good, now=ts + 10)
    assert not verify_signature("another-secret-0123456789", ts, body, good, now=ts)
    assert not verify_signature(SECRET, ts, body, good, tolerance_seconds=300, now=ts + 301)  # replayed later
    assert not verify_signature(SECRET, ts, body, good, now=ts - 301)
    assert not verify_signature(SECRET, ts + 1, body, good, now=ts)  # timestamp is part of what is signed
    assert not verify_signature(SECRET, "yesterday", body, good, now=ts)
    assert not verify_signature(SECRET, ts, body, "", now=ts)
    assert not verify_signature(SECRET, ts, body, good.upper(), now=ts)
    # while the secret is rotated, the sender may put both signatures in the header
    assert verify_signature(SECRET, ts, body, f"{sign('old-secret-0123456789', ts, body)}, {good}", now=ts)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_refusals_are_permanent(sink: WebhookSink, status: int) -> None:
    sink.respond_next(status)
    with pytest.raises(PermanentError) as caught:
        post_event(sink.url, SECRET, EVENT, delivery_id="d-4")
    assert isinstance(caught.value, HttpPermanentError) and caught.value.status == status
    assert "check [webhook] url and secret" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "retry_after"), [(408, None), (429, "7"), (500, None), (502, None), (503, "120")]
)
def test_timeouts_throttling_and_server_errors_are_transient(
    sink: WebhookSink, status: int, retry_after: str | None
) -> None:
    sink.respond_next(status, headers={"Retry-After": retry_after} if retry_after else None)
    with pytest.raises(TransientError) as caught:
        post_event(sink.url, SECRET, EVENT, delivery_id="d-5")
    assert isinstance(caught.value, HttpTransientError) and caught.value.status == status
    assert caught.value.retry_after == (float(retry_after) if retry_after else None)


def test_unreachable_receiver_is_transient_and_messages_hide_the_url_path() -> None:
    url = f"http://127.0.0.1:{free_ports(1)[0]}/hooks/T0KEN-IN-PATH"
    with pytest.raises(TransientError) as caught:
        post_event(url, SECRET, EVENT, delivery_id="d-6", timeout=2)
    assert "T0KEN-IN-PATH" not in str(caught.value) and SECRET not in str(caught.value)
    assert "http://127.0.0.1:" in str(caught.value)


def test_event_without_type_is_a_programming_error(sink: WebhookSink) -> None:
    with pytest.raises(ValueError, match="needs a 'type'"):
        post_event(sink.url, SECRET, {"ticket": "MB-1"}, delivery_id="d-7")
    assert sink.deliveries == []


def test_body_is_compact_sorted_json() -> None:
    assert encode_event({"b": 1, "a": {"d": "ü", "c": None}}) == json.dumps(
        {"a": {"c": None, "d": "ü"}, "b": 1}, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def test_webhook_settings_secret_url_and_events() -> None:
    settings = WebhookSettings(url="https://hooks.example.test/mailbot?team=2", secret_env="HOOK_SECRET")
    assert settings.events == ["ticket.escalated", "ticket.solved"]
    assert settings.resolve_secret({"HOOK_SECRET": SECRET}).get_secret_value() == SECRET
    with pytest.raises(ConfigError, match="set the environment variable HOOK_SECRET"):
        settings.resolve_secret({})
    with pytest.raises(ConfigError, match="shorter than 16"):
        settings.resolve_secret({"HOOK_SECRET": "short"})
    for bad in (
        {"url": "http://hooks.example.test/x"},
        {"url": "https://h.example.test", "events": ["Escalated"]},
    ):
        with pytest.raises(ValidationError):
            WebhookSettings.model_validate(bad)


def test_a_dripping_receiver_cannot_hold_a_call_past_its_timeout(sink: WebhookSink) -> None:
    """Issue 11: one byte every 1.5 s met a 2 s read timeout for ever; the whole call is bounded now."""
    sink.drip_next(1, interval=1.5)
    started = time.monotonic()
    with pytest.raises(HttpTimeout, match="no complete answer within 2 s") as caught:
        post_event(sink.url, SECRET, EVENT, delivery_id="d-8", timeout=2)
    took = time.monotonic() - started
    assert 1.9 < took < 3, f"the call took {took:.1f} s"
    assert isinstance(caught.value, TransientError)  # retried later, like any timeout
    wait_until(lambda: sink.drips == 0, timeout=5, what="the receiver noticed that we left")
