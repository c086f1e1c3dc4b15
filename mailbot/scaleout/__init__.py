"""Several `mailbot run --fleet` workers, on one machine or several, share one PostgreSQL database.

The work is shared through Procrastinate (its jobs live in the same database; no broker): each
client's mailbox is watched by one worker at a time (a job with a lock per mailbox), a dead worker's
mailboxes are taken over once its heartbeat is stale, periodic jobs run once per schedule across the
fleet, and a watcher with a large backlog asks a peer to help decide it. Exactly-once stays where it
was: unique keys and one transaction per decision in mailbot's own tables.

Its face: `run.run_fleet_worker` (the long-running worker, needs the `postgres` extra) and
`status.fleet_status` (what `mailbot status` shows of the fleet; needs no job engine installed).
"""
