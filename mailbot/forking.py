"""What a process forked from the worker for a pass does first (mailbot.pipeline.prepare_pool,
mailbot.reply.compose_pool, mailbot.reply.delivery_process): the worker's signal plumbing is not its
own, and the worker comes first for a core."""

from __future__ import annotations

import contextlib
import os
import signal

# How much lower a helper's CPU priority is than its worker's (os.nice; 19 is the lowest there is).
# Why: over a backlog the worker's deciding thread is the pass's critical path, and every helper works
# for it with time to spare (the prepare process a batch ahead, the compose process until the batch
# commits, delivery until the pass ends). On a machine with fewer cores than busy processes, a helper
# that takes the core the worker is waiting for delays everything behind it (issue 13, bench/README.md
# "session 19": the worker waited for a core 13-18 s of a 10k run, 7-8 s with the helpers at 5 and 3-4 s
# at 10, which was no faster). Not more: the helpers give way to every other process of the machine
# too, and a pass slowed by ~15 % beside an unrelated busy process at 5 as at 10.
HELPER_NICENESS = 5


def leave_signals_to_the_worker() -> None:
    """A signal meant for the worker must not be reported through its wakeup pipe by the child; Ctrl-C
    reaches the whole process group, and the worker ends its children when it stops."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def yield_to_the_worker() -> None:
    """This helper's CPU priority lowered by HELPER_NICENESS below the worker's. Only ever lowered
    (which needs no privilege); where the system refuses, the helper runs as it is."""
    with contextlib.suppress(OSError):
        os.nice(HELPER_NICENESS)
