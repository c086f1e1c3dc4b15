"""`mailbot init DIR`: a starting point for a new installation, from the files shipped with mailbot.

A wheel user has no checkout to copy `mailbot.example.toml` and the sample knowledge base from, so
this writes both into DIR: the annotated configuration as `mailbot.toml` and the sample articles as
`knowledge_base/`, ready to edit. Nothing that exists is overwritten.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from mailbot.errors import ConfigError
from mailbot.paths import EXAMPLE_CONFIG, SHIPPED_KNOWLEDGE_BASE

CONFIG_NAME = "mailbot.toml"
KB_NAME = "knowledge_base"


def init_installation(directory: Path) -> list[Path]:
    """Write DIR/mailbot.toml and DIR/knowledge_base/; return what was written."""
    config, kb = directory / CONFIG_NAME, directory / KB_NAME
    existing = [path for path in (config, kb) if path.exists()]
    if existing:
        names = " and ".join(str(path) for path in existing)
        raise ConfigError(
            f"{names} already exist(s); `mailbot init` never overwrites: choose an empty folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE_CONFIG, config)
    shutil.copytree(SHIPPED_KNOWLEDGE_BASE, kb, ignore=shutil.ignore_patterns("__pycache__", ".*"))
    return [config, kb]


def next_steps(config: Path) -> str:
    return "\n".join(
        [
            f"Next: edit {config} (every key is explained there), then",
            "  export MAILBOT_IMAP_PASSWORD=... MAILBOT_SMTP_PASSWORD=...",
            f"  mailbot kb check --kb {config.parent / KB_NAME}",
            f"  mailbot run --once --config {config}",
        ]
    )
