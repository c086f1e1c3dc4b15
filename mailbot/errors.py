"""The only retry vocabulary of mailbot.

A stage raises one of these to say what should happen next; anything else counts as an attempt
and, after the configured number of attempts, quarantines the item with the exception as reason.
"""

from __future__ import annotations


class MailbotError(Exception):
    """Base of all errors mailbot raises on purpose."""


class TransientError(MailbotError):
    """Try again later: a server is down, a connection dropped, a 4xx reply."""


class PermanentError(MailbotError):
    """Retrying cannot help: a 5xx reply, a rejected recipient."""


class Quarantine(MailbotError):
    """The input itself is unusable; keep it for a human with this reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigError(MailbotError):
    """A configuration or knowledge-base problem; the message names file, place and fix."""
