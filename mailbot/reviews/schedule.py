"""The review jobs every worker runs for its clients: the pass over the store apps, and the daily digest.

One entry point for the scheduler (`mailbot run`), the fleet (`run --fleet`, once per schedule across the
workers) and `run --once`. The pass itself keeps each app's `poll_minutes`, so calling it more often only
costs a look at the database.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mailbot.app import App

REVIEW_MINUTES = 5  # how often a worker looks whether an app's poll is due


def run_review_jobs(app: App) -> int:
    """Poll the apps that are due, decide, post what is approved, send the digest; return the errors."""
    if app.settings.reviews is None:
        return 0
    from mailbot.reviews.run import reviews_pass
    from mailbot.reviews.warnings import send_digest

    now = app.clock()
    done = reviews_pass(app, now, force=False)
    send_digest(app, now)
    return len(done.errors)
