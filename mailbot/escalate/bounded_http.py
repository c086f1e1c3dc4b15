"""HTTP with one wall-clock deadline per call, for the escalation backends (Jira, webhook).

httpx's timeouts bound each socket operation, not the call: a receiver that sends one byte every
1.5 s meets a 2 s read timeout for ever (issue 11: a call with a 2 s timeout stayed open ~70 s).
`BoundedTransport` gives every request one deadline, from connecting to the last byte of the
answer: each socket operation gets at most the time that is left, and the answer is read
completely inside the deadline (the backends never stream). While the worker runs, reads wait in
short slices so that a stop (`stop_calls_on`) ends a call at once instead of at its deadline.

What is not bounded: the name lookup (the system resolver has its own timeouts, from
resolv.conf). Proxies from HTTPS_PROXY / HTTP_PROXY / NO_PROXY are used as httpx would use them.
Built on httpcore's public network-backend interface; errors are httpx's exception types, so
callers catch `httpx.TimeoutException` and `httpx.TransportError` as before.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import time
import urllib.request
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

STOP_SLICE_SECONDS = 0.25  # how soon a call notices that the worker stops
DEADLINE_EXTENSION = "mailbot.deadline"  # request extension: seconds for this call instead of the default

_ends_at: ContextVar[float | None] = ContextVar("mailbot_http_ends_at", default=None)
_stop: ContextVar[threading.Event | None] = ContextVar("mailbot_http_stop", default=None)

_MAPPED: tuple[tuple[type[Exception], type[httpx.HTTPError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProxyError, httpx.ProxyError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


class CallTooSlow(httpx.TimeoutException):
    """The whole call took longer than its deadline, however fast each single read was."""


class CallStopped(httpx.NetworkError):
    """The worker is stopping: the call was given up (the job is retried like after a network error)."""


@contextlib.contextmanager
def stop_calls_on(stop: threading.Event) -> Iterator[None]:
    """Within this block (one thread), an HTTP call ends soon after `stop` is set."""
    token = _stop.set(stop)
    try:
        yield
    finally:
        _stop.reset(token)


def stopping() -> bool:
    """The worker is stopping (`stop_calls_on`): a pass takes no further job."""
    stop = _stop.get()
    return stop is not None and stop.is_set()


class BoundedTransport(httpx.BaseTransport):
    """An httpx transport for one site whose every call ends within `total_seconds`."""

    def __init__(self, url: str, total_seconds: float, ssl_context: ssl.SSLContext | None = None) -> None:
        self.total_seconds = total_seconds
        context = ssl_context or httpx.create_ssl_context()
        backend = _BoundedBackend()
        proxy = _environment_proxy(url)
        self._pool: httpcore.ConnectionPool = (
            httpcore.ConnectionPool(ssl_context=context, network_backend=backend)
            if proxy is None
            else httpcore.HTTPProxy(proxy_url=proxy, ssl_context=context, network_backend=backend)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        total = float(request.extensions.get(DEADLINE_EXTENSION) or self.total_seconds)
        ends_at = time.monotonic() + total
        token = _ends_at.set(ends_at)
        try:
            with _as_httpx_errors(request, ends_at, total):
                response = self._pool.handle_request(
                    httpcore.Request(
                        method=request.method,
                        url=httpcore.URL(
                            scheme=request.url.raw_scheme,
                            host=request.url.raw_host,
                            port=request.url.port,
                            target=request.url.raw_path,
                        ),
                        headers=request.headers.raw,
                        content=_body(request),
                        extensions=request.extensions,
                    )
                )
                try:
                    content = response.read()  # inside the deadline: the whole answer, or an error
                finally:
                    response.close()
        finally:
            _ends_at.reset(token)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=httpx.ByteStream(content),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def _body(request: httpx.Request) -> Iterable[bytes]:
    stream = request.stream
    if not isinstance(stream, httpx.SyncByteStream):
        raise TypeError("BoundedTransport sends only synchronous request bodies")
    return stream


@contextlib.contextmanager
def _as_httpx_errors(request: httpx.Request, ends_at: float, total: float) -> Iterator[None]:
    try:
        yield
    except httpx.HTTPError:
        raise
    except Exception as exc:
        if isinstance(exc, httpcore.TimeoutException) and time.monotonic() >= ends_at - 0.01:
            raise CallTooSlow(f"no complete answer within {total:g} s", request=request) from None
        for core, mapped in _MAPPED:
            if isinstance(exc, core):
                raise mapped(str(exc) or type(exc).__name__, request=request) from None
        raise


def _environment_proxy(url: str) -> str | None:
    """The proxy that HTTPS_PROXY / HTTP_PROXY name for `url`, unless NO_PROXY exempts its host."""
    parts = urlsplit(url)
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or not parts.hostname or urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return None
    return proxy if proxy.startswith(("http://", "https://")) else None  # socks needs an extra package


def _left(op_timeout: float | None, error: type[Exception]) -> float | None:
    """The time a socket operation may take now: its own timeout, cut to what the call has left."""
    if stopping():
        raise CallStopped("the worker is stopping")
    ends_at = _ends_at.get()
    if ends_at is None:
        return op_timeout
    left = ends_at - time.monotonic()
    if left <= 0:
        raise error("the call's deadline has passed")
    return left if op_timeout is None else min(op_timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        op_ends = None if timeout is None else time.monotonic() + timeout
        while True:
            op_left = None if op_ends is None else op_ends - time.monotonic()
            if op_left is not None and op_left <= 0:
                raise httpcore.ReadTimeout("timed out")
            wait = _left(op_left, httpcore.ReadTimeout)
            sliced = _stop.get() is not None and (wait is None or wait > STOP_SLICE_SECONDS)
            try:
                return self._inner.read(max_bytes, STOP_SLICE_SECONDS if sliced else wait)
            except httpcore.ReadTimeout:
                if not sliced:
                    raise  # a timed-out slice read nothing: wait again, unless stopping or out of time

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._inner.start_tls(ssl_context, server_hostname, wait))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._inner.connect_tcp(host, port, wait, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        wait = _left(timeout, httpcore.ConnectTimeout)
        return _BoundedStream(self._inner.connect_unix_socket(path, wait, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)
