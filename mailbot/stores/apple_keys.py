"""App Store Connect API credentials and loading the `.p8` private key, with errors that say the fix.

The key is a secret: it lives in a file only its owner may read, or in an environment variable, and is
never part of a repr, an exception or a log line. Errors name the file or variable and what to do,
like `mailbot kb check` does ("file — problem — fix").
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mailbot.errors import ConfigError

APPLE_API = "https://api.appstoreconnect.apple.com"
ENV_PREFIX = "env:"  # "env:MAILBOT_APPLE_KEY": the PEM text is in that environment variable
_FIX = "download the key again under Users and Access > Integrations in App Store Connect (a .p8 file)"


@dataclass(frozen=True)
class AppleCredentials:
    """One App Store Connect API key: a team key has an issuer id, an individual key has none."""

    key_id: str
    issuer_id: str | None
    private_key_pem: str = field(repr=False)
    base_url: str = APPLE_API

    @property
    def kind(self) -> str:
        return "individual" if self.issuer_id is None else "team"


def load_private_key(path_or_env: str | Path, env: Mapping[str, str] | None = None) -> str:
    """The PEM text of an EC P-256 private key from a file, or from `env:<VARIABLE>`; ConfigError if unusable.

    A file readable by group or others is refused (like the mailbox keys): a leaked `.p8` cannot be
    revoked without breaking every app the key serves.
    """
    source = str(path_or_env)
    if source.startswith(ENV_PREFIX):
        variable = source.removeprefix(ENV_PREFIX)
        text = (os.environ if env is None else env).get(variable, "")
        where = f"environment variable {variable}"
        if not text.strip():
            raise ConfigError(f"{where} is not set or empty: put the text of the .p8 file into it")
    else:
        path = Path(source).expanduser()
        where = str(path)
        try:
            info = path.stat()
            if not stat.S_ISREG(info.st_mode):
                raise ConfigError(
                    f"{where} is not a regular file: name the .p8 file App Store Connect gave you"
                )
            if info.st_mode & 0o077:
                mode = f"{stat.S_IMODE(info.st_mode):04o}"
                raise ConfigError(
                    f"{where} holds a private key and may be read by others (mode {mode}): chmod 600 {where}"
                )
            text = path.read_text(encoding="ascii")
        except OSError as exc:
            raise ConfigError(
                f"{where}: cannot read the key file ({exc.strerror}): check the path and its owner"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"{where} is not a PEM text file: {_FIX}") from None
    return _checked_pem(text, where)


def _checked_pem(text: str, where: str) -> str:
    pem = text.strip().replace("\\n", "\n")  # a variable set from one line often carries literal \n
    if "-----BEGIN" not in pem:
        raise ConfigError(
            f"{where} does not hold a PEM private key (no '-----BEGIN PRIVATE KEY-----'): {_FIX}"
        )
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except TypeError:
        raise ConfigError(f"{where} holds an encrypted private key: use the unencrypted .p8 file") from None
    except ValueError:
        raise ConfigError(f"{where} holds no readable PEM private key: {_FIX}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        kind = getattr(getattr(key, "curve", None), "name", type(key).__name__)
        raise ConfigError(
            f"{where} holds a {kind} key, but App Store Connect keys are EC P-256 (ES256): {_FIX}"
        )
    return pem + "\n"
