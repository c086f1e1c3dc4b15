"""The two types every rule module shares: the context a rule may consult, and a table row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mailbot.domain import ParsedMail, RuleEffect


def _bare_id(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


@dataclass(frozen=True)
class RuleContext:
    """What the rules may know beyond the mail itself; filled by the caller, never looked up here.

    ``own_message_id_domains`` is accepted but is deliberately *not* evidence on its own: the domain of
    our Message-IDs is usually the company domain, which colleagues' and customers' mail servers on the
    same domain also use, so a domain match would drop real requests. Our mail coming back is recognised
    by ``own_message_ids`` (exact match), our address in ``From`` or our address in ``X-Loop``.
    Values are normalised on construction (addresses lower-case, ids without angle brackets).
    """

    own_addresses: frozenset[str]
    own_message_id_domains: frozenset[str]
    own_message_ids: frozenset[str] = frozenset()
    replies_to_sender_today: int = 0
    max_replies_per_sender: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "own_addresses", frozenset(a.strip().lower() for a in self.own_addresses))
        object.__setattr__(
            self, "own_message_id_domains", frozenset(d.strip().lower() for d in self.own_message_id_domains)
        )
        object.__setattr__(self, "own_message_ids", frozenset(_bare_id(i) for i in self.own_message_ids))

    def is_own_address(self, address: str) -> bool:
        return bool(address) and address.strip().lower() in self.own_addresses

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
