"""Write a file so that a reader never sees half of it: a hidden temporary name beside it, then rename."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomically(path: Path, data: bytes | str, *, private: bool = False) -> None:
    """`data` (text as UTF-8) at `path`; `private`: readable by its owner only (0600) from the first
    byte, for files with personal data."""
    partial = path.with_name(f".{path.name}.partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o666)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.replace(partial, path)
