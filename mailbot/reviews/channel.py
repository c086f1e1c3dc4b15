"""One app in one store, as the rest of mailbot.reviews sees it: read new reviews, read or post the reply.

Each store client (mailbot.stores) has its own calls and paging; an adapter per store turns them into this
small face, so polling, posting and their tests do not care which store they talk to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from mailbot.stores.model import Store, StoreReply, StoreReview


@dataclass(frozen=True)
class Watermark:
    """The newest review time stored, and the ids stored at that instant (reviews may share a second)."""

    at: datetime | None = None
    ids: frozenset[str] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Reading:
    reviews: tuple[StoreReview, ...]  # newest first
    watermark: Watermark


class ReviewChannel(Protocol):
    store: Store
    app: str

    def read_new(self, watermark: Watermark) -> Reading:
        """Reviews newer than the watermark (and, where the store gives them, edited ones)."""
        ...

    def current_reply(self, review_id: str) -> StoreReply | None: ...

    def post_reply(self, review_id: str, text: str) -> StoreReply: ...

    def close(self) -> None: ...
