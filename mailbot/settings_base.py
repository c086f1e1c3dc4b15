"""What every settings section shares; its own module so that backend settings (mailbot.escalate)
and mailbot.config can both build on it without importing each other."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

_ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\".]+$")


def check_address(value: str) -> str:
    if not _ADDRESS.match(value):
        raise ValueError(f"{value!r} is not an e-mail address like support@example.com")
    return value.lower()


Address = Annotated[str, AfterValidator(check_address)]


class Section(BaseModel):
    """A TOML section: unknown keys are errors (typos surface), values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)
