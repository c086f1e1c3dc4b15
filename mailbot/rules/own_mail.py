"""Our own mail coming back (a forwarding loop, an alias pointing at us, a reflecting list).

Recognised by our address in ``From``, by ``X-Loop`` naming our address (outgoing mail should set
it), or by a Message-ID the caller found among the ids we sent. Never by the Message-ID domain
alone: see ``RuleContext``. Note for deployment: a web contact form must not send as the support
address itself, or its mails are ignored here.
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules._headers import shown, values
from mailbot.rules.base import RuleContext


def check_own_address(mail: ParsedMail, ctx: RuleContext) -> str | None:
    if ctx.is_own_address(mail.from_addr):
        return f"From: {shown(mail.from_addr)} is our own address (our mail came back)"
    return None


def check_loop_header(mail: ParsedMail, ctx: RuleContext) -> str | None:
    for value in values(mail, "x-loop"):
        if ctx.is_own_address(value.strip().strip("<>")):
            return f"X-Loop: {shown(value)} names our own address (the mail already passed through us)"
    return None


def check_own_message_id(mail: ParsedMail, ctx: RuleContext) -> str | None:
    if ctx.is_own_message_id(mail.message_id):
        return f"Message-ID: {shown(mail.message_id)} is one we sent (our mail came back)"
    return None
