"""Which client a command means: the one `--client` names, or the one a ticket reference or a mail id
belongs to. One place decides, so that every command shows and changes only what its client owns."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mailbot.app import App
from mailbot.tickets.service import TicketActionError, find_by_reference


def app_of_reference(session: Session, apps: list[App], reference: str) -> App:
    """The client whose ticket `reference` is: its prefix names it; a bare number must be unique."""
    if len(apps) == 1:
        find_by_reference(session, apps[0], reference)  # its own message when not found
        return apps[0]
    owners: list[App] = []
    for app in apps:
        try:
            find_by_reference(session, app, reference)
        except TicketActionError:
            continue
        owners.append(app)
    if len(owners) == 1:
        return owners[0]
    if owners:
        names = ", ".join(app.mailbox for app in owners)
        raise TicketActionError(
            f"{reference!r} is a ticket of several clients ({names}): give the whole reference with its "
            "prefix, or --client"
        )
    raise TicketActionError(f"no ticket {reference!r} in any client; see `mailbot tickets list`")
