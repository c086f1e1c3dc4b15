"""Delivery failures and receipts: mail about mail, never a request.

Each predicate is one piece of evidence, so a typical bounce shows several hits in the log.
"""

from __future__ import annotations

import re

from mailbot.domain import ParsedMail
from mailbot.rules._headers import local_part, shown, values
from mailbot.rules.base import RuleContext

DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.IGNORECASE)


def check_null_reverse_path(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """RFC 5321 §4.5.5 / RFC 3834 §2: the null reverse path ``<>`` marks notifications; never answer it."""
    if mail.return_path is not None and mail.return_path.strip().strip("<>").strip() == "":
        return "Return-Path: <> (null reverse path: a delivery notification, RFC 5321 §4.5.5)"
    return None


def check_daemon_sender(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """``MAILER-DAEMON`` / ``postmaster`` (any case) send bounces, not questions."""
    if local_part(mail.from_addr).lower() in DAEMON_LOCAL_PARTS:
        return f"From: {shown(mail.from_addr)} (mail system daemon: a bounce or delivery notice)"
    return None


def check_multipart_report(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """RFC 6522 ``multipart/report``: delivery status (RFC 3464) or a read receipt (RFC 8098)."""
    if mail.content_type.strip().lower() != "multipart/report":
        return None
    header = next(iter(values(mail, "content-type")), "")
    match = _REPORT_TYPE.search(header)
    kind = f"; report-type={match.group(1).lower()}" if match else ""
    return f"Content-Type: multipart/report{kind} (RFC 3464/6522: a delivery report or read receipt)"


def check_failed_recipients(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """``X-Failed-Recipients`` is written by Exim (and others) on bounces only."""
    found = values(mail, "x-failed-recipients")
    if found:
        return f"X-Failed-Recipients: {shown(found[0])} (a bounce)"
    return None
