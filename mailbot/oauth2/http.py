"""The HTTP session both token libraries use: `cafile` and the timeout on every request.

A CA file set on `requests.Session.verify` alone loses to the REQUESTS_CA_BUNDLE variable (requests
merges the environment over the session, psf/requests#3829), so it is passed with each request.
Proxies from the environment (HTTPS_PROXY) are still honoured.
"""

from __future__ import annotations

import functools
from pathlib import Path

import requests


def token_session(cafile: Path | None, timeout: float) -> requests.Session:
    session = requests.Session()
    options: dict[str, object] = {"timeout": timeout}
    if cafile is not None:
        options["verify"] = str(cafile)
    session.request = functools.partial(session.request, **options)  # type: ignore[method-assign]
    return session
