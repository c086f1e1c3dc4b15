"""Mail that came through a mailing list: any ``List-*`` field (RFC 2369, RFC 2919, RFC 8058) or the
older ``Mailing-List`` / ``X-Mailing-List``.

RFC 3834 §2: no automatic response to a message with a ``List-*`` header. The effect is IGNORE
rather than NO_REPLY because a support address subscribed to lists or newsletters would otherwise
open a ticket per post; the price is that a customer writing through a group address that adds
``List-Id`` (a Google Group, say) is not ticketed.
"""

from __future__ import annotations

from mailbot.domain import ParsedMail
from mailbot.rules._headers import shown, title
from mailbot.rules.base import RuleContext

OTHER_LIST_HEADERS = frozenset({"mailing-list", "x-mailing-list"})


def check(mail: ParsedMail, ctx: RuleContext) -> str | None:
    found = sorted(
        (key.lower(), vs)
        for key, vs in mail.headers.items()
        if key.lower().startswith("list-") or key.lower() in OTHER_LIST_HEADERS
    )
    if not found:
        return None
    name, vs = found[0]
    more = f" and {len(found) - 1} more list header(s)" if len(found) > 1 else ""
    value = shown(vs[0]) if vs else "(empty)"
    return f"{title(name)}: {value}{more} (RFC 2369/2919, RFC 3834 §2: no automatic reply to list mail)"
