"""What a process forked from the worker for a pass does first (mailbot.pipeline.prepare_pool,
mailbot.reply.compose_pool): the worker's signal plumbing is not its own."""

from __future__ import annotations

import signal


def leave_signals_to_the_worker() -> None:
    """A signal meant for the worker must not be reported through its wakeup pipe by the child; Ctrl-C
    reaches the whole process group, and the worker ends its children when it stops."""
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
