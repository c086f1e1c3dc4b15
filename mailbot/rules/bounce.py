"""Delivery failures and receipts: mail about mail, never a request.

Each predicate is one piece of evidence, so a typical bounce shows several hits in the log. A
plain-text bounce carries no DSN marker, so its sender (the mail system's own mailbox, under the
names the common MTAs give it) and its subject (as Postfix, Sendmail, Exim, qmail, Exchange, Gmail
and Notes word it) are evidence too. The subject alone is only NO_REPLY: a person may type
"Returned mail: ..." above a question, but a bounce must never be acknowledged.
`mailbot.pipeline.bounces` records a bounce of our own mail on its ticket.
"""

from __future__ import annotations

import re

from mailbot.domain import ParsedMail
from mailbot.rules._headers import local_part, shown, values
from mailbot.rules.base import RuleContext

DAEMON_LOCAL_PARTS = frozenset(
    {"mailer-daemon", "postmaster", "mail-daemon", "maildaemon", "mailerdaemon", "mailer_daemon"}
)
# Exchange Online's NDR sender: "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@tenant.example"
_EXCHANGE_SENDER = re.compile(r"microsoftexchange[0-9a-f]{32}", re.IGNORECASE)
# what MTAs call themselves when they relay a bounce under another address
_DAEMON_NAMES = re.compile(
    r"\s*(?:mail delivery (?:subsystem|system|service)|mailer[- ]daemon|mail ?daemon|postmaster)\s*",
    re.IGNORECASE,
)
_REPORT_TYPE = re.compile(r"report-type\s*=\s*\"?([\w.-]+)", re.IGNORECASE)
# the whole opening of the subject (matched from its start, so "Fwd: Undeliverable: ..." from a customer
# who asks about a bounce is a person's mail); each alternative is one MTA's wording
_BOUNCE_SUBJECT = re.compile(
    r"""\s*(?:
        undelivered\ mail\ returned\ to\ sender                          # Postfix
      | delayed\ mail\ \(still\ being\ retried\)                          # Postfix, delay
      | delivery\ status\ notification\b                                 # Gmail, Exchange
      | (?:undeliverable|unzustellbar|nicht\ zustellbar|non\ remis|onbestelbaar|no\ entregado)\s*:
                                                                        # Exchange, by language
      | undeliverable\ (?:mail|message)\b | undelivered\ mail\b
      | returned\ mail\s*:                                                # Sendmail
      | warning\s*:\ could\ not\ send\ message\ for\ past\b              # Sendmail, delay
      | mail\ delivery\ failed\b                                         # Exim
      | failure\ notice\s*$                                              # qmail, Yahoo
      | delivery\ failure\s*(?::|$)                                      # Lotus Notes, Domino
      | delivery\ notification\s*:\s*delivery\ has\ failed                # Lotus Notes
      | (?:message|mail)\ delivery\ (?:failure|failed)\b
      | mail\ system\ error\ -\ returned\ mail
      | unzustellbare\ (?:nachricht|e-?mail)\b
      | zustellung\ (?:fehlgeschlagen|gescheitert)\s*(?::|$)
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def check_null_reverse_path(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """RFC 5321 §4.5.5 / RFC 3834 §2: the null reverse path ``<>`` marks notifications; never answer it."""
    if mail.return_path is not None and mail.return_path.strip().strip("<>").strip() == "":
        return "Return-Path: <> (null reverse path: a delivery notification, RFC 5321 §4.5.5)"
    return None


def check_daemon_sender(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """``MAILER-DAEMON`` / ``postmaster`` and their spellings (any case), Exchange Online's NDR sender,
    or the display name "Mail Delivery Subsystem" or "MAILER-DAEMON": bounces, not questions."""
    local = local_part(mail.from_addr).lower()
    if local in DAEMON_LOCAL_PARTS or _EXCHANGE_SENDER.fullmatch(local):
        return f"From: {shown(mail.from_addr)} (mail system daemon: a bounce or delivery notice)"
    if _DAEMON_NAMES.fullmatch(mail.from_name[:100]):
        return f"From: {shown(mail.from_name)} <{shown(mail.from_addr)}> (the mail system's name: a bounce)"
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


def check_subject(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """A bounce's subject: "Undelivered Mail Returned to Sender", "Delivery Status Notification
    (Failure)", "Unzustellbar: ...", "Returned mail: ...", "failure notice" and their kin."""
    if _BOUNCE_SUBJECT.match(mail.subject[:200]):
        return f"Subject: {shown(mail.subject)} (a typical bounce subject: never acknowledged)"
    return None
