"""Ids in pieces for `IN (...)` lists: far below any bound-parameter limit (SQLite 32,766, PostgreSQL
65,535), so that a backlog or a history of any size is read and marked in statements of a fixed size."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

T = TypeVar("T")
ID_CHUNK = 500


def in_chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    """`values` in pieces of ID_CHUNK, for `IN (...)` lists."""
    for start in range(0, len(values), ID_CHUNK):
        yield values[start : start + ID_CHUNK]
