"""`mailbot init`: starting points from the files shipped with mailbot, never overwriting anything.

`mailbot init DIR` writes a new installation: the annotated configuration as `mailbot.toml` and the
sample knowledge base as `knowledge_base/`. `mailbot init --client clients/<slug>` adds one client app
to an installation: `client.toml` from client.example.toml (slug and ticket prefix filled in) and a
starter knowledge base that `mailbot kb check` accepts as it is, so the first run of the check shows
the editor a working example instead of a list of problems. A wheel user has no checkout to copy these
from, hence this module.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from pathlib import Path

from mailbot.clients.layout import CLIENT_FILE, SLUG, env_slug, password_variable
from mailbot.errors import ConfigError
from mailbot.paths import (
    CLIENT_EXAMPLE_CONFIG,
    EXAMPLE_CONFIG,
    SHIPPED_KNOWLEDGE_BASE,
    STARTER_KNOWLEDGE_BASE,
)

CONFIG_NAME = "mailbot.toml"
KB_NAME = "knowledge_base"
PREFIX_LENGTH = 10  # [support] ticket_prefix: ^[A-Z][A-Z0-9]{0,9}$
_IGNORED = shutil.ignore_patterns("__pycache__", ".*")


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
    shutil.copytree(SHIPPED_KNOWLEDGE_BASE, kb, ignore=_IGNORED)
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


def init_client(folder: Path) -> list[Path]:
    """Write FOLDER/client.toml and FOLDER/knowledge_base/ for the client whose slug is FOLDER's name.

    Refuses a name that cannot be a slug and a folder that exists (even empty: a half-made client is
    someone's work in progress); returns what was written.
    """
    slug = folder.name
    check_slug(slug)
    if folder.exists():
        raise ConfigError(
            f"{folder} already exists; `mailbot init --client` never overwrites: choose another slug, or "
            f"move {folder} away first if it is a leftover"
        )
    prefix = ticket_prefix(slug, taken=prefixes_in_use(folder.parent))
    kb = folder / KB_NAME
    folder.mkdir(parents=True)
    config = folder / CLIENT_FILE
    config.write_text(client_config(slug, prefix), encoding="utf-8")
    shutil.copytree(STARTER_KNOWLEDGE_BASE, kb, ignore=_IGNORED)
    shutil.copyfile(SHIPPED_KNOWLEDGE_BASE / "README.md", kb / "README.md")  # how to write articles
    return [config, kb]


def check_slug(slug: str) -> None:
    if not SLUG.match(slug):
        raise ConfigError(
            f"{slug!r} cannot be a client's folder name: it is the client's id in the database, so it "
            "must be 1 to 40 lower-case letters, digits, '_' or '-', starting with a letter or digit; "
            "e.g. `mailbot init --client clients/park-pal`"
        )


def ticket_prefix(slug: str, taken: frozenset[str] = frozenset()) -> str:
    """A ticket prefix from the slug ('park-pal' -> 'PARKPAL'), unique among `taken`.

    [support] ticket_prefix allows A-Z and 0-9, at most 10, starting with a letter; references must
    tell the clients apart, so a prefix in use gets a digit ('PARKPAL2').
    """
    letters = re.sub(r"[^A-Z0-9]", "", slug.upper()).lstrip("0123456789")
    if not letters:  # a slug of digits only: '2024' -> 'C2024'
        letters = "C" + re.sub(r"[^0-9]", "", slug)
    base = letters[:PREFIX_LENGTH]
    candidates = [base] + [f"{base[: PREFIX_LENGTH - len(str(n))]}{n}" for n in range(2, 100)]
    return next(candidate for candidate in candidates if candidate not in taken)


def prefixes_in_use(clients_dir: Path) -> frozenset[str]:
    """The ticket prefixes that the other clients' client.toml files set (unreadable files are skipped:
    the clients check reports them, this only avoids an obvious clash)."""
    found = set()
    for path in clients_dir.glob(f"*/{CLIENT_FILE}"):
        try:
            prefix = tomllib.loads(path.read_text(encoding="utf-8")).get("support", {}).get("ticket_prefix")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            continue
        if isinstance(prefix, str):
            found.add(prefix)
    return frozenset(found)


def client_config(slug: str, prefix: str) -> str:
    """client.example.toml with this client's slug, name, ticket prefix and password variables."""
    text = CLIENT_EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = text.replace("<SLUG>", env_slug(slug)).replace("<slug>", slug)
    text = _set_string(text, "support", "name", f"{display_name(slug)} Support")
    return _set_string(text, "support", "ticket_prefix", prefix)


def display_name(slug: str) -> str:
    """'park-pal' -> 'Park Pal': a first guess for the name in From, to be edited."""
    return " ".join(part.capitalize() for part in re.split(r"[-_]+", slug) if part) or slug


def _set_string(text: str, section: str, key: str, value: str) -> str:
    """Replace the value of `key = "..."` in `[section]`, keeping the line's comment."""
    lines = text.split("\n")
    current = ""
    for index, line in enumerate(lines):
        header = re.match(r"^\[([^\]]+)\]", line)
        if header:
            current = header.group(1).strip()
        elif current == section and re.match(rf'^{key}\s*=\s*"', line):
            assignment, hash_sign, comment = line.partition("#")
            new = re.sub(r'"[^"]*"', lambda _m: f'"{value}"', assignment, count=1).rstrip()
            if hash_sign:  # keep the comment in its column when the new value leaves room
                new = f"{new.ljust(len(assignment) - 1)} #{comment}"
            lines[index] = new
            return "\n".join(lines)
    raise ValueError(f'{CLIENT_EXAMPLE_CONFIG} has no line {key} = "..." in [{section}]')


def client_next_steps(config: Path) -> str:
    folder = config.parent
    imap, smtp = (password_variable(folder.name, section) for section in ("imap", "smtp"))
    kb = folder / KB_NAME
    return "\n".join(
        [
            f"Next: fill in the lines marked 'fill in' in {config} (support and team address,",
            "  ticket prefix, mail servers); what it leaves out comes from the installation's mailbot.toml.",
            f"  Write the client's articles in {kb} (its README.md explains the format),",
            "  replace the example article getting-started, and add mail no article may answer to",
            "  _out_of_scope.md. Then:",
            f"  mailbot kb check --kb {kb}",
            f"  export {imap}=... {smtp}=...",
            f"  mailbot run --config mailbot.toml   (with [clients] dir = {str(folder.parent)!r} there)",
        ]
    )
