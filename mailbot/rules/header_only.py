"""A mail of which only the header was stored: too large for `[limits] max_message_bytes`, quarantined
at ingest, then released by an operator with `mailbot quarantine release --force`.

Decided on its header alone, it must never get an automatic mail: the subject may look like a question
the knowledge base answers, and the Reply-To is the sender's word only; the text that would tell
what it is about was never read. So the decision may keep it (a ticket for the team, who can fetch the
whole mail from the server's Quarantine folder) but nothing automatic goes out (NO_REPLY), not even an
out-of-hours note. Whether a stored mail is header-only is a fact of the stored row (its recorded size
is larger than its stored bytes), so the stage that parses the row `mark`s the parsed mail.
"""

from __future__ import annotations

from dataclasses import replace

from mailbot.domain import ParsedMail
from mailbot.rules.base import RuleContext

DEFECT = (
    "header only: the mail was larger than [limits] max_message_bytes, only its header was stored; "
    "the whole mail is in the server's Quarantine folder"
)


def stored_header_only(size: int, stored_bytes: int) -> bool:
    """True for a row whose recorded size (the whole mail's) exceeds the bytes stored (its header)."""
    return size > stored_bytes


def mark(mail: ParsedMail) -> ParsedMail:
    return mail if DEFECT in mail.defects else replace(mail, defects=(*mail.defects, DEFECT))


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    if DEFECT in mail.defects:
        return f"{DEFECT}: decided on its header alone, so nothing automatic is sent"
    return None
