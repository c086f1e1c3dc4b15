"""A fleet worker process: `mailbot run --fleet`."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from mailbot.clients.fleet import Fleet
from mailbot.scaleout.engine import engine_conninfo, ensure_engine_schema, make_engine_app
from mailbot.scaleout.local import LocalWorker
from mailbot.scaleout.tasks import register_tasks
from mailbot.scaleout.timing import FleetTiming, fleet_timing
from mailbot.scheduler import reload_seconds

log = logging.getLogger(__name__)
QUEUES = ("watch", "help", "clients", "fleet")


def job_slots(clients: int) -> int:
    """Jobs one worker may run at once: a watch session and a help request per client, the client
    jobs, the periodic ones. Watch sessions last minutes, so every mailbox must fit on one worker
    (the last one standing watches them all)."""
    return max(8, 2 * clients + 6)


def run_fleet_worker(fleet: Fleet, stop: threading.Event, timing: FleetTiming | None = None) -> None:
    """Work for the fleet until `stop` is set (SIGTERM/SIGINT): running sessions end at their next
    step and their mailboxes are queued for the other workers at once."""
    asyncio.run(_serve(fleet, stop, timing or fleet_timing()))


async def _serve(fleet: Fleet, stop: threading.Event, timing: FleetTiming) -> None:
    conninfo = engine_conninfo(fleet.engine.url)
    if await ensure_engine_schema(conninfo):
        log.info("fleet: job tables created in the database")
    loop = asyncio.get_running_loop()
    slots = job_slots(len(fleet.apps))
    # Procrastinate runs blocking jobs in the loop's default executor: room for every slot, the stop
    # waiter and the reloads
    loop.set_default_executor(ThreadPoolExecutor(max_workers=slots + 4, thread_name_prefix="fleet-job"))
    local = LocalWorker(fleet, stop, timing, loop)
    engine = make_engine_app(conninfo)
    tasks = register_tasks(engine, local)
    async with engine.open_async():
        worker = asyncio.create_task(
            engine.run_worker_async(
                queues=list(QUEUES),
                concurrency=slots,
                name=local.name,
                wait=True,
                install_signal_handlers=False,
                update_heartbeat_interval=timing.heartbeat_seconds,
                stalled_worker_timeout=timing.stalled_seconds,
            )
        )
        await tasks.ensure_watched()
        log.info("fleet worker %s started: %d clients, %d job slots", local.name, len(fleet.apps), slots)
        helpers = [asyncio.create_task(asyncio.to_thread(stop.wait))]
        if fleet.installation.several:
            helpers.append(asyncio.create_task(_reload_clients(fleet, stop, reload_seconds())))
        try:
            done, _ = await asyncio.wait([worker, helpers[0]], return_when=asyncio.FIRST_COMPLETED)
            if worker in done:
                worker.result()  # the engine stopped on its own (database gone): raise why
                raise RuntimeError("fleet: the job worker stopped")
        finally:
            stop.set()  # sessions end at their next step, help requests at their next batch
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await worker
            for helper in helpers[1:]:
                helper.cancel()
        log.info("fleet worker %s stopped", local.name)


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
