"""RFC 3834 §2: limit automatic responses to one sender; a second loop guard if every marker is missing."""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules.base import RuleContext


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    if ctx.replies_to_sender_today >= ctx.max_replies_per_sender:
        return (
            f"{ctx.replies_to_sender_today} automatic mails to this sender in the last 24 h "
            f"(limit {ctx.max_replies_per_sender}, RFC 3834 §2)"
        )
    return None
