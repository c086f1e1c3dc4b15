"""Help with a backlog: a watcher that stored more than a batch of new mail asks a peer to decide it
alongside (the `help_decide` job, mailbot.scaleout.tasks). Claims use FOR UPDATE SKIP LOCKED, so the
two never take the same mail, and the watcher decides the whole backlog itself if no one helps.

Only a worker that is not the watcher's and has a core to spare takes a request (share.may_help): a
worker's threads share one core (the GIL), so help on a busy worker only splits that core further,
after reading the client's model first. A request is passed on up to HELP_HOPS times, then asked
again HELP_AGAIN_SECONDS later as long as more than a batch of the mailbox's mail still waits: a peer
busy a moment ago may be idle by then (bench/README.md, session 25).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from mailbot.app import App
from mailbot.pipeline.deferral import OutsideHours
from mailbot.pipeline.process import BATCH_SIZE, process_pending
from mailbot.scaleout.local import LocalWorker
from mailbot.scaleout.share import may_help
from mailbot.status import count_waiting
from mailbot.worker import delivery_for

log = logging.getLogger(__name__)
HELP_HOPS = 3  # a request that keeps landing on the watcher or a busy worker then waits ...
HELP_AGAIN_SECONDS = 15.0  # ... this long, as long as more than a batch of the mailbox's mail waits

# queues a help request: (client slug, hops so far, seconds to wait first or None)
RequestHelp = Callable[[str, int, float | None], None]


def ask_for_help(request: RequestHelp, slug: str, fetched: int) -> None:
    """More than a batch of new mail: a peer decides it alongside the watcher (at most one request
    waits per mailbox)."""
    if fetched > BATCH_SIZE:
        request(slug, 0, None)


def help_decide(local: LocalWorker, request: RequestHelp, slug: str, hops: int) -> None:
    """The `help_decide` job on this worker: decide the mailbox's waiting mail here, or pass it on."""
    app = local.fleet.apps.get(slug)
    if app is None or local.stop.is_set():
        return
    watched_here = local.watches(slug)
    if not may_help(watched_here, 0.0 if watched_here else local.cores_in_use()):  # measured if it counts
        if hops < HELP_HOPS:
            request(slug, hops + 1, None)  # perhaps a peer with a core to spare takes it
        elif _still_waiting(app) > BATCH_SIZE:
            request(slug, 0, HELP_AGAIN_SECONDS)
        else:
            log.info("fleet: no worker has a core to spare for client %s; its watcher decides the rest", slug)
        return
    outside_hours = None if app.calendar.is_open(app.clock()) else OutsideHours.from_settings(app.settings)
    if outside_hours is not None and not outside_hours.takes_mail:
        return
    delivery = delivery_for(app, local.stop).start()
    try:
        decided = 0
        for _ in range(app.settings.limits.max_attempts):
            if local.stop.is_set():
                break
            result = process_pending(
                app, outside_hours, on_commit=delivery.wake, keep_going=lambda: not local.stop.is_set()
            )
            decided += result.decided
            if not result.failures:
                break
        log.info("fleet: helped client %s: %d mails decided here", slug, decided)
    finally:
        if local.stop.is_set():
            delivery.stop()
        else:
            delivery.finish()


def _still_waiting(app: App) -> int:
    with app.sessions() as session:
        return count_waiting(session, app.mailbox)
