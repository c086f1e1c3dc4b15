"""How a client's settings are made from two files: pure functions on the parsed TOML tables.

`mailbot.toml` holds the installation (`[database]`, `[clients] dir`) and defaults for every section;
`clients/<slug>/client.toml` holds what is the client's own. A key in client.toml wins; a table merges
key by key (so `[sla.major]` may set only `response_hours`). Relative paths count from the file that
wrote them. Some things are one client's by nature and get per-client defaults here, so that a
default can never make two clients share them: the knowledge base, the model folder, the template
overrides and the names of the password variables.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mailbot.errors import ConfigError

SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CLIENT_FILE = "client.toml"
KB_FOLDER = "knowledge_base"
TEMPLATES_FOLDER = "templates"
DEFAULT_CLIENTS_DIR = "clients"
DEFAULT_MODEL_DIR = "model"

# keys that hold a path: (section, key); relative values count from the file that wrote them
PATH_KEYS: tuple[tuple[str, ...], ...] = (
    ("knowledge_base", "path"),
    ("templates", "path"),
    ("templates", "overrides"),
    ("classifier", "model_dir"),
    ("maildir", "path"),
    *((server, "cafile") for server in ("imap", "smtp")),
    *(
        (server, "oauth2", key)
        for server in ("imap", "smtp")
        for key in ("cafile", "certificate_file", "service_account_file", "authorized_user_file")
    ),
)
INSTALLATION_ONLY = ("database", "clients")  # one database, one clients folder for all clients
SERVER_SECTIONS = ("imap", "smtp")
# tables a client states whole: its signature and legal lines are one text, never half the default's
WHOLE_TABLES = (("branding", "signature"), ("branding", "footer"))
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def env_slug(slug: str) -> str:
    """The slug as it appears in environment variable names: MAILBOT_<SLUG>_IMAP_PASSWORD."""
    return slug.upper().replace("-", "_")


def password_variable(slug: str, section: str) -> str:
    """MAILBOT_<SLUG>_<SECTION>_PASSWORD: each client's mailbox has its own secret."""
    return f"MAILBOT_{env_slug(slug)}_{section.upper()}_PASSWORD"


def merge(defaults: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """`own` over `defaults`, tables merged key by key, anything else replaced whole."""
    merged: dict[str, Any] = dict(defaults)
    for key, value in own.items():
        base = merged.get(key)
        if isinstance(value, Mapping) and isinstance(base, Mapping):
            merged[key] = merge(base, value)
        else:
            merged[key] = value
    return merged


def resolve_paths(data: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """A copy of `data` whose relative paths (PATH_KEYS, an SQLite URL) are made absolute from `base`."""
    resolved = merge({}, data)
    for *tables, key in PATH_KEYS:
        table: Any = resolved
        for name in tables:
            table = table.get(name) if isinstance(table, dict) else None
        if isinstance(table, dict) and isinstance(table.get(key), str):
            path = Path(table[key]).expanduser()
            table[key] = str(path if path.is_absolute() else base / path)
    database = resolved.get("database")
    if isinstance(database, dict) and isinstance(database.get("url"), str):
        url = database["url"]
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
            database["url"] = "sqlite:///" + str(base / url.removeprefix("sqlite:///"))
    return resolved


def installation_problems(installation: Mapping[str, Any], path: Path) -> list[str]:
    """What mailbot.toml must not hold as a default for every client."""
    if KB_FOLDER in installation:
        return [
            f"{path}: [knowledge_base] would give every client the same articles; each client's knowledge "
            f"base is clients/<slug>/{KB_FOLDER}/ (or [knowledge_base] path in its {CLIENT_FILE}): move the "
            "section into the client.toml of the client it belongs to"
        ]
    return []


def client_problems(own: Mapping[str, Any], slug: str, path: Path) -> list[str]:
    """What a client.toml must not hold: installation-wide sections, a mailbox other than its folder."""
    problems = [
        f"{path}: [{section}] is the installation's, the same for every client: set it in mailbot.toml"
        for section in INSTALLATION_ONLY
        if section in own
    ]
    support = own.get("support")
    mailbox = support.get("mailbox") if isinstance(support, Mapping) else None
    if mailbox is not None and mailbox != slug:
        problems.append(
            f"{path}: [support] mailbox = {mailbox!r}, but a client's key is its folder's name ({slug!r}): "
            "remove the key (or rename the folder)"
        )
    return problems


def client_mapping(
    installation: Mapping[str, Any],
    installation_dir: Path,
    own: Mapping[str, Any],
    client_dir: Path,
    slug: str,
) -> dict[str, Any]:
    """The client's whole configuration: installation defaults, its own keys over them, and the
    per-client defaults (knowledge base, model folder, template overrides, password variables)."""
    defaults = {
        key: value
        for key, value in resolve_paths(installation, installation_dir).items()
        if key not in ("clients", KB_FOLDER)
    }
    mine = resolve_paths(own, client_dir)
    data = merge(defaults, mine)
    data["support"] = {**data.get("support", {}), "mailbox": slug}
    for section, key in WHOLE_TABLES:
        own_table = mine.get(section, {}).get(key)
        if isinstance(own_table, Mapping):  # never one language's lines from the default, one from here
            data[section][key] = dict(own_table)
    hours = mine.get("business_hours", {})
    if any(day in hours for day in WEEKDAYS) and "always_open" not in hours:
        # a client that writes its own opening hours means them, whatever the default says
        data["business_hours"] = {**data["business_hours"], "always_open": False}
    if KB_FOLDER not in mine:
        data[KB_FOLDER] = {"path": str(client_dir / KB_FOLDER)}
    if "model_dir" not in mine.get("classifier", {}):
        shared = defaults.get("classifier", {}).get("model_dir", str(installation_dir / DEFAULT_MODEL_DIR))
        data["classifier"] = {**data.get("classifier", {}), "model_dir": str(Path(shared) / slug)}
    overrides = client_dir / TEMPLATES_FOLDER
    if overrides.is_dir() and "overrides" not in mine.get("templates", {}):
        data["templates"] = {**data.get("templates", {}), "overrides": str(overrides)}
    for section in SERVER_SECTIONS:
        table = data.get(section)
        if not isinstance(table, dict):
            continue
        if table.get("auth") == "oauth2":
            _oauth2_variables(table.get("oauth2"), slug, section)
        elif not (table.get("password") or table.get("password_env")):
            table["password_env"] = password_variable(slug, section)
    return data


def _oauth2_variables(block: Any, slug: str, section: str) -> None:
    """The client's own variable names where the OAuth2 block leaves them to the default
    (MAILBOT_<SLUG>_<SECTION>_CLIENT_SECRET, _REFRESH_TOKEN): one client's secret is never another's."""
    if not isinstance(block, dict):
        return
    prefix = f"MAILBOT_{env_slug(slug)}_{section.upper()}"
    wants_secret = block.get("provider") == "microsoft" and "certificate_file" not in block
    if block.get("provider") == "google" and "client_id" in block:
        wants_secret = True
        block.setdefault("refresh_token_env", f"{prefix}_REFRESH_TOKEN")
    if wants_secret:
        block.setdefault("client_secret_env", f"{prefix}_CLIENT_SECRET")


def written_in(own: Mapping[str, Any], location: Sequence[str]) -> bool:
    """Whether client.toml itself sets the key at `location` (else it came from the defaults)."""
    table: Any = own
    for part in location:
        if not isinstance(table, Mapping) or part not in table:
            return False
        table = table[part]
    return True


def check_slug(slug: str, folder: Path) -> None:
    if not SLUG.match(slug):
        raise ConfigError(
            f"{folder}: {slug!r} is not a client name: use lower-case letters, digits, '-' and '_' "
            "(at most 40, starting with a letter or digit), e.g. 'parkfuchs'; rename the folder"
        )
