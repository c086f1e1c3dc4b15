"""The rules applied to every inbound mail before anything automatic is sent (RFC 3834).

Each rule is a tiny named predicate that says *why* it fired (Mailman style); ``RULES`` is the
explicit, ordered table and ``apply_rules`` returns every hit in table order. The rules are
independent of one another, so a bounce shows all of its evidence, and the strongest effect wins in
``decide()``: any IGNORE hit means no ticket and no reply, NO_REPLY hits keep the ticket but withhold
every automatic answer. IGNORE rules come first (the mail is not a person waiting for an answer),
then NO_REPLY rules (a person may be waiting, but we must not mail them automatically).
"""

from __future__ import annotations

from mailbot.domain import ParsedMail, RuleEffect, RuleHit
from mailbot.rules import (
    auto_responder,
    auto_submitted,
    bounce,
    header_only,
    mailing_list,
    own_mail,
    precedence,
    reply_address,
    sender_ambiguity,
    sender_limit,
    team_mail,
)
from mailbot.rules.base import Check, Rule, RuleContext

__all__ = ["RULES", "Check", "Rule", "RuleContext", "apply_rules", "is_automatic"]

IGNORE = RuleEffect.IGNORE
NO_REPLY = RuleEffect.NO_REPLY

RULES: tuple[Rule, ...] = (
    Rule("own_address", own_mail.check_own_address, IGNORE),
    Rule("own_loop_header", own_mail.check_loop_header, IGNORE),
    Rule("own_message_id", own_mail.check_own_message_id, IGNORE),
    Rule("team_address", team_mail.check, IGNORE),
    Rule("auto_submitted", auto_submitted.check, IGNORE),
    Rule("auto_response_suppress", auto_responder.check_suppress, IGNORE),
    Rule("autoreply_header", auto_responder.check_autoreply_header, IGNORE),
    Rule("precedence", precedence.check, IGNORE),
    Rule("mailing_list", mailing_list.check, IGNORE),
    Rule("null_reverse_path", bounce.check_null_reverse_path, IGNORE),
    Rule("daemon_sender", bounce.check_daemon_sender, IGNORE),
    Rule("multipart_report", bounce.check_multipart_report, IGNORE),
    Rule("failed_recipients", bounce.check_failed_recipients, IGNORE),
    Rule("absence_note", auto_responder.check_absence_note, IGNORE),
    Rule("auto_reply_subject", auto_responder.check_subject, NO_REPLY),
    Rule("bounce_subject", bounce.check_subject, NO_REPLY),
    Rule("ambiguous_sender", sender_ambiguity.check, NO_REPLY),
    Rule("unusable_reply_address", reply_address.check_unusable, NO_REPLY),
    Rule("noreply_address", reply_address.check_noreply, NO_REPLY),
    Rule("reply_to_own_address", reply_address.check_own, NO_REPLY),
    Rule("sender_limit", sender_limit.check, NO_REPLY),
    Rule("header_only", header_only.check, NO_REPLY),
)

_DEFAULT_CONTEXT = RuleContext(own_addresses=frozenset(), own_message_id_domains=frozenset())


def apply_rules(mail: ParsedMail, ctx: RuleContext) -> tuple[RuleHit, ...]:
    """Every rule that fires for this mail, in table order."""
    hits = []
    for rule in RULES:
        reason = rule.check(mail, ctx)
        if reason is not None:
            hits.append(RuleHit(name=rule.name, reason=reason, effect=rule.effect))
    return tuple(hits)


def is_automatic(mail: ParsedMail, ctx: RuleContext | None = None) -> bool:
    """True when some IGNORE rule fires; without ``ctx`` only the mail's own markers count."""
    return any(hit.effect is IGNORE for hit in apply_rules(mail, ctx or _DEFAULT_CONTEXT))
