"""Whether the address a reply would go to (`rules.reply_target`) can take an automatic reply.

All NO_REPLY: the content may still be a real request (a monitoring alert from ``noreply@``, a form
without a sender), so it is handled; only the automatic answer is withheld.
"""

from __future__ import annotations

import re

from mailbot.domain import ParsedMail
from mailbot.rules._headers import local_part, shown
from mailbot.rules.base import RuleContext
from mailbot.rules.reply_target import reply_target

# A plain addr-spec with a dotted domain (UTF-8 allowed, RFC 6531); no quoted local parts or literals.
_LOCAL = r"[^\s@<>()\[\],;:\"\\]+"
_LABEL = r"[^\s@<>()\[\],;:\"\\.]+"
_ADDR_SPEC = re.compile(rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})+")
_NOREPLY = re.compile(r"^(?:no|do[-_.]?not)[-_.]?reply(?![a-z0-9])", re.IGNORECASE)


def check_unusable(mail: ParsedMail, ctx: RuleContext) -> str | None:
    address = reply_target(mail, ctx).address.strip()
    if not address:
        return "From/Reply-To: (empty) (no address to answer to)"
    if not _ADDR_SPEC.fullmatch(address):
        return f"Reply address {shown(address)} is not a usable addr-spec (local@domain.tld)"
    return None


def check_noreply(mail: ParsedMail, ctx: RuleContext) -> str | None:
    address = reply_target(mail, ctx).address
    if _NOREPLY.match(local_part(address)):
        return f"Reply address {shown(address)} is a no-reply mailbox"
    return None


def check_own(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """A Reply-To pointing at us would make us answer ourselves (From ours is ``own_address``)."""
    if mail.reply_to and ctx.is_own_address(mail.reply_to):
        return f"Reply-To: {shown(mail.reply_to)} is our own address (a reply would loop to us)"
    return None
