"""Loopback servers get their port without a window in which another socket can take it (a CI run once
lost the demo test to EADDRINUSE on a port picked a moment before), or try another port when they
cannot bind port 0 themselves."""

from __future__ import annotations

import errno
import http.client
import socket
from http.server import BaseHTTPRequestHandler

import pytest

from mailbot.demo.stores.loopback import LOOPBACK, LoopbackHttpServer, start_on_free_port


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"hello"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _HelloServer(LoopbackHttpServer):
    handler = _Hello


def _get(port: int) -> bytes:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read()
    finally:
        connection.close()


def test_an_http_stand_in_holds_its_port_from_the_first_ask_and_keeps_it_across_a_restart() -> None:
    server = _HelloServer()
    port = server.port  # a client's settings are written before the stand-in starts
    taken = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with taken, pytest.raises(OSError) as raised:
        taken.bind((LOOPBACK, port))
    assert raised.value.errno == errno.EADDRINUSE
    with pytest.raises(ConnectionRefusedError):  # bound, not listening: refused, as a stopped server
        _get(port)
    with server:
        assert server.port == port
        assert _get(port) == b"hello"
    with pytest.raises(ConnectionRefusedError):
        _get(port)
    with server:  # an outage test stops a stand-in and starts it again where the client expects it
        assert server.port == port
        assert _get(port) == b"hello"


def test_a_stand_in_asked_for_its_port_and_never_started_lets_it_go_on_stop() -> None:
    server = _HelloServer()
    port = server.port
    server.stop()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as again:
        again.bind((LOOPBACK, port))


def test_a_port_taken_between_picking_and_binding_is_replaced_by_another() -> None:
    tried: list[int] = []
    squatter = socket.socket(socket.AF_INET, socket.SOCK_STREAM)

    def listen(port: int) -> socket.socket:
        tried.append(port)
        if len(tried) == 1:  # someone else takes the port first, as an outgoing connection could
            squatter.bind((LOOPBACK, port))
            squatter.listen()
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            server.bind((LOOPBACK, port))
        except OSError:
            server.close()
            raise
        server.listen()
        return server

    try:
        server = start_on_free_port(listen)
    finally:
        squatter.close()
    with server:
        assert len(tried) == 2
        assert server.getsockname() == (LOOPBACK, tried[1])
        assert tried[1] != tried[0]


def test_other_errors_and_the_last_attempt_are_raised_as_they_are() -> None:
    calls: list[int] = []

    def refuse(port: int) -> None:
        calls.append(port)
        raise PermissionError(errno.EACCES, "Permission denied")

    with pytest.raises(PermissionError):
        start_on_free_port(refuse)
    assert len(calls) == 1

    def always_taken(port: int) -> None:
        calls.append(port)
        raise OSError(errno.EADDRINUSE, "Address already in use")

    calls.clear()
    with pytest.raises(OSError, match="Address already in use"):
        start_on_free_port(always_taken, attempts=3)
    assert len(calls) == 3
