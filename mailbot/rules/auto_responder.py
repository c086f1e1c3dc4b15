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

ABSENCE_MAX_WORDS = 150  # absence notes are short; a long mail under such a subject is a person writing
# "I am away": the statement every absence note makes (casefolded text, so "ß" may arrive as "ss")
_AWAY = re.compile(
    r"""nicht\ (?:im|in\ der)\ (?:b(?:ü|ue)ro|firma|praxis|kanzlei)|au(?:ß|ss)er\ haus|\babwesend\b
      |\b(?:im|in\ den)\ (?:urlaub|ferien)\b|\burlaubsbedingt|in\ (?:eltern|mutterschutz)zeit\b
      |auf\ (?:dienst|gesch(?:ä|ae)fts)reise|\bbin\ (?:\w+\ ){0,4}nicht\ erreichbar|nicht\ am\ arbeitsplatz
      |\bout\ of\ (?:the\ )?office\b|\bon\ (?:annual\ |parental\ |sick\ |maternity\ )?leave\b
      |\bon\ (?:vacation|holiday)\b|\baway\ from\ (?:the\ |my\ )?(?:office|desk)\b
      |\b(?:i\ am|i'm)\ (?:currently\ )?(?:away|travell?ing|not\ in\ the\ office)\b""",
    re.VERBOSE,
)
# how the absence is arranged: a return date, a deputy, urgent cases, no access to mail
_ARRANGED = re.compile(
    r"""\bbis\ (?:einschlie(?:ß|ss)lich|zum|am|voraussichtlich)\b|\bbis\ (?:\w+,?\ )?\d{1,2}\.
      |\bab\ .{0,40}?\bwieder\b
      |wieder\ (?:im\ b(?:ü|ue)ro|erreichbar|f(?:ü|ue)r\ sie\ da|da\b|zur(?:ü|ue)ck)
      |in\ dringenden\ f(?:ä|ae)llen|vertretung|vertreten|wenden\ sie\ sich\ (?:bitte\ )?an
      |keinen?\ zugriff\ auf|nicht\ weitergeleitet|nach\ meiner\ r(?:ü|ue)ckkehr
      |\b(?:back|return(?:ing)?)\ (?:on|in\ the\ office|to\ the\ office|to\ work)\b
      |\buntil\ (?:(?:and\ )?including\ )?
         (?:\w+day|\d{1,2}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*)\b
      |\burgent\ (?:matters|issues|requests|enquiries|inquiries|cases)\b|\bcontact\ my\ (?:colleague|deputy)
      |\b(?:limited|no)\ access\ to\ (?:my\ )?e-?mail|will\ not\ be\ forwarded
      |\b(?:when|upon|after)\ (?:i\ |my\ )?return\b|\bin\ my\ absence\b""",
    re.VERBOSE,
)

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
    already breaks the loop RFC 3834 is about. A header-less absence note is ignored by
    `check_absence_note` instead, which needs the body's evidence as well. The short,
    ambiguous prefixes (``Auto``, ``Abwesend``) need a colon; ``Out of office`` must stand alone or be
    followed by a colon, so ``Out of office hours support`` is a customer. Ticket systems' receipts
    ("Thank you for your message", "Vielen Dank für Ihre Anfrage") count only as the whole subject:
    the torture run's header-less responder (like FreeScout's) sent exactly those.
    """
    if _SUBJECT.match(mail.subject):
        return f"Subject: {shown(mail.subject)} (a typical auto-responder subject)"
    return None


def check_absence_note(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """An out-of-office note without RFC 3834 headers: an auto-responder subject *and* a body that
    reads like one, so it is ignored like the header-marked ones (no ticket, no team notice).

    The subject alone is not enough (a person may type ``Out of office: server down``), so the
    body must say both that the writer is away (``nicht im Büro``, ``im Urlaub``, ``out of the office``,
    ``on leave``) and how that is arranged (a return date, a deputy or "in urgent cases", no access
    to mail, "will reply when I return"), in at most `ABSENCE_MAX_WORDS` words. A person reporting a
    fault under such a subject rarely writes both; if they do, they get no answer, which is what an
    absence note under their name would get anyway.
    """
    if not _SUBJECT.match(mail.subject):
        return None
    text = mail.body.casefold()
    if len(text.split()) > ABSENCE_MAX_WORDS:
        return None
    away, arranged = _AWAY.search(text), _ARRANGED.search(text)
    if away is None or arranged is None:
        return None
    return (
        f"Subject: {shown(mail.subject)} and the body reads like an absence note "
        f'("{shown(away.group(0))}", "{shown(arranged.group(0))}")'
    )
