"""Where automatic mail about a new mail goes, and whose ticket it becomes (issue 11: no relay).

Anyone can write any Reply-To. Honoured blindly, it made mailbot a relay: 300 mails with 300 victims in
Reply-To got 300 answers, with the attacker's subject and display name. A Reply-To is honoured only
where the sender's own organisation chose it:

- the same domain as From (`addresses.canonical` domains: IDNA, case-insensitive): a colleague, a
  shared mailbox; the ticket stays the From's;
- From is a contact form of ours (``[support] form_senders``) that sends as itself and puts the person
  in Reply-To: that person is the customer (the ticket is theirs, so agent replies, the solved mail and
  their own follow-ups work), unless the receiving server says the From was forged (then the "form"
  could be anyone, and honouring it would be the relay again).

Otherwise automatic mail goes to From and the target's ``note`` says why (the decision record and a
ticket event keep it). Greeting: a name is only ever one its addressee wrote for themselves, or one a
verified sender of their own domain gave them; a stranger's choice greets neutrally. Mail about an
existing ticket never asks here: it goes to the address stored on the ticket (pipeline.effects).
"""

from __future__ import annotations

from mailbot.addresses import canonical, same_address
from mailbot.domain import ParsedMail, ReplyTarget, Verification
from mailbot.rules._headers import shown
from mailbot.rules.base import RuleContext


def reply_target(mail: ParsedMail, ctx: RuleContext) -> ReplyTarget:
    reply_to = (mail.reply_to or "").strip()
    if not reply_to or same_address(reply_to, mail.from_addr):
        return ReplyTarget.sender(mail)
    if ctx.is_form_sender(mail.from_addr):
        if ctx.sender_check.failed:
            note = (
                f"Reply-To {shown(reply_to)} not honoured: the contact-form sender {shown(mail.from_addr)} "
                f"is not verified ({ctx.sender_check.reason})"
            )
            return ReplyTarget.sender(mail, note)
        return ReplyTarget(reply_to, mail.reply_to_name, reply_to, mail.reply_to_name)
    domain = domain_of(mail.from_addr)
    if domain and domain == domain_of(reply_to):
        verified = ctx.sender_check.verdict is Verification.PASS
        return ReplyTarget(reply_to, mail.reply_to_name if verified else "", mail.from_addr, mail.from_name)
    note = (
        f"Reply-To {shown(reply_to)} not honoured: another domain than From {shown(mail.from_addr)}, which "
        "is no contact-form sender ([support] form_senders); automatic mail goes to From"
    )
    return ReplyTarget.sender(mail, note)


def domain_of(address: str) -> str:
    """The canonical domain of an address, "" when it has none."""
    local, at, domain = canonical(address).rpartition("@")
    return domain if at and local else ""
