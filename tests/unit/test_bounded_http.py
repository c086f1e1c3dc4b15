"""The parts of mailbot.escalate.bounded_http that need no server (the deadline itself is tested over
loopback in tests/integration/test_webhook.py and test_jsm_client.py)."""

from __future__ import annotations

import threading

import httpx
import pytest

from mailbot.escalate.bounded_http import (
    CallStopped,
    CallTooSlow,
    _environment_proxy,
    stop_calls_on,
    stopping,
)


@pytest.mark.parametrize(
    ("env", "url", "proxy"),
    [
        ({}, "https://example.atlassian.net", None),
        (
            {"HTTPS_PROXY": "http://proxy.intern:3128"},
            "https://example.atlassian.net",
            "http://proxy.intern:3128",
        ),
        ({"HTTPS_PROXY": "http://proxy.intern:3128"}, "http://127.0.0.1:8080/hook", None),  # only https
        ({"ALL_PROXY": "http://proxy.intern:3128"}, "http://127.0.0.1:8080/hook", "http://proxy.intern:3128"),
        ({"HTTPS_PROXY": "http://p:3128", "NO_PROXY": ".atlassian.net"}, "https://x.atlassian.net", None),
        ({"HTTPS_PROXY": "socks5://p:1080"}, "https://example.atlassian.net", None),  # needs socksio
    ],
)
def test_proxies_from_the_environment_as_httpx_would_use_them(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], url: str, proxy: str | None
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert _environment_proxy(url) == proxy


def test_the_errors_are_httpx_errors_callers_already_handle() -> None:
    assert issubclass(CallTooSlow, httpx.TimeoutException) and issubclass(CallStopped, httpx.TransportError)


def test_stopping_is_scoped_to_the_block() -> None:
    stop = threading.Event()
    with stop_calls_on(stop):
        assert not stopping()
        stop.set()
        assert stopping()
    assert not stopping()
