"""Small helpers shared by the test servers: free ports, readiness polling, self-signed certs.

`LoopbackHttpServer`, `free_ports`, `start_on_free_port` and `retried_while_port_taken` live in
mailbot.demo.stores.loopback (the demo starts the store stand-ins from the installed package) and are
re-exported here for the suite.
"""

from __future__ import annotations

import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from mailbot.demo.stores.loopback import (
    LOOPBACK,
    LoopbackHttpServer,
    free_ports,
    retried_while_port_taken,
    start_on_free_port,
)

__all__ = [
    "ADDRESS_IN_USE",
    "LOOPBACK",
    "PORT_ATTEMPTS",
    "LoopbackHttpServer",
    "free_ports",
    "make_self_signed_cert",
    "port_listening",
    "port_open",
    "reported_in_use",
    "retried_while_port_taken",
    "send_slowly",
    "start_on_free_port",
    "wait_until",
]


# Dovecot and PostgreSQL bind the ports they are told in a process of their own: when one was taken
# between free_ports and their bind, they say so in these words (strerror(EADDRINUSE)), and get new ports.
ADDRESS_IN_USE = "Address already in use"
PORT_ATTEMPTS = 3


def reported_in_use(kind: type[Exception]) -> Callable[[Exception], bool]:
    """For `retried_while_port_taken`: an error of `kind` whose text says its port was in use."""
    return lambda error: isinstance(error, kind) and ADDRESS_IN_USE in str(error)


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    """True if a TCP connection to host:port is accepted right now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def port_listening(host: str, port: int) -> bool:
    """True if a socket listens on host:port, checked in /proc/net/tcp without connecting.

    Not connecting matters for Dovecot: a probe connection spawns login/lmtp processes, and if
    those are still reading their config when the server is stopped, the shutdown takes ~6 s.
    Falls back to a connection attempt where /proc/net/tcp is not available.
    """
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return port_open(host, port)
    want = f"{socket.inet_aton(host)[::-1].hex().upper()}:{port:04X}"
    return any(f[1] == want and f[3] == "0A" for f in (line.split() for line in lines))  # 0A: LISTEN


def wait_until(
    predicate: Callable[[], bool], timeout: float, interval: float = 0.01, what: str = "condition"
) -> None:
    """Poll `predicate` every `interval` s until it is true; raise TimeoutError after `timeout` s.

    Tests use this instead of fixed sleeps, so they are as fast as the server and still bounded.
    """
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not reached within {timeout:.1f} s")
        time.sleep(interval)


def send_slowly(wfile: BinaryIO, data: bytes, interval: float, stopping: threading.Event) -> None:
    """Write `data` one byte every `interval` s: a peer that is alive but hopelessly slow, whose every
    single byte arrives within any read timeout. Ends early when `stopping` is set or the client left."""
    try:
        for byte in data:
            wfile.write(bytes([byte]))
            wfile.flush()
            if stopping.wait(interval):
                return
    except OSError:  # the client gave up: what a good client does
        pass


def make_self_signed_cert(directory: Path, name: str = "server") -> tuple[Path, Path]:
    """Create `<name>.pem` (cert, also usable as CA file) and `<name>.key` in `directory`.

    The SAN lists `IP:127.0.0.1` and `DNS:localhost`, so clients can keep full verification
    (hostname check included) against the cert as their `cafile`. EC P-256 keeps this ~10 ms.
    """
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    if cert.exists() and key.exists():
        return cert, key
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "3650", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return cert, key
