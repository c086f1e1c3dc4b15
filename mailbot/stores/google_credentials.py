"""A Google service account's key, read once from a file or an environment variable.

The key file is what the Cloud console downloads (IAM > Service accounts > Keys > JSON). It is a
credential: the private key never appears in a message, a repr or a log line, and errors name the file
or the variable and what to do about it, never the content. A key whose `token_uri` is not HTTPS is
refused (the signed assertion would travel in clear), except on a loopback address (the test stand-ins).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from mailbot.errors import ConfigError

GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
ENV_PREFIX = "env:"  # "env:NAME": the variable NAME holds the key's JSON, or the path of the key file
LOOPBACK_HOSTS = {"127.0.0.1", "::1", "localhost"}
FIX = "download a new JSON key of the service account (Cloud console > IAM > Service accounts > Keys)"


@dataclass(frozen=True)
class GoogleCredentials:
    """A service account: who it is and the key it signs its token requests with (never in the repr)."""

    client_email: str
    private_key_pem: str = field(repr=False)
    private_key_id: str
    token_uri: str = GOOGLE_TOKEN_URI
    source: str = ""  # the file or variable it came from, for messages


def load_service_account(
    source: str | Path, *, env: Mapping[str, str] | None = None, token_uri: str | None = None
) -> GoogleCredentials:
    """The service account of a key file (`source` a path) or of a variable (`source` "env:NAME", its
    value the JSON itself or a path); `token_uri` replaces the key's own (tests, private endpoints)."""
    where, text = _read(source, os.environ if env is None else env)
    try:
        info = json.loads(text)
    except ValueError:
        raise ConfigError(f"Google service account {where} is not JSON: {FIX}") from None
    if not isinstance(info, dict):
        raise ConfigError(f"Google service account {where} is not a JSON object: {FIX}")
    if info.get("type") != "service_account":
        raise ConfigError(
            f"Google service account {where} is of type {str(info.get('type'))[:40]!r}, not "
            "'service_account' (an OAuth client or a user's credentials cannot read Play reviews): "
            "create a service account and download its JSON key"
        )
    missing = [
        k for k in ("client_email", "private_key", "private_key_id") if not isinstance(info.get(k), str)
    ]
    if missing:
        raise ConfigError(f"Google service account {where} lacks {', '.join(missing)}: {FIX}")
    _check_key(info["private_key"], where)
    uri = token_uri or str(info.get("token_uri") or GOOGLE_TOKEN_URI)
    _check_token_uri(uri, where)
    return GoogleCredentials(info["client_email"], info["private_key"], info["private_key_id"], uri, where)


def _read(source: str | Path, env: Mapping[str, str]) -> tuple[str, str]:
    """(how to name the source in a message, its text)."""
    if isinstance(source, str) and source.startswith(ENV_PREFIX):
        name = source[len(ENV_PREFIX) :]
        value = env.get(name, "")
        if not value.strip():
            raise ConfigError(
                f"Google service account: the variable {name} is not set: set it to the JSON key or to the "
                "path of the key file"
            )
        if value.lstrip().startswith("{"):
            return f"from the variable {name}", value
        source = Path(value)
        named = f"{source} (from the variable {name})"
    else:
        source = Path(source)
        named = str(source)
    try:
        return named, source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"Google service account key {named} does not exist: check the path") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"Google service account key {named} cannot be read ({type(exc).__name__}): check the file and "
            "that mailbot's user may read it"
        ) from None


def _check_key(pem: str, where: str) -> None:
    try:
        key = load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ConfigError(
            f"Google service account {where}: private_key is not a PEM private key: {FIX}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ConfigError(f"Google service account {where}: private_key is not an RSA key: {FIX}")


def _check_token_uri(uri: str, where: str) -> None:
    parts = urlsplit(uri)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        return
    raise ConfigError(
        f"Google service account {where}: token_uri {uri!r} is not an https URL: use {GOOGLE_TOKEN_URI}"
    )
