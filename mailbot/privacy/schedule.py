"""The privacy housekeeping every worker runs for its clients: retention, and the deletion of the mail
server's copies of erased mail.

One entry point for the scheduler (`mailbot run`), the fleet (`run --fleet`) and `run --once`, so the
three run the same steps in the same order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mailbot.privacy.folders import delete_queued_copies
from mailbot.privacy.retention import apply_retention

if TYPE_CHECKING:
    from mailbot.app import App

PRIVACY_MINUTES = 60  # how often a worker looks for due data (a quiet query when nothing is due)
FOLDER_MINUTES = 5  # how often queued copies are deleted (no IMAP connection when none is due)


def run_privacy_jobs(app: App) -> int:
    """Anonymise what is due; return how many rows were touched."""
    return apply_retention(app).total


def delete_folder_copies(app: App) -> int:
    """Delete the mail server's copies queued by an erasure or by retention; return how many."""
    return delete_queued_copies(app).deleted
