"""Pure rules for spreading mailboxes over the live workers of a fleet."""

from __future__ import annotations

import math

# A worker using at least this much of a core is busy: its threads share one core (the GIL), so a peer's
# backlog decided there only takes time from its own mailboxes, after reading that client's model first
# (0.3-1.5 s each; bench/README.md, session 25).
BUSY_CORES = 0.5


def fair_share(mailboxes: int, live_workers: int) -> int:
    """How many mailboxes one worker should watch: all of them alone, an even part with peers."""
    return max(1, math.ceil(mailboxes / max(1, live_workers)))


def should_hand_on(watching_here: int, mailboxes: int, live_workers: int) -> bool:
    """A worker that already watches its share leaves one more mailbox to a peer (when there is one),
    so one worker's death stops only its part and decisions run on every worker's core."""
    return live_workers > 1 and watching_here >= fair_share(mailboxes, live_workers)


def is_over_share(watching_here: int, mailboxes: int, live_workers: int) -> bool:
    """More than the share, counting the sessions already running: one of them should end early (a
    worker joined, or the last session was taken before the peers had registered)."""
    return live_workers > 1 and watching_here > fair_share(mailboxes, live_workers)


def may_help(watched_here: bool, cores_in_use: float) -> bool:
    """A help request is worth taking only on another worker than the watcher's (the same process
    shares the watcher's core: no gain) that has a core to spare (`BUSY_CORES`). Nobody else taking
    it loses nothing: the watcher decides its whole backlog itself."""
    return not watched_here and cores_in_use < BUSY_CORES
