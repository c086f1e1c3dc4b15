"""A fleet worker process: `mailbot run --fleet`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from procrastinate import App as EngineApp
from procrastinate.exceptions import ConnectorException, NoResult
from procrastinate.worker import Worker

from mailbot.clients.fleet import Fleet
from mailbot.db.claims import nobody
from mailbot.scaleout.engine import engine_conninfo, ensure_engine_schema, make_engine_app
from mailbot.scaleout.local import LocalWorker
from mailbot.scaleout.tasks import register_tasks
from mailbot.scaleout.timing import POLL_SECONDS, FleetTiming, fleet_timing
from mailbot.scheduler import reload_seconds

log = logging.getLogger(__name__)
QUEUES = ("watch", "help", "clients", "fleet")
RESTART_AFTER_SECONDS = (1, 2, 5, 10, 30, 60)  # pauses before joining again after failures in a row
STOP_POLL_SECONDS = 0.2
# what Procrastinate's database says when a worker finishes a job its peers have given up
GIVEN_UP_JOB = 'Job was not found or not in "doing" or "todo" status'
HEARTBEAT_AGE = (
    "SELECT extract(epoch FROM now() - last_heartbeat) AS age FROM procrastinate_workers WHERE id = %(id)s"
)


def job_slots(clients: int) -> int:
    """Jobs one worker may run at once: a watch session and a help request per client, the client
    jobs, the periodic ones. Watch sessions last minutes, so every mailbox must fit on one worker
    (the last one standing watches them all)."""
    return max(8, 2 * clients + 6)


def run_fleet_worker(fleet: Fleet, stop: threading.Event, timing: FleetTiming | None = None) -> None:
    """Work for the fleet until `stop` is set (SIGTERM/SIGINT): running sessions end at their next
    step and their mailboxes are queued for the other workers at once. When the database cannot be
    reached, the worker's sessions end (its peers take its mailboxes over) and it joins the fleet
    again once it can, as the one-process worker rides out a database outage."""
    asyncio.run(_serve(fleet, stop, timing or fleet_timing()))


async def _serve(fleet: Fleet, stop: threading.Event, timing: FleetTiming) -> None:
    conninfo = engine_conninfo(fleet.engine.url)
    slots = job_slots(len(fleet.apps))
    # Procrastinate runs blocking jobs in the loop's default executor: room for every slot and the reloads
    executor = ThreadPoolExecutor(max_workers=slots + 2, thread_name_prefix="fleet-job")
    asyncio.get_running_loop().set_default_executor(executor)
    asyncio.get_running_loop().set_exception_handler(quiet_given_up_jobs)
    reload = None
    if fleet.installation.several:
        reload = asyncio.create_task(_reload_clients(fleet, stop, reload_seconds()))
    failures = 0
    try:
        while not stop.is_set():
            try:
                lasted = await _one_life(fleet, stop, timing, conninfo, slots)
            except Exception as exc:  # the database cannot be reached (at start, or the engine failed)
                log.error("fleet: the job engine failed: %s", exc)
                lasted = 0.0
            if stop.is_set():
                break
            failures = 1 if lasted > RESTART_AFTER_SECONDS[-1] else failures + 1
            delay = RESTART_AFTER_SECONDS[min(failures, len(RESTART_AFTER_SECONDS)) - 1]
            log.warning("fleet: this worker's sessions ended; it joins the fleet again in %g s", delay)
            await _wait(stop, delay)
    finally:
        if reload is not None:
            reload.cancel()


async def _one_life(
    fleet: Fleet, stop: threading.Event, timing: FleetTiming, conninfo: str, slots: int
) -> float:
    """One membership of this worker in the fleet; returns its length in seconds. It ends when `stop`
    is set, when the job engine stops, or when the fleet can no longer see this worker alive (the
    fence): its sessions end then, before its peers take its mailboxes over."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    if await ensure_engine_schema(conninfo):
        log.info("fleet: job tables created in the database")
    local = LocalWorker(fleet, threading.Event(), timing, loop)  # its own stop: this life's sessions
    engine = make_engine_app(conninfo)
    tasks = register_tasks(engine, local)
    async with engine.open_async():
        worker = Worker(
            app=engine,
            queues=list(QUEUES),
            concurrency=slots,
            name=local.name,
            wait=True,
            install_signal_handlers=False,
            update_heartbeat_interval=timing.heartbeat_seconds,
            stalled_worker_timeout=timing.stalled_seconds,
            fetch_job_polling_interval=POLL_SECONDS,
        )
        # the worker registers before it takes a job, so every claim of this life names it
        fleet.claimant.current = lambda: worker.worker_id
        running = asyncio.create_task(worker.run(), name="engine worker")
        watchers = [
            asyncio.create_task(_wait(stop), name="stop"),
            asyncio.create_task(_fence(engine, worker, timing), name="fence"),
        ]
        try:
            await tasks.ensure_watched()
            log.info("fleet worker %s started: %d clients, %d job slots", local.name, len(fleet.apps), slots)
            await asyncio.wait([running, *watchers], return_when=asyncio.FIRST_COMPLETED)
        finally:
            local.stop.set()  # sessions end at their next step, help requests at their next batch
            worker.stop()
            for watcher in watchers:
                watcher.cancel()
            with contextlib.suppress(Exception):
                await running  # the jobs in hand end first
            fleet.claimant.current = nobody  # claims between two lives name no worker
        log.info("fleet worker %s stopped", local.name)
    return loop.time() - began


async def _fence(engine: EngineApp, worker: Worker, timing: FleetTiming) -> None:
    """Return when this worker's heartbeat has not reached the database for two thirds of the stalled
    period (peers take its mailboxes over at the full period), or its row is gone (a peer pruned it):
    its sessions must end before a peer starts the same mailbox's."""
    loop = asyncio.get_running_loop()
    last_seen = loop.time()
    while True:
        await asyncio.sleep(timing.heartbeat_seconds / 2)
        now = loop.time()
        if worker.worker_id is None:  # still registering
            last_seen = now
            continue
        try:
            row = await engine.connector.execute_query_one_async(HEARTBEAT_AGE, id=worker.worker_id)
        except NoResult:
            log.error("fleet: this worker was given up by its peers; its sessions end")
            return
        except Exception as exc:
            log.warning("fleet: the heartbeat cannot be read: %s: %s", type(exc).__name__, exc)
        else:
            last_seen = max(last_seen, now - float(row["age"]))
        if now - last_seen > timing.stalled_seconds * 2 / 3:
            log.error(
                "fleet: this worker's heartbeat has not reached the database for %.0f s", now - last_seen
            )
            return


def quiet_given_up_jobs(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """A worker its peers gave up (a pause, a starved CPU) cannot record the end of the jobs it was
    running when it goes on: Procrastinate raises that in a task nobody awaits, which asyncio logs as
    an ERROR with two tracebacks, for what the fence has already said. One line instead; anything else
    as asyncio would."""
    exc = context.get("exception")
    if isinstance(exc, ConnectorException) and GIVEN_UP_JOB in str(exc.__cause__):
        task = context.get("future")
        name = task.get_name() if isinstance(task, asyncio.Task) else "a job"
        log.warning("fleet: %s had been given up by the peers; its end is not recorded here", name)
        return
    loop.default_exception_handler(context)


async def _wait(stop: threading.Event, seconds: float | None = None) -> None:
    """Until `stop` is set (or `seconds` passed): polled, so no thread stays blocked on it."""
    deadline = None if seconds is None else asyncio.get_running_loop().time() + seconds
    while not stop.is_set() and (deadline is None or asyncio.get_running_loop().time() < deadline):
        await asyncio.sleep(STOP_POLL_SECONDS)


async def _reload_clients(fleet: Fleet, stop: threading.Event, period: float) -> None:
    """Each worker reads the clients folder again on its own (as the one-process worker does): a
    running session of a changed or removed client ends at its next pass and a changed or added
    client is queued to be watched by the next takeover job. Apps share the fleet's database engine,
    so a replaced one needs no closing."""
    while not stop.is_set():
        await asyncio.sleep(period)
        try:
            change = await asyncio.to_thread(fleet.reload)
            for slug in change.started:
                if slug not in change.stopped:  # a changed client was vetted at its start
                    await asyncio.to_thread(fleet.vet_new, slug)
        except Exception:
            log.exception("reading the clients again failed; trying again in %g s", period)
            continue
        if change.stopped or change.started:
            log.info("fleet: clients stopped %s, started %s", sorted(change.stopped), sorted(change.started))
