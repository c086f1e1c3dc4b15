"""``Precedence`` / ``X-Precedence``: bulk, junk, list or auto_reply mail is not a personal request.

RFC 3834 §2 tells responders to skip such mail (the header itself is informal, RFC 2076 §3.9).
Other values (``first-class``, ``normal``, ``urgent``) say nothing about automation.
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules._headers import keyword, shown, title, values
from mailbot.rules.base import RuleContext

AUTOMATIC_VALUES = frozenset({"bulk", "junk", "list", "auto_reply"})


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    for name in ("precedence", "x-precedence"):
        for value in values(mail, name):
            if keyword(value) in AUTOMATIC_VALUES:
                return f"{title(name)}: {shown(value)} (RFC 3834 §2: no automatic reply to bulk or list mail)"
    return None
