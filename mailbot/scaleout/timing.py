"""How quickly a fleet notices a dead worker, and how long one watch session lasts.

Procrastinate workers write a heartbeat every `heartbeat_seconds`; a worker silent for
`stalled_seconds` is dead, and the takeover job (every `takeover_seconds`) gives up its jobs and
queues its mailboxes' watch again. Worst case from a SIGKILL to a live worker watching: stalled +
takeover period + one fetch, 30 + 15 s with the defaults, well inside the 90 s the issue allows.
The tests shorten it with MAILBOT_FLEET_STALLED_SECONDS (every other period follows from it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from mailbot.errors import ConfigError

STALLED_ENV = "MAILBOT_FLEET_STALLED_SECONDS"
STALLED_SECONDS = 30.0  # Procrastinate's default stalled_worker_timeout
SESSION_SECONDS = 300.0  # one watch session; then the mailbox's next session is queued (any worker)
# How often a worker with a free job slot asks for a job that has become due. Procrastinate's NOTIFY
# wakes every worker when a job is queued, but not when a job queued for later (a mailbox handed on,
# mailbot.scaleout.tasks.HAND_ON_SECONDS) becomes due: with its default of 5 s each hand-on waited up to
# 7 s, and a mailbox handed on three times at start stayed unwatched for 16 s (bench/README.md, session
# 25). One small indexed query per worker and second.
POLL_SECONDS = 1.0


@dataclass(frozen=True)
class FleetTiming:
    stalled_seconds: float = STALLED_SECONDS
    session_seconds: float = SESSION_SECONDS

    @property
    def heartbeat_seconds(self) -> float:
        """Three heartbeats per stalled period: one lost or late beat does not make a worker dead."""
        return self.stalled_seconds / 3

    @property
    def takeover_seconds(self) -> int:
        """Period of the takeover job, in whole seconds (a cron seconds field)."""
        return max(1, min(30, int(self.stalled_seconds // 2)))


def fleet_timing(env: Mapping[str, str] | None = None) -> FleetTiming:
    """The default timing, or a shorter stalled period from $MAILBOT_FLEET_STALLED_SECONDS."""
    value = (os.environ if env is None else env).get(STALLED_ENV, "").strip()
    if not value:
        return FleetTiming()
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 2 <= seconds <= 600:
        what = "seconds without a heartbeat before a worker counts as dead, 2 to 600"
        raise ConfigError(f"{STALLED_ENV}={value!r}: {what}")
    return FleetTiming(stalled_seconds=seconds, session_seconds=max(10 * seconds, 60.0))
