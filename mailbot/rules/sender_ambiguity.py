"""Several From headers or addresses: nobody can tell who wrote the mail.

RFC 5322 allows a From list (with a Sender), but mail servers, DMARC and mailbot would each take
another of its addresses, and a second From header is always forged or broken. Such a mail is still a
ticket for the team, but nothing automatic goes to any of the addresses and it joins no ticket
(`tickets.lookup` refuses it too).
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules._headers import shown
from mailbot.rules.base import RuleContext


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    if mail.sender_ambiguity:
        return f"From: {shown(mail.sender_ambiguity)} (no single sender, RFC 5322 3.6.2)"
    return None
