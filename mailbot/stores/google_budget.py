"""Google Play's per-app quotas, kept on mailbot's side: refuse a call before the store would.

Google allows 200 GET requests per hour and 2,000 POST requests per day for each app, and answers 429
beyond them. Counting here keeps the scheduler from spending the hour on retries and leaves the
refusal to mailbot (`StoreRateLimited` with the wait). The default budgets are shared by every client
in the process, so a client made anew for each poll still counts what the earlier ones spent; another
process on the same app is not seen (the store's 429 still is).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from mailbot.stores.model import StoreRateLimited

GET_PER_HOUR = 200
POST_PER_DAY = 2000


class RollingBudget:
    """At most `limit` calls per app in any `window_seconds`, counted when they are sent."""

    def __init__(
        self, limit: int, window_seconds: float, what: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.what = what
        self._clock = clock
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def take(self, app: str) -> None:
        """Count one call for `app`, or refuse it when the window is full (nothing is counted then)."""
        with self._lock:
            now = self._clock()
            calls = self._recent(app, now)
            if len(calls) >= self.limit:
                wait = max(0.0, calls[0] + self.window_seconds - now)
                raise StoreRateLimited(
                    f"Google Play quota of {self.limit} {self.what} for {app} is spent: the next is possible "
                    f"in {wait / 60:.0f} min",
                    status=None,
                    code="LOCAL_QUOTA",
                    retry_after_seconds=wait,
                )
            calls.append(now)

    def used(self, app: str) -> int:
        with self._lock:
            return len(self._recent(app, self._clock()))

    def _recent(self, app: str, now: float) -> deque[float]:
        calls = self._calls.setdefault(app, deque())
        while calls and calls[0] <= now - self.window_seconds:
            calls.popleft()
        return calls


SHARED_GET_BUDGET = RollingBudget(GET_PER_HOUR, 3600.0, "reads per hour")
SHARED_POST_BUDGET = RollingBudget(POST_PER_DAY, 86400.0, "replies per day")
