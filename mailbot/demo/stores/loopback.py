"""An HTTP server on a free loopback port, served from a daemon thread: the base of the store stand-ins
(and of the test suite's other HTTP stand-ins, through tests/servers/common.py)."""

from __future__ import annotations

import errno
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self, TypeVar

LOOPBACK = "127.0.0.1"

T = TypeVar("T")


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return `count` distinct ports that were free on `host` a moment ago.

    All sockets are held open until every port is picked, so the kernel cannot hand out the same
    port twice. Until the caller binds, any outgoing connection on the machine may take one of them as
    its own local port: a server that can bind port 0 should, and one that cannot starts through
    `start_on_free_port`.
    """
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def start_on_free_port(start: Callable[[int], T], attempts: int = 5, host: str = LOOPBACK) -> T:
    """Return `start(port)` for a port free a moment ago, trying another when it was taken meanwhile.

    For servers that must know their port before they bind (aiosmtpd's Controller connects to it to
    check that it is up). A CI run lost a test to that window once: EADDRINUSE on a port just picked.
    """
    return retried_while_port_taken(lambda _again: start(free_ports(1, host)[0]), _address_in_use, attempts)


def retried_while_port_taken(
    attempt: Callable[[int], T], taken: Callable[[Exception], bool], attempts: int
) -> T:
    """`attempt(0)`, and `attempt(1)`, `attempt(2)` ... while one fails with an error that `taken` says
    means its port was taken since it was picked; `attempts` in all, then that error is raised."""
    for number in range(attempts):
        try:
            return attempt(number)
        except Exception as error:
            if not taken(error) or number == attempts - 1:
                raise
    raise AssertionError("unreachable")  # the loop returns or raises


def _address_in_use(error: Exception) -> bool:
    return isinstance(error, OSError) and error.errno == errno.EADDRINUSE


class LoopbackHttpServer:
    """An HTTP server on a free loopback port, served from a daemon thread: `start`/`stop` or `with`.

    Asking for `port` (or `base_url`) or starting first binds port 0: the kernel picks the port as it
    binds, and the bound socket holds it until `stop`, so no other socket can take it in between. Until
    `start` nothing listens, so a connection is refused as from a stopped server. A restart after
    `stop` binds the same port again.
    Subclasses set `handler`; the handler reaches the subclass instance as `self.server.owner`.
    """

    host = LOOPBACK
    handler: type[BaseHTTPRequestHandler]
    thread_name = "http-stand-in"
    ssl_context: ssl.SSLContext | None = None  # set: the server speaks HTTPS

    def __init__(self) -> None:
        self._port = 0  # 0 until the port is first asked for or the server first starts
        self._reserved: ThreadingHTTPServer | None = None  # bound, not yet listening: connections are refused
        self._server: ThreadingHTTPServer | None = None  # serving

    @property
    def port(self) -> int:
        if not self._port:
            self._reserved = self._bind()
        return self._port

    def start(self) -> None:
        server, self._reserved = self._reserved or self._bind(), None
        server.server_activate()
        if self.ssl_context is not None:
            server.socket = self.ssl_context.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        server.block_on_close = False
        server.owner = self  # type: ignore[attr-defined]
        server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        name = self.thread_name
        serve = threading.Thread(target=server.serve_forever, args=(0.02,), name=name, daemon=True)
        serve.start()
        self._server = server

    def _bind(self) -> ThreadingHTTPServer:
        """Bind the known port, or port 0 the first time: the kernel picks it as it binds."""
        server = ThreadingHTTPServer((self.host, self._port), self.handler, bind_and_activate=False)
        try:
            server.server_bind()
        except BaseException:
            server.server_close()
            raise
        self._port = server.server_address[1]
        return server

    def before_stop(self) -> None:
        """Hook: release anything that would keep a request from finishing."""

    def stop(self) -> None:
        self.before_stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        reserved, self._reserved = self._reserved, None
        if reserved is not None:
            reserved.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
