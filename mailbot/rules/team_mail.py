"""Mail from our own 2nd-level team is never a customer's request.

Team notices carry ``Reply-To: <team>``, so a team member's answer goes to the team, not to us; mail
that still arrives from the team address (a forward, the team mailbox's own auto-responder answering
a notice, with or without ``Auto-Submitted``) or that asks to be answered at the team address would
otherwise open a ticket, send the team a notice about itself and, for an auto-responder, loop.
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules._headers import shown
from mailbot.rules.base import RuleContext


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    if ctx.is_team_address(mail.from_addr):
        return f"From: {shown(mail.from_addr)} is the team's address (mail from the team is never a ticket)"
    if mail.reply_to and ctx.is_team_address(mail.reply_to):
        return f"Reply-To: {shown(mail.reply_to)} is the team's address (mail for the team is never a ticket)"
    return None
