"""A local SMTP sink (aiosmtpd) that writes every mail it receives into a directory as an .eml file."""

from __future__ import annotations

import re
import socket
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


class _SaveToDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        with self.lock:
            self.count += 1
            recipient = re.sub(
                r"[^a-zA-Z0-9.@_-]", "_", envelope.rcpt_tos[0] if envelope.rcpt_tos else "unknown"
            )
            path = self.directory / f"{self.count:03d}-to-{recipient}.eml"
        path.write_bytes(raw)
        return "250 Message accepted for delivery"


class EmlSink:
    """SMTP on 127.0.0.1 (a free port unless given); `directory` receives one .eml per mail."""

    def __init__(self, directory: Path, port: int = 0) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.handler = _SaveToDirectory(directory)
        self.port = port or _free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> EmlSink:
        self.controller.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.controller.stop()

    @property
    def received(self) -> int:
        return self.handler.count


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
