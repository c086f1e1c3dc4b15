"""A client's periodic work in a fleet: the `client_job` job and the schedule that queues it.

`schedule_client_jobs` (the periodic `mailbot.schedule_client_jobs`, every CLIENT_JOBS_SECONDS, once
for the whole fleet) queues each client's due kinds as `client_job(slug, kind)` jobs, locked per
kind and client, so one slow backend delays only its own client; `run_client_job` runs one of them
on the worker that took it (mailbot.scaleout.tasks registers both).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.tasks import Task
from sqlalchemy.exc import OperationalError

from mailbot.app import App
from mailbot.errors import TransientError
from mailbot.escalate.bounded_http import stop_calls_on
from mailbot.escalate.jobs import poll_jira, run_due_jobs
from mailbot.logredact import headline
from mailbot.privacy.schedule import FOLDER_MINUTES, PRIVACY_MINUTES, delete_folder_copies, run_privacy_jobs
from mailbot.reports.schedule import deliver_due_reports, wants_reports
from mailbot.reviews.schedule import REVIEW_MINUTES, run_review_jobs
from mailbot.scaleout.local import LocalWorker
from mailbot.scheduler import REPORT_MINUTES
from mailbot.tickets.watch import sla_watch

log = logging.getLogger(__name__)
CLIENT_JOBS_SECONDS = 30  # escalation calls every 30 s, the SLA watch every minute (as mailbot.scheduler)

JOBS: dict[str, Callable[[App], Any]] = {
    "sla_watch": sla_watch,
    "escalations": run_due_jobs,
    "jira": poll_jira,
    "reports": deliver_due_reports,
    "privacy": run_privacy_jobs,
    "folders": delete_folder_copies,
    "reviews": run_review_jobs,
}


def run_client_job(local: LocalWorker, slug: str, kind: str) -> None:
    """The `client_job` job on this worker: one kind of a client's periodic work (`JOBS`)."""
    app = local.fleet.apps.get(slug)
    if app is None or local.stop.is_set():
        return
    try:
        with stop_calls_on(local.stop):
            JOBS[kind](app)
    except (TransientError, OperationalError) as exc:  # a server or the database away: expected, no bug
        log.warning(
            "fleet: %s of client %s: %s; it runs again at its next turn", kind, slug, headline(str(exc))
        )
    except Exception:
        log.exception("fleet: %s of client %s failed; it runs again at its next turn", kind, slug)
    local.wake_delivery(slug)


async def schedule_client_jobs(
    apps: Mapping[str, App], client_job: Task[Any, Any, Any], timestamp: int
) -> None:
    """Every 30 s: escalation calls; every minute: the SLA watch; every `poll_minutes`: Jira; every
    REPORT_MINUTES: report mails; every PRIVACY_MINUTES: retention; every FOLDER_MINUTES: the mail
    server's copies of erased mail; every REVIEW_MINUTES: the store apps whose poll is due."""
    minute_start = timestamp % 60 < CLIENT_JOBS_SECONDS
    for slug, app in sorted(apps.items()):
        kinds = ["escalations"]
        if minute_start:
            kinds.append("sla_watch")
            jira = app.settings.jira
            if jira is not None and (timestamp // 60) % max(1, jira.poll_minutes) == 0:
                kinds.append("jira")
            if wants_reports(app) and (timestamp // 60) % REPORT_MINUTES == 0:
                kinds.append("reports")
            if (timestamp // 60) % PRIVACY_MINUTES == 0:
                kinds.append("privacy")
            if (timestamp // 60) % FOLDER_MINUTES == 0:
                kinds.append("folders")
            if app.settings.reviews is not None and (timestamp // 60) % REVIEW_MINUTES == 0:
                kinds.append("reviews")
        for kind in kinds:
            deferrer = client_job.configure(lock=f"{kind}:{slug}", queueing_lock=f"{kind}:{slug}")
            with contextlib.suppress(AlreadyEnqueued):
                await deferrer.defer_async(slug=slug, kind=kind)
