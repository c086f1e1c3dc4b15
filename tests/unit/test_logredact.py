"""Secrets and (when configured) customer addresses never reach a log line."""

from __future__ import annotations

import io
import logging

from mailbot.logredact import RedactingFilter


def logger_with(redacting: RedactingFilter) -> tuple[logging.Logger, io.StringIO]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(redacting)
    logger = logging.getLogger(f"test-redact-{id(out)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, out


def test_secrets_and_addresses_are_scrubbed_from_messages_args_and_tracebacks():
    logger, out = logger_with(RedactingFilter(["hunter2-secret", "ab"], addresses=True))
    logger.info("login as %s with %s", "kunde.name+tag@example.org", "hunter2-secret")
    try:
        raise ValueError("token hunter2-secret rejected for erika@example.com")
    except ValueError:
        logger.exception("failed")
    text = out.getvalue()
    assert "hunter2-secret" not in text and "[secret]" in text
    assert "kunde.name+tag@example.org" not in text and "k***@example.org" in text
    assert "erika@example.com" not in text and "e***@example.com" in text


def test_addresses_stay_when_not_configured():
    logger, out = logger_with(RedactingFilter([], addresses=False))
    logger.info("sent to %s", "kunde@example.org")
    assert "kunde@example.org" in out.getvalue()
