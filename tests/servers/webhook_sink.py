"""A webhook receiver on 127.0.0.1 that checks signatures the way a real receiver should.

It verifies every POST with ``mailbot.escalate.webhook.verify_signature`` over the raw bytes it
received, answers 401 to a bad signature and 204 to a good one (unless ``respond_next`` planned
another status), and records everything as ``Delivery`` so tests can look at the exact bytes.

``drip_next`` makes it a receiver that is alive but hopelessly slow (issue 11): it sends its answer
one byte every `interval` seconds, so every single read of the client succeeds within its timeout
and only a deadline for the whole call ends it; ``drips`` counts the answers being dripped now.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any

from mailbot.escalate.webhook import verify_signature

from .common import LoopbackHttpServer, send_slowly


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    verified: bool
    status: int  # what the sink answered

    @property
    def event(self) -> Any:
        return json.loads(self.body)


class WebhookSink(LoopbackHttpServer):
    def __init__(self, secret: str, tolerance_seconds: float = 300) -> None:
        self.secret = secret
        self.tolerance_seconds = tolerance_seconds
        super().__init__()
        self._lock = threading.Lock()
        self._deliveries: list[Delivery] = []
        self._planned: list[tuple[int, dict[str, str]]] = []
        self._drip: list[float] = []  # intervals of the next dripped answers
        self._dripping = 0
        self._stopping = threading.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hooks/mailbot"

    @property
    def deliveries(self) -> list[Delivery]:
        with self._lock:
            return list(self._deliveries)

    def respond_next(self, status: int, count: int = 1, headers: dict[str, str] | None = None) -> None:
        """Answer the next `count` verified deliveries with `status` instead of 204."""
        with self._lock:
            self._planned.extend([(status, headers or {})] * count)

    def drip_next(self, count: int = 1, interval: float = 1.5) -> None:
        """Send the next `count` answers one byte every `interval` s (until the client gives up)."""
        with self._lock:
            self._drip.extend([interval] * count)

    @property
    def drips(self) -> int:
        """Answers being dripped right now (the client has not given up on them yet)."""
        with self._lock:
            return self._dripping

    def before_stop(self) -> None:
        self._stopping.set()  # dripping answers end

    def _drip_interval(self) -> float | None:
        with self._lock:
            return self._drip.pop(0) if self._drip else None

    def _send_slowly(self, wfile: Any, data: bytes, interval: float) -> None:
        with self._lock:
            self._dripping += 1
        try:
            send_slowly(wfile, data, interval, self._stopping)
        finally:
            with self._lock:
                self._dripping -= 1

    def _receive(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str]]:
        verified = verify_signature(
            self.secret,
            headers.get("x-mailbot-timestamp", ""),
            body,
            headers.get("x-mailbot-signature", ""),
            self.tolerance_seconds,
        )
        with self._lock:
            status, extra = (204, {}) if verified else (401, {})
            if verified and self._planned:
                status, extra = self._planned.pop(0)
            self._deliveries.append(Delivery(path, headers, body, verified, status))
        return status, extra


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body writes
    wbufsize = -1  # buffered: headers and body leave in one write when the handler flushes

    def do_POST(self) -> None:
        sink: WebhookSink = self.server.owner  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, extra = sink._receive(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        reply = b"" if status == 204 else json.dumps({"status": status}).encode()
        interval = sink._drip_interval()
        if interval is not None:
            head = f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in extra.items())
            head += f"Content-Length: {len(reply)}\r\nConnection: close\r\n\r\n"
            self.close_connection = True
            sink._send_slowly(self.wfile, head.encode("latin-1") + reply, interval)
            return
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply)))
        if reply:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


WebhookSink.handler = _Handler
