"""Vendor auto-reply markers (Microsoft Exchange/Outlook and older responders) and the subject
fallback for responders that set no header at all (FreeScout-style, many hosted vacation replies).
"""

from __future__ import annotations

import re

from mailbot.domain import ParsedMail
from mailbot.rules._headers import shown, title, values
from mailbot.rules.base import RuleContext

# [MS-OXCMAIL] 2.2.3.2.14: a comma/space separated list; any of these asks for no automatic answer.
SUPPRESS_VALUES = frozenset({"all", "oof", "autoreply", "dr", "ndr", "rn", "nrn"})
AUTOREPLY_HEADERS = ("x-autoreply", "x-autorespond", "x-autoresponder", "x-auto-reply")
_NEGATIVE = frozenset({"no", "false", "0"})  # the `Auto-Submitted: no` hole, closed here too
_ITEMS = re.compile(r"[\s,;]+")

_SUBJECT = re.compile(
    r"""^\s*(?:
        (?:automatic\ reply|automatische\ antwort|auto[-\ ]?reply|auto[-\ ]?respon(?:se|der)
           |abwesenheitsnotiz|r[ée]ponse\ automatique|automatisch\ antwoord)\s*(?::|$)
      | out\ of\ (?:the\ )?office(?:\s+(?:auto[-\ ]?reply|reply|notice|notification))?\s*(?::|$)
      | (?:auto|abwesend)\s*:
      | (?:re:\s*)?(?:thank(?:s|\ you)\ for\ (?:your|contacting)
                         \ (?:message|e-?mail|mail|inquiry|enquiry|request|us)
           |we\ (?:have\ )?received\ your\ (?:message|e-?mail|mail|inquiry|enquiry|request)
           |vielen\ dank\ f(?:ü|ue)r\ ihre\ (?:nachricht|e-?mail|mail|anfrage)
           |ihre\ (?:nachricht|anfrage|e-?mail)\ (?:ist\ (?:bei\ uns\ )?eingegangen|wurde\ empfangen)
           |eingangsbest(?:ä|ae)tigung)\s*[.!:]?\s*$
    )""",
    re.IGNORECASE | re.VERBOSE,
)


def check_suppress(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """``X-Auto-Response-Suppress``: compared item by item, so ``DR, RN, NRN, OOF, AutoReply`` counts."""
    for value in values(mail, "x-auto-response-suppress"):
        if any(item.lower() in SUPPRESS_VALUES for item in _ITEMS.split(value)):
            return (
                f"X-Auto-Response-Suppress: {shown(value)} (the sender's system asks for no automatic answer)"
            )
    return None


def check_autoreply_header(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """``X-Autoreply`` and friends are present only on automatic replies (unless they say ``no``)."""
    for name in AUTOREPLY_HEADERS:
        for value in values(mail, name):
            if value.strip().lower() not in _NEGATIVE:
                return f"{title(name)}: {shown(value)} (an auto-responder marked its own reply)"
    return None


def check_subject(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """A subject such as ``Automatic reply:``, ``Abwesenheitsnotiz:`` or ``Out of Office``.

    Effect NO_REPLY, not IGNORE: a subject is text a person may type (``Auto: Kennzeichen ändern``,
    ``Out of office: server down``), while a header is the machine's own statement. Wrongly ignoring a
    customer loses a request silently; wrongly ticketing an absence notice costs one click. NO_REPLY
    already breaks the loop RFC 3834 is about, and most real out-of-office replies also carry a header
    (``Auto-Submitted``, ``X-Auto-Response-Suppress``) and are ignored by those rules. The short,
    ambiguous prefixes (``Auto``, ``Abwesend``) need a colon; ``Out of office`` must stand alone or be
    followed by a colon, so ``Out of office hours support`` is a customer. Ticket systems' receipts
    ("Thank you for your message", "Vielen Dank für Ihre Anfrage") count only as the whole subject:
    the torture run's header-less responder (like FreeScout's) sent exactly those.
    """
    if _SUBJECT.match(mail.subject):
        return f"Subject: {shown(mail.subject)} (a typical auto-responder subject)"
    return None
