"""Pure rules for spreading mailboxes over the live workers of a fleet."""

from __future__ import annotations

import math


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


def may_help(watched_here: bool, hops: int, live_workers: int, max_hops: int) -> bool:
    """A help request is worth taking on another worker than the watcher's (same process: same GIL,
    no gain); passed on at most `max_hops` times, then taken wherever it is."""
    return not watched_here or live_workers <= 1 or hops >= max_hops
