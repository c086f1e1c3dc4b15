"""The fleet's jobs, registered on the engine app for one worker process (`register_tasks`).

- `watch_mailbox(slug)` (queue `watch`, lock `mailbox:<slug>`, queueing lock `watch:<slug>`): one
  watch session of the client's mailbox on this worker (the passes and IMAP IDLE of the one-process
  worker, mailbot.scheduler.MailJob) for `session_seconds`, then the next session is queued, to run on
  whichever worker takes it. The lock lets one session run at a time; the queueing lock keeps at most
  one waiting. A worker that already watches its fair share hands the mailbox on to a peer.
- `help_decide(slug, hops)` (queue `help`, queueing lock `help:<slug>`): a watcher that stored a large
  backlog asks a peer with a core to spare to decide it alongside (mailbot.scaleout.helping).
- `client_job(slug, kind)` (queue `clients`, lock and queueing lock `<kind>:<slug>`): the SLA watch,
  due escalation calls, the Jira follow-up of one client, so one slow backend delays only its own.
- `schedule_client_jobs` (periodic, every 30 s) queues those once per period for the whole fleet
  (both in mailbot.scaleout.client_jobs).
- `forget_old_jobs` (periodic, hourly): deletes finished jobs older than a day; the engine keeps
  every job row otherwise (about 4,300 a day per client and 8,600 for the fleet's own periodic jobs).
- `take_over` (periodic): gives up the jobs of workers whose heartbeat is stale, frees the mail and
  replies they had claimed, and queues a watch for every served mailbox that has none, so a dead
  worker's mailboxes are watched again and its claims do not wait for their lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

from procrastinate import App as EngineApp
from procrastinate import JobContext
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from procrastinate.tasks import Task
from sqlalchemy import delete

from mailbot.app import App
from mailbot.db.claims import release_claims_of_the_dead
from mailbot.db.schema import MailboxWatch
from mailbot.scaleout import client_jobs, helping
from mailbot.scaleout.local import LocalWorker
from mailbot.scaleout.share import is_over_share, should_hand_on
from mailbot.scaleout.status import fleet_workers
from mailbot.scheduler import MailJob

log = logging.getLogger(__name__)
HAND_ON_SECONDS = 2  # a mailbox handed on waits this long, so that a peer fetches it first
# ... at most this often in a row, then the worker that has it watches it: a peer that died a moment
# ago still counts as alive until its heartbeat is stale, and every live one may be at its share
HAND_ONS = 3
KEEP_JOBS_HOURS = 24  # finished jobs stay this long for an operator to look at
REBALANCE_SECONDS = 15.0  # how often a watch session asks whether its worker holds more than its share
WATCH_TASK = "mailbot.watch_mailbox"

LIVE_WORKERS = """
SELECT count(*) AS live FROM procrastinate_workers
 WHERE last_heartbeat > now() - make_interval(secs => %(seconds)s)
"""
WATCHED = """
SELECT DISTINCT lock FROM procrastinate_jobs
 WHERE task_name = %(task)s AND status IN ('todo', 'doing')
"""


@dataclass
class FleetTasks:
    engine: EngineApp
    local: LocalWorker
    watch: Task[Any, Any, Any]
    help: Task[Any, Any, Any]
    client_job: Task[Any, Any, Any]

    async def defer_watch(self, slug: str, schedule_in: float | None = None, hops: int = 0) -> bool:
        """Queue the mailbox's next watch session; False when one is queued already."""
        options = _job_options(schedule_in, lock=f"mailbox:{slug}", queueing_lock=f"watch:{slug}")
        try:
            await self.watch.configure(**options).defer_async(slug=slug, hops=hops)
        except AlreadyEnqueued:
            return False
        return True

    def request_help(self, slug: str, hops: int, schedule_in: float | None = None) -> None:
        """Queue a help request for the mailbox, from a job's thread; nothing when one waits already."""
        options = _job_options(schedule_in, queueing_lock=f"help:{slug}")
        with contextlib.suppress(AlreadyEnqueued):
            self.local.call(self.help.configure(**options).defer_async(slug=slug, hops=hops))

    async def live_workers(self) -> int:
        row = await self.engine.connector.execute_query_one_async(
            LIVE_WORKERS, seconds=self.local.timing.stalled_seconds
        )
        return int(row["live"])

    async def ensure_watched(self) -> list[str]:
        """Queue a watch session for every client served here that has none queued or running."""
        rows = await self.engine.connector.execute_query_all_async(WATCHED, task=WATCH_TASK)
        held = {row["lock"] for row in rows}
        queued = []
        for slug in sorted(self.local.fleet.apps):
            if f"mailbox:{slug}" not in held and await self.defer_watch(slug):
                queued.append(slug)
        return queued

    async def take_over(self) -> None:
        """Give up the jobs of dead workers (stale heartbeat) and free their claims, then make sure every
        mailbox is watched."""
        manager = self.engine.job_manager
        seconds = self.local.timing.stalled_seconds
        await asyncio.to_thread(self.free_dead_claims)
        stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=seconds)
        for job in stalled:
            assert job.id is not None
            await manager.finish_job_by_id_async(job.id, Status.FAILED, delete_job=False)
            who = f"worker {job.worker_id}" if job.worker_id is not None else "a worker that is gone"
            log.warning(
                "fleet: %s stopped answering; its job %s (%s %s) is taken over",
                who, job.id, job.task_name, job.task_kwargs,
            )  # fmt: skip
        await manager.prune_stalled_workers(seconds)
        for slug in await self.ensure_watched():
            log.info("fleet: mailbox of client %s queued to be watched", slug)

    def free_dead_claims(self) -> None:
        """The mail and replies that dead workers had claimed in this worker's mailboxes are claimable
        again now: a watch session takes the mail at its next pass, the replies are sent at once by the
        deliveries of the sessions here, or at the next look of a peer's. At every takeover: the
        workers' table read as `mailbot status` reads it, then two UPDATEs over the claim indexes. The
        engine forgets dead workers on its own (at any worker's start), so which died is not known
        otherwise (mailbot.db.claims.release_claims_of_the_dead)."""
        fleet = self.local.fleet
        with fleet.sessions.begin() as session:
            workers = fleet_workers(session, self.local.timing)
            if not workers:  # this worker's own row at least, unless a peer has just given it up
                return
            alive = {worker for worker, fresh in workers.items() if fresh}
            now = datetime.now(UTC)
            released = release_claims_of_the_dead(session, set(fleet.apps), alive, max(workers), now)
        if released.replies:
            for slug in list(fleet.apps):
                self.local.wake_delivery(slug)
        if released.mails or released.replies:
            log.warning(
                "fleet: %d mails and %d replies claimed by workers that stopped answering are taken "
                "over now, not after their lease",
                released.mails, released.replies,
            )  # fmt: skip


def _job_options(schedule_in: float | None, **locks: str) -> dict[str, Any]:
    """A job's locks, and its delay when it is queued for later."""
    options: dict[str, Any] = dict(locks)
    if schedule_in:
        options["schedule_in"] = {"seconds": schedule_in}
    return options


def register_tasks(engine: EngineApp, local: LocalWorker) -> FleetTasks:
    """The fleet's tasks, bound to this worker's clients and stop event."""
    holder: dict[str, FleetTasks] = {}

    @engine.task(name=WATCH_TASK, queue="watch", pass_context=True)
    def watch_mailbox(context: JobContext, slug: str, hops: int = 0) -> None:
        _watch_session(holder["tasks"], context, slug, hops)

    @engine.task(name="mailbot.help_decide", queue="help")
    def help_decide(slug: str, hops: int = 0) -> None:
        tasks = holder["tasks"]
        helping.help_decide(tasks.local, tasks.request_help, slug, hops)

    @engine.task(name="mailbot.client_job", queue="clients")
    def client_job(slug: str, kind: str) -> None:
        client_jobs.run_client_job(holder["tasks"].local, slug, kind)

    @engine.periodic(cron=f"* * * * * */{client_jobs.CLIENT_JOBS_SECONDS}", periodic_id="client_jobs")
    @engine.task(name="mailbot.schedule_client_jobs", queue="fleet", queueing_lock="schedule_client_jobs")
    async def schedule_client_jobs(timestamp: int) -> None:
        tasks = holder["tasks"]
        await client_jobs.schedule_client_jobs(tasks.local.fleet.apps, tasks.client_job, timestamp)

    @engine.periodic(cron="17 * * * *", periodic_id="forget_old_jobs")  # hourly
    @engine.task(name="mailbot.forget_old_jobs", queue="fleet", queueing_lock="forget_old_jobs")
    async def forget_old_jobs(timestamp: int) -> None:
        await holder["tasks"].engine.job_manager.delete_old_jobs(
            nb_hours=KEEP_JOBS_HOURS, include_failed=True, include_cancelled=True, include_aborted=True
        )

    @engine.periodic(cron=f"* * * * * */{local.timing.takeover_seconds}", periodic_id="take_over")
    @engine.task(name="mailbot.take_over", queue="fleet", queueing_lock="take_over")
    async def take_over(timestamp: int) -> None:
        await holder["tasks"].take_over()

    holder["tasks"] = FleetTasks(engine, local, watch_mailbox, help_decide, client_job)
    return holder["tasks"]


def _watch_session(tasks: FleetTasks, context: JobContext, slug: str, hops: int) -> None:
    local = tasks.local
    app = local.fleet.apps.get(slug)
    if app is None:  # removed, or broken in this worker's files: a worker that serves it queues it again
        log.warning("fleet: client %s is not served by this worker; its watch is left to the others", slug)
        return
    live = local.call(tasks.live_workers())
    if hops < HAND_ONS and should_hand_on(local.watch_count(), len(local.fleet.apps), live):
        log.info(
            "fleet: %d mailboxes watched here, the share of one of %d workers; client %s handed on",
            local.watch_count(), live, slug,
        )  # fmt: skip
        local.call(tasks.defer_watch(slug, schedule_in=HAND_ON_SECONDS, hops=hops + 1))
        return
    _record_holder(app, slug, local.name, context.job.worker_id)  # the worker that fetched the job
    job = MailJob(app, local.stop, on_fetched=partial(helping.ask_for_help, tasks.request_help, slug))
    with local.lock:
        local.watching[slug] = job
    log.info("fleet: watching the mailbox of client %s (%s)", slug, job.source.name)
    deadline = time.monotonic() + local.timing.session_seconds
    next_look = time.monotonic() + REBALANCE_SECONDS
    handed_on = False
    try:
        while not local.stop.is_set() and time.monotonic() < deadline and local.fleet.apps.get(slug) is app:
            local.stop.wait(job.run_pass())
            if time.monotonic() >= next_look:  # a worker joined: give it its share now, not in minutes
                next_look = time.monotonic() + REBALANCE_SECONDS
                live = local.call(tasks.live_workers())
                if is_over_share(local.watch_count(), len(local.fleet.apps), live):
                    log.info("fleet: %d workers alive; the mailbox of client %s is handed on", live, slug)
                    handed_on = True
                    break
    finally:
        with local.lock:
            local.watching.pop(slug, None)
        job.close()
        _forget_holder(app, slug, local.name)
        if local.fleet.apps.get(slug) is not None:  # the next session, on whichever worker takes it
            with contextlib.suppress(Exception):  # the takeover job queues it when this fails
                local.call(tasks.defer_watch(slug, schedule_in=HAND_ON_SECONDS if handed_on else None))


def _record_holder(app: App, slug: str, worker: str, engine_worker_id: int | None) -> None:
    with app.sessions.begin() as session:
        now = datetime.now(UTC)
        session.merge(MailboxWatch(mailbox=slug, worker=worker, engine_worker_id=engine_worker_id, since=now))


def _forget_holder(app: App, slug: str, worker: str) -> None:
    with contextlib.suppress(Exception), app.sessions.begin() as session:
        mine = (MailboxWatch.mailbox == slug) & (MailboxWatch.worker == worker)
        session.execute(delete(MailboxWatch).where(mine))
