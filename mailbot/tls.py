"""One place that builds TLS client contexts, so verification is on unless explicitly turned off."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

log = logging.getLogger(__name__)


def client_context(cafile: Path | None, verify: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cafile) if cafile else None)
    if not verify:
        log.warning("TLS certificate verification is OFF (tls_verify = false): use only for testing")
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
