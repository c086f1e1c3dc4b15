"""RFC 3834 §5: ``Auto-Submitted`` with any value but ``no`` marks automatic mail.

The value is compared as a keyword: case, surrounding space, ``(comments)`` and ``; parameters`` do not
matter, so ``No `` and ``no (sent by a person)`` are human mail, while ``auto-replied; owner-email=...``,
``auto-notified`` (RFC 5230 §4.4) and ``auto-generated`` are not. A present but empty field counts as
automatic: no mail client writes one, only a broken robot does.
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules._headers import keyword, shown, values
from mailbot.rules.base import RuleContext


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    for value in values(mail, "auto-submitted"):
        if keyword(value) != "no":
            return f"Auto-Submitted: {shown(value)} (RFC 3834: no automatic reply to automatic mail)"
    return None
