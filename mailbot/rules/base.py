"""The two types every rule module shares: the context a rule may consult, and a table row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.addresses import canonical
from mailbot.domain import UNCHECKED_SENDER, ParsedMail, RuleEffect, SenderCheck


def _bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def address_key(address: str) -> str:
    """An address as the guards compare it: IDNA domain, and the local part lower-cased too.

    Deliberately looser than `addresses.same_address` (which decides who owns a ticket): a guard that
    matches too much costs an automatic mail, one that matches too little costs a loop or a relay.
    """
    return canonical(address).lower()


@dataclass(frozen=True)
class RuleContext:
    """What the rules may know beyond the mail itself; filled by the caller, never looked up here.

    ``own_message_id_domains`` is accepted but is deliberately *not* evidence on its own: the domain of
    our Message-IDs is usually the company domain, which colleagues' and customers' mail servers on the
    same domain also use, so a domain match would drop real requests. Our mail coming back is recognised
    by ``own_message_ids`` (exact match), our address in ``From`` or our address in ``X-Loop``.
    Values are normalised on construction (addresses by `address_key`, ids without angle brackets).

    ``replies_to_sender_today`` counts automatic mails in the last 24 h to the address a reply would go
    to (`rules.reply_target`), ``replies_for_sender_today`` those caused by mail from this From (0 for a
    contact-form sender, whose mails come from many people): both are capped by ``max_replies_per_sender``.
    """

    own_addresses: frozenset[str]
    own_message_id_domains: frozenset[str]
    own_message_ids: frozenset[str] = frozenset()
    replies_to_sender_today: int = 0
    max_replies_per_sender: int = 3
    replies_for_sender_today: int = 0
    team_addresses: frozenset[str] = frozenset()
    form_senders: frozenset[str] = frozenset()  # [support] form_senders
    sender_check: SenderCheck = UNCHECKED_SENDER

    def __post_init__(self) -> None:
        object.__setattr__(self, "own_addresses", frozenset(address_key(a) for a in self.own_addresses))
        object.__setattr__(
            self, "own_message_id_domains", frozenset(d.strip().lower() for d in self.own_message_id_domains)
        )
        object.__setattr__(self, "own_message_ids", frozenset(_bare_id(i) for i in self.own_message_ids))
        object.__setattr__(self, "team_addresses", frozenset(address_key(a) for a in self.team_addresses))
        object.__setattr__(self, "form_senders", frozenset(address_key(a) for a in self.form_senders))

    def is_own_address(self, address: str) -> bool:
        return bool(address.strip()) and address_key(address) in self.own_addresses

    def is_team_address(self, address: str) -> bool:
        return bool(address.strip()) and address_key(address) in self.team_addresses

    def is_form_sender(self, address: str) -> bool:
        return bool(address.strip()) and address_key(address) in self.form_senders

    def is_own_message_id(self, message_id: str) -> bool:
        return bool(_bare_id(message_id)) and _bare_id(message_id) in self.own_message_ids


Check = Callable[[ParsedMail, RuleContext], str | None]
"""A predicate: the reason it fired (one line naming the header and value), or None."""


@dataclass(frozen=True)
class Rule:
    """One row of the rule table: a stable snake_case name, the predicate and what a hit means."""

    name: str
    check: Check
    effect: RuleEffect
