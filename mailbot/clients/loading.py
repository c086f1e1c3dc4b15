"""Read an installation: mailbot.toml and, with `[clients] dir`, every client's client.toml.

A configuration without `[clients]` is today's single file: one client, whose key is
`[support] mailbox`. With it, each folder under the clients folder is a client. A client whose files
are broken (or that clashes with another) is kept aside with its problem, file, line and fix; the
others are usable: one client's typo must not stop the support of all the others.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mailbot.clients.clashes import clashes
from mailbot.clients.layout import (
    CLIENT_FILE,
    DEFAULT_CLIENTS_DIR,
    TEMPLATES_FOLDER,
    check_slug,
    client_mapping,
    client_problems,
    installation_problems,
    resolve_paths,
    written_in,
)
from mailbot.config import (
    CONFIG_ENV,
    DATABASE_URL_ENV,
    Settings,
    read_toml,
    settings_from_mapping,
)
from mailbot.errors import ConfigError
from mailbot.toml_lines import line_of

DEFAULT_DATABASE_URL = "sqlite:///mailbot.db"


@dataclass(frozen=True)
class Installation:
    """Every client of one installation: the usable ones, and the broken ones with their problem."""

    path: Path  # mailbot.toml
    database_url: str
    clients_dir: Path | None  # None: a single-file configuration (one client)
    clients: dict[str, Settings] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)  # slug → what is wrong, file, line, fix
    fingerprints: dict[str, str] = field(default_factory=dict)  # slug → digest of what it was read from

    @property
    def several(self) -> bool:
        return self.clients_dir is not None

    def select(self, slug: str | None) -> dict[str, Settings]:
        """All usable clients (slug None), or the one named; ConfigError for an unknown or broken one."""
        if slug is None:
            return dict(self.clients)
        if slug in self.clients:
            return {slug: self.clients[slug]}
        if slug in self.problems:
            raise ConfigError(self.problems[slug])
        known = ", ".join(sorted(self.clients) + sorted(self.problems)) or "none"
        raise ConfigError(f"--client {slug}: no such client in {self.path} (clients: {known})")

    def report(self) -> str:
        return "\n".join(self.problems[slug] for slug in sorted(self.problems))


def config_path(path: Path | None, env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if path is not None:
        return path
    if not env.get(CONFIG_ENV):
        raise ConfigError(f"no configuration: pass --config FILE or set {CONFIG_ENV}")
    return Path(env[CONFIG_ENV])


def load_installation(
    path: Path | None = None, env: Mapping[str, str] | None = None, *, require_secrets: bool = True
) -> Installation:
    """The installation at `path` (or $MAILBOT_CONFIG). ConfigError only for mailbot.toml's own
    problems; a broken client is in `problems`."""
    env = os.environ if env is None else env
    path = config_path(path, env)
    text, data = read_toml(path)
    if "clients" not in data:  # today's single file: one client
        settings = settings_from_mapping(
            data,
            path,
            env,
            require_secrets=require_secrets,
            origin=lambda where: (path, line_of(text, where)),
        )
        slug = settings.support.mailbox
        return Installation(
            path, settings.database.url, None, {slug: settings}, {}, {slug: _digest(text.encode())}
        )
    problems = installation_problems(data, path)
    if problems:
        raise ConfigError("\n".join(problems))
    base = path.parent.resolve()
    clients_dir = _clients_dir(data["clients"], base, path, text)
    database_url = _database_url(data, base, env)
    installation = Installation(path, database_url, clients_dir)
    for folder in sorted(clients_dir.iterdir()):
        if folder.is_dir() and not folder.name.startswith((".", "_")):
            _read_client(installation, folder, data, base, text, env, require_secrets)
    for slug, messages in clashes(installation.clients).items():
        installation.problems[slug] = "\n".join(messages)
        del installation.clients[slug]
    return installation


def _clients_dir(table: Any, base: Path, path: Path, text: str) -> Path:
    where = f"{path}, line {line_of(text, ('clients',))}"
    if not isinstance(table, dict) or set(table) - {"dir"}:
        raise ConfigError(f'{where}: [clients] has one key, dir = "clients" (the folder of the clients)')
    value = table.get("dir", DEFAULT_CLIENTS_DIR)
    folder = Path(str(value)).expanduser()
    folder = folder if folder.is_absolute() else base / folder
    if not folder.is_dir():
        raise ConfigError(
            f"{where}: [clients] dir: the folder {folder} does not exist; create it and add a client with "
            f"`mailbot init --client {folder}/<name>`"
        )
    return folder


def _database_url(data: Mapping[str, Any], base: Path, env: Mapping[str, str]) -> str:
    if env.get(DATABASE_URL_ENV):
        return env[DATABASE_URL_ENV]
    resolved = resolve_paths({"database": {"url": DEFAULT_DATABASE_URL, **data.get("database", {})}}, base)
    return str(resolved["database"]["url"])


def _read_client(
    installation: Installation,
    folder: Path,
    defaults: Mapping[str, Any],
    base: Path,
    defaults_text: str,
    env: Mapping[str, str],
    require_secrets: bool,
) -> None:
    slug, file = folder.name, folder / CLIENT_FILE
    overrides = (folder / TEMPLATES_FOLDER).is_dir()
    try:
        written = file.read_bytes()
    except OSError:
        written = b""
    installation.fingerprints[slug] = _digest(defaults_text.encode(), written, bytes([overrides]))
    try:
        check_slug(slug, folder)
        if not file.is_file():
            raise ConfigError(
                f"{folder}: no {CLIENT_FILE}: this folder is not a client yet; create it with "
                f"`mailbot init --client {folder}` (or move the folder out of the clients folder)"
            )
        text, own = read_toml(file)
        problems = client_problems(own, slug, file)
        if problems:
            raise ConfigError("\n".join(problems))
        data = client_mapping(defaults, base, own, folder.resolve(), slug)

        def origin(location: Any) -> tuple[Path, int | None]:
            if written_in(own, location) or not written_in(defaults, location):
                return file, line_of(text, location)
            return installation.path, line_of(defaults_text, location)

        settings = settings_from_mapping(data, file, env, require_secrets=require_secrets, origin=origin)
    except ConfigError as exc:
        installation.problems[slug] = str(exc)
        return
    installation.clients[slug] = settings


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()
