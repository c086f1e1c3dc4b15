"""RFC 3834 §2: limit automatic responses to one sender; a second loop guard if every marker is missing.

Counted both ways (issue 11): per recipient (the address a reply would go to) and per sender (mails
caused by this From), so neither one sender with many Reply-To victims nor many forged senders with
one victim get more than the limit a day.
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules.base import RuleContext


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    limit = ctx.max_replies_per_sender
    if ctx.replies_to_sender_today >= limit:
        return (
            f"{ctx.replies_to_sender_today} automatic mails to this address in the last 24 h "
            f"(limit {limit}, RFC 3834 §2)"
        )
    if ctx.replies_for_sender_today >= limit:
        return (
            f"{ctx.replies_for_sender_today} automatic mails because of mail from this sender in the last "
            f"24 h (limit {limit}, RFC 3834 §2)"
        )
    return None
