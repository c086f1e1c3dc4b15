"""A local SMTP sink (aiosmtpd) that writes every mail it receives into a directory as an .eml file."""

from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailbot.demo.stores.loopback import LOOPBACK, start_on_free_port


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
        self.port = port
        self.controller: Controller | None = None

    def __enter__(self) -> EmlSink:
        self.controller = self._start(self.port) if self.port else start_on_free_port(self._start)
        self.port = self.controller.port
        return self

    def __exit__(self, *_exc: Any) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def _start(self, port: int) -> Controller:
        return started(Controller(self.handler, hostname=LOOPBACK, port=port))

    @property
    def received(self) -> int:
        return self.handler.count


def started(controller: Controller) -> Controller:
    """`controller`, started; one that could not bind (OSError) leaves no open event loop behind."""
    try:
        controller.start()
    except OSError:
        controller.loop.close()  # its thread has ended: it could not bind
        raise
    return controller
