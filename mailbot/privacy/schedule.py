"""The privacy housekeeping every worker runs for its clients: retention now, more as issue 15 grows.

One entry point for the scheduler (`mailbot run`), the fleet (`run --fleet`) and `run --once`, so the
three run the same steps in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailbot.privacy.retention import apply_retention

if TYPE_CHECKING:
    from mailbot.app import App

PRIVACY_MINUTES = 60  # how often a worker looks for due data (a quiet query when nothing is due)


def run_privacy_jobs(app: App) -> int:
    """Anonymise what is due; return how many rows were touched."""
    return apply_retention(app).total
