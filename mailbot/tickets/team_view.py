"""How mails to the team name the people and facts of a ticket (issue 10: who wrote, in which language).

Pure helpers for the contexts of `team_notice`, `sla_alert` and `delivery_failed`, so that every
team mail says the same thing the same way: the customer by name and address, the ticket's language
(not the team's), and the severity reasons in the team's language.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from mailbot.addresses import canonical, shown
from mailbot.classify.reasons import for_team
from mailbot.domain import Language
from mailbot.reply.subject import one_line

if TYPE_CHECKING:
    from mailbot.db.schema import Ticket


def customer_label(name: str | None, address: str) -> str:
    """``Katrin Müller <katrin@example.com>``, or the address alone when there is no other name.

    The display name is shown as the customer wrote it (the team recognises "Müller, Katrin"), on
    one line; a name that is only the address again adds nothing. An address longer than any address
    can be (a hostile header) is cut, so the team mail does not quote a megabyte.
    """
    name = one_line(name or "").strip(" \"'")
    address = shown(address)
    if not name or name.casefold() == address.casefold():
        return address
    return f"{name} <{address}>"


def recipient_label(address: str, ticket: Ticket | None) -> str:
    """A recipient with the customer's name when it is the ticket's customer (not a Reply-To contact)."""
    # loosely (any case of the local part, tickets stored before issue 11 are lower case), but never
    # Unicode-casefolded: the label only names, it decides nothing
    if ticket is not None and canonical(address).lower() == canonical(ticket.customer).lower():
        return customer_label(ticket.customer_name, address)
    return shown(address)


def team_reasons(reasons: Iterable[str] | None, team_language: Language) -> list[str]:
    """The stored severity reasons as sentences in the team's language."""
    return for_team(reasons or (), team_language)
