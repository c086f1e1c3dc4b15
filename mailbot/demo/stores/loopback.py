"""An HTTP server on a free loopback port, served from a daemon thread: the base of the store stand-ins
(and of the test suite's other HTTP stand-ins, through tests/servers/common.py)."""

from __future__ import annotations

import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"


def free_ports(count: int, host: str = LOOPBACK) -> list[int]:
    """Return `count` distinct ports that were free on `host` a moment ago.

    All sockets are held open until every port is picked, so the kernel cannot hand out the same
    port twice. There is an unavoidable window until the server binds; on a test machine that's fine.
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


class LoopbackHttpServer:
    """An HTTP server on a free loopback port, served from a daemon thread: `start`/`stop` or `with`.

    Subclasses set `handler`; the handler reaches the subclass instance as `self.server.owner`.
    """

    host = LOOPBACK
    handler: type[BaseHTTPRequestHandler]
    thread_name = "http-stand-in"
    ssl_context: ssl.SSLContext | None = None  # set: the server speaks HTTPS

    def __init__(self) -> None:
        self.port = free_ports(1)[0]
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        server = ThreadingHTTPServer((self.host, self.port), self.handler)
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

    def before_stop(self) -> None:
        """Hook: release anything that would keep a request from finishing."""

    def stop(self) -> None:
        self.before_stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
