"""Reading a TOML file into `Settings`: relative paths resolved against the file, secrets checked, and
errors that name the file, the line, the key and the fix."""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from mailbot.config.sections import DatabaseSettings, PathSettings, TemplateSettings
from mailbot.config.servers import secret
from mailbot.config.settings import Settings
from mailbot.errors import ConfigError
from mailbot.oauth2 import credential_problems
from mailbot.toml_lines import line_of

# where a key of the validated mapping was written: the file and its line (None: not written there)
Origin = Callable[[Sequence[str]], tuple[Path, int | None]]

CONFIG_ENV = "MAILBOT_CONFIG"
DATABASE_URL_ENV = "MAILBOT_DATABASE_URL"


def load_settings(
    path: Path | None = None, env: Mapping[str, str] | None = None, *, require_secrets: bool = True
) -> Settings:
    """Read, validate and resolve the configuration; raise ConfigError with a fix-it message.

    `require_secrets=False` is for commands that only read the database (status, tickets list/show,
    quarantine): they must work for someone who is not given the mailbox and SMTP passwords.
    """
    env = os.environ if env is None else env
    if path is None:
        if not env.get(CONFIG_ENV):
            raise ConfigError(f"no configuration: pass --config FILE or set {CONFIG_ENV}")
        path = Path(env[CONFIG_ENV])
    text, data = read_toml(path)
    if "clients" in data:
        raise ConfigError(
            f"{path} serves several clients ([clients] dir): give it to a command that takes --config "
            "(mailbot run, status, tickets ...), which read every client's client.toml"
        )
    return settings_from_mapping(
        data, path, env, require_secrets=require_secrets, origin=lambda where: (path, line_of(text, where))
    )


def read_toml(path: Path) -> tuple[str, dict[str, Any]]:
    """The file's text and its tables; ConfigError naming the file (and the line) when unreadable."""
    try:
        text = path.read_text(encoding="utf-8")
        return text, tomllib.loads(text)
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None


def settings_from_mapping(
    data: dict[str, Any],
    path: Path,
    env: Mapping[str, str] | None = None,
    *,
    require_secrets: bool = True,
    origin: Origin | None = None,
) -> Settings:
    """`origin` tells, for an invalid key, in which file and on which line it was written (a client's
    setting may come from its client.toml or from the installation's defaults)."""
    env = os.environ if env is None else env
    if env.get(DATABASE_URL_ENV):
        data = {**data, "database": {**data.get("database", {}), "url": env[DATABASE_URL_ENV]}}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path, origin)) from None
    settings = _resolve_paths(settings, path.parent.resolve())
    if require_secrets:
        _check_secrets(settings, path, env)
    return settings.model_copy(update={"source_file": path})


def _describe(exc: ValidationError, path: Path, origin: Origin | None = None) -> str:
    lines = [f"{path}: invalid configuration"]
    for error in exc.errors():
        location = [str(part) for part in error["loc"]]
        if (
            location
            and location[0] in ("imap", "maildir")
            and len(location) > 1
            and location[1]
            in (
                "ImapSettings",
                "MaildirSettings",
            )
        ):
            del location[1]
        key = f"[{location[0]}] {'.'.join(location[1:])}".strip() if location else "(top level)"
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = _unknown_key(location)
        elif error["type"] == "missing":
            message = "required key is missing"
        elif "input" in error and not isinstance(error["input"], dict) and not _is_secret_key(key):
            message += f" (got {error['input']!r})"
        lines.append(f"  {_where(location, path, origin)}{key}: {message}")
    return "\n".join(lines)


def _where(location: Sequence[str], path: Path, origin: Origin | None) -> str:
    """'line 12: ', or '/etc/mailbot/mailbot.toml, line 4: ' for a key written in another file than
    `path` (a client's default from the installation's file)."""
    if origin is None or not location:
        return ""
    file, line = origin(location)
    parts = [] if file == path else [str(file)]
    if line is not None:
        parts.append(f"line {line}")
    return f"{', '.join(parts)}: " if parts else ""


def _unknown_key(location: Sequence[str]) -> str:
    """'unknown key; did you mean processed_folder?', or the keys that the section does have."""
    keys = _keys_at(location[:-1])
    if keys is None:
        return "unknown key (misspelt? see mailbot.example.toml for the keys of this section)"
    close = difflib.get_close_matches(location[-1], keys, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(location[-1].lower(), keys, n=1, cutoff=0.6)
    if len(location) == 1:  # a whole section
        if close:
            return f"unknown section; did you mean [{close[0]}]?"
        return f"unknown section; the sections are: {', '.join(f'[{key}]' for key in keys)}"
    if close:
        return f"unknown key; did you mean {close[0]}?"
    return f"unknown key; the keys here are: {', '.join(keys)}"


def _keys_at(location: Sequence[str]) -> list[str] | None:
    """The keys a TOML table at `location` may have (top level: the sections), None if unknown."""
    model: type[BaseModel] = Settings
    for part in location:
        field = model.model_fields.get(part)
        inner = _section_model(field.annotation) if field is not None else None
        if inner is None:
            return None
        model = inner
    return [name for name, field in model.model_fields.items() if not field.exclude]


def _section_model(annotation: Any) -> type[BaseModel] | None:
    """The settings class in an annotation like `ImapSettings | None`."""
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _is_secret_key(key: str) -> bool:
    """Values of these keys are never echoed in an error message (they may be half-right secrets)."""
    return any(word in key for word in ("password", "token", "secret"))


def _resolve_paths(settings: Settings, base: Path) -> Settings:
    """Relative paths in the file mean relative to the file, not to the current directory."""

    def resolve(value: Path) -> Path:
        return value if value.is_absolute() else base / value

    updates: dict[str, Any] = {
        "knowledge_base": PathSettings(path=resolve(settings.knowledge_base.path)),
        "templates": TemplateSettings(
            path=resolve(settings.templates.path) if settings.templates.path else None,
            overrides=resolve(settings.templates.overrides) if settings.templates.overrides else None,
        ),
        "classifier": settings.classifier.model_copy(
            update={"model_dir": resolve(settings.classifier.model_dir)}
        ),
    }
    if settings.maildir is not None:
        updates["maildir"] = settings.maildir.model_copy(update={"path": resolve(settings.maildir.path)})
    for name in ("imap", "smtp"):
        section = getattr(settings, name)
        if section is not None and (section.cafile is not None or section.oauth2 is not None):
            updates[name] = section.model_copy(
                update={
                    "cafile": resolve(section.cafile) if section.cafile is not None else None,
                    "oauth2": section.oauth2.resolved(base) if section.oauth2 is not None else None,
                }
            )
    url = settings.database.url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////") and url != "sqlite:///:memory:":
        updates["database"] = DatabaseSettings(url="sqlite:///" + str(base / url.removeprefix("sqlite:///")))
    return settings.model_copy(update=updates)


def _check_secrets(settings: Settings, path: Path, env: Mapping[str, str]) -> None:
    for name in ("imap", "smtp"):
        section = getattr(settings, name)
        if section is not None and section.oauth2 is not None:
            problems = credential_problems(section.oauth2, name, env)
            if problems:
                raise ConfigError("\n".join(f"{path}: {problem}" for problem in problems))
            continue
        if section is None or section.username is None:
            continue
        if secret(section, name, env) is None:
            variable = section.password_env or f"MAILBOT_{name.upper()}_PASSWORD"
            raise ConfigError(
                f"{path}: [{name}] username is set but no password: set the environment variable "
                f"{variable} (preferred) or [{name}] password"
            )
