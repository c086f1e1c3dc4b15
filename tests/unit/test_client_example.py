"""client.example.toml: valid TOML, every key (also the commented-out ones) a key of Settings, and every
commented-out value that claims to be the default really mailbot's default."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any, get_args

import pytest
from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from mailbot.config import Settings, settings_from_mapping
from mailbot.domain import Severity
from mailbot.paths import CLIENT_EXAMPLE_CONFIG

# a commented-out setting is '# key = value' or '# [section]' at the start of a line; explanations
# are indented or do not have that shape
_COMMENTED = re.compile(r"^# (\[\[?[a-z_.]+\]\]?|[a-z_]+ *= )")
INSTALLATION_ONLY = {"database"}  # the lead's [clients] loader reads these from mailbot.toml only


def uncommented(text: str) -> str:
    return "\n".join(line[2:] if _COMMENTED.match(line) else line for line in text.splitlines())


def leaf_keys(table: dict[str, Any], path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    keys: list[tuple[tuple[str, ...], Any]] = []
    for key, value in table.items():
        if isinstance(value, dict) and not (path and path[-1] == "business_hours" and key == "holidays"):
            keys.extend(leaf_keys(value, (*path, key)))
        else:
            keys.append(((*path, key), value))
    return keys


def section_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def field_at(path: tuple[str, ...]) -> tuple[type[BaseModel], str, Any]:
    """The model that holds the last key of `path`, the key, and its default (Undefined when none):
    the field's own default, else (a required key) the value in the enclosing section's default."""
    model: type[BaseModel] = Settings
    inherited: Any = PydanticUndefined
    for position, part in enumerate(path):
        assert part in model.model_fields, f"{'.'.join(path)}: {part!r} is not a key of {model.__name__}"
        field = model.model_fields[part]
        if position == len(path) - 1:
            if field.default_factory is not None:  # lists and tables: the file shows an example
                return model, part, PydanticUndefined
            if field.default is PydanticUndefined and isinstance(inherited, BaseModel):
                return model, part, getattr(inherited, part)  # [sla.critical] response_hours
            return model, part, field.default
        inner = section_model(field.annotation)
        if inner is None:  # a dict field such as [jira.priorities]: its keys are data
            return model, part, PydanticUndefined
        inherited = field.default if isinstance(field.default, BaseModel) else PydanticUndefined
        model = inner
    raise AssertionError(path)


TEXT = CLIENT_EXAMPLE_CONFIG.read_text(encoding="utf-8")
EVERY_KEY = leaf_keys(tomllib.loads(uncommented(TEXT)))


def test_the_example_as_written_is_a_valid_client():
    data = tomllib.loads(TEXT)
    assert set(data) == {"support", "team", "imap", "smtp"}  # what a new client must fill in
    settings = settings_from_mapping(data, CLIENT_EXAMPLE_CONFIG, env={}, require_secrets=False)
    assert settings.support.ticket_prefix == "EXAMPLE"
    assert settings.imap is not None and settings.imap.host == "imap.example.com"


def test_every_commented_out_key_is_there_when_uncommented():
    assert len(EVERY_KEY) > 80
    sections = {path[0] for path, _ in EVERY_KEY}
    expected = {name for name, field in Settings.model_fields.items() if not field.exclude}
    assert sections == expected - INSTALLATION_ONLY


@pytest.mark.parametrize("path", [path for path, _ in EVERY_KEY], ids=lambda path: ".".join(path))
def test_every_key_is_a_settings_key(path: tuple[str, ...]):
    if path[:2] == ("jira", "priorities"):
        assert path[2] in {severity.value for severity in Severity}
        return
    field_at(path)  # asserts each part


PLACEHOLDERS = {path for path, _ in leaf_keys(tomllib.loads(TEXT))}  # what a new client fills in


@pytest.mark.parametrize("path,value", EVERY_KEY, ids=[".".join(path) for path, _ in EVERY_KEY])
def test_a_value_shown_for_a_key_with_a_default_is_that_default(path: tuple[str, ...], value: Any):
    if path in PLACEHOLDERS or path[:2] == ("jira", "priorities"):
        return
    _model, _key, default = field_at(path)
    if default is PydanticUndefined or default is None:
        return  # an example value for a key without a default
    assert value == default or str(value) == str(default), f"{'.'.join(path)}: {value!r} != {default!r}"


def test_the_store_apps_of_the_example_are_valid_once_uncommented():
    from mailbot.reviews.settings import ReviewSettings

    reviews = ReviewSettings.model_validate(tomllib.loads(uncommented(TEXT))["reviews"])
    assert [app.store for app in reviews.apps] == ["apple", "google"]


def test_no_secret_values_only_variable_names():
    for path, _value in EVERY_KEY:
        assert path[-1] not in ("password", "token", "secret"), path
    assert "MAILBOT_<SLUG>_IMAP_PASSWORD" in TEXT and "MAILBOT_<SLUG>_SMTP_PASSWORD" in TEXT


def test_the_example_is_shipped_beside_mailbot_example_toml():
    root = Path(__file__).resolve().parents[2]
    assert CLIENT_EXAMPLE_CONFIG.resolve() == (root / "client.example.toml").resolve()
