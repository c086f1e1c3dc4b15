"""`mailbot status`: counts per state, what waits and what failed, per client, and the fleet's workers."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mailbot.clock import Clock, system_clock

if TYPE_CHECKING:
    from mailbot.clients.fleet import Fleet


def status_command(args: argparse.Namespace, clock: Clock) -> int:
    """Reads the database only: works without the mail passwords and without loading a model."""
    from mailbot.clients import load_installation
    from mailbot.clients.fleet import Fleet
    from mailbot.scaleout.status import format_fleet_status
    from mailbot.status import collect_status, combine_status, format_status
    from mailbot.terminal import safe_json

    installation = load_installation(args.config, require_secrets=False)
    fleet = Fleet.open(installation, clock, full=False, only=args.client)
    statuses: dict[str, dict[str, Any]] = {}
    try:
        for app in fleet:
            now = app.clock()
            with app.sessions() as session:
                outside_hours = app.settings.business_hours.outside_hours
                statuses[app.mailbox] = collect_status(session, app.mailbox, app.calendar, now, outside_hours)
        workers = _fleet_workers(fleet)
    finally:
        fleet.close()
    if not installation.several:  # one client: today's keys, and the same under "clients"
        ((slug, status),) = statuses.items()
        if args.json:
            print(safe_json({**status, "clients": {slug: status}} | ({"fleet": workers} if workers else {})))
        else:
            app = next(iter(fleet))
            print(format_status(status, app.calendar, app.clock()))
            if workers:
                print(format_fleet_status(workers, system_clock()))
        return 0
    total = combine_status(statuses, fleet.problems) | ({"fleet": workers} if workers else {})
    if args.json:
        print(safe_json(total))
        return 0
    blocks = [format_status(statuses[app.mailbox], app.calendar, app.clock()) for app in fleet]
    blocks += [
        f"client {slug} NOT SERVED:\n  " + p.replace("\n", "\n  ") for slug, p in fleet.problems.items()
    ]
    if workers:
        blocks.append(format_fleet_status(workers, system_clock()))
    print("\n\n".join(blocks))
    return 0


def _fleet_workers(fleet: Fleet) -> dict[str, Any] | None:
    """The fleet part of `mailbot status` (PostgreSQL with fleet workers only)."""
    from mailbot.scaleout.status import fleet_status  # needs no job engine installed

    return fleet_status(fleet.engine, fleet.apps)
