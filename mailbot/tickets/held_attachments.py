"""The attachments of a ticket's mails as mailbot holds them, for `mailbot tickets attachments`.

The team's notice and Jira carry only what `[privacy]` lets out (mailbot.privacy.attachments); the
rest "stays in mailbot" until `attachment_days` after the ticket ended. This is how an agent gets it:
each attachment with whether it was forwarded (and why not), and its bytes to save. An attachment
retention already cut out is listed by the note that replaced it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mailbot.config import PrivacySettings
from mailbot.db.schema import InboundMail, Ticket
from mailbot.errors import Quarantine
from mailbot.escalate.mirror import safe_filename
from mailbot.parse.attachments import attachment_files
from mailbot.privacy.attachments import HEAD_BYTES, forwardable

REMOVED_NOTE_NAME = "attachment-removed.txt"  # the part retention puts in an attachment's place


@dataclass(frozen=True)
class Held:
    inbound_id: int
    number: int  # the attachment's place in its mail, from 1
    name: str  # a plain file name (no directories, no control characters)
    content_type: str
    data: bytes
    forwarded: bool  # the team's notice and Jira carried it
    why_not: str  # why it stayed in mailbot ("" when forwarded)
    removed: bool  # retention cut it out: `data` is the note naming it

    @property
    def file_name(self) -> str:
        """Unique within the ticket: the mail's id and the attachment's place go first."""
        return f"{self.inbound_id}-{self.number}-{self.name}"


def held_attachments(session: Session, ticket: Ticket, privacy: PrivacySettings) -> list[Held]:
    """Every attachment of every mail the ticket received, in order; a mail whose MIME cannot be read
    again (it was quarantined or read once already) is skipped."""
    held: list[Held] = []
    mails = session.execute(
        select(InboundMail.id, InboundMail.raw)
        .where(InboundMail.mailbox == ticket.mailbox, InboundMail.ticket_id == ticket.id)
        .order_by(InboundMail.id)
    )
    for inbound_id, raw in mails:
        if not raw:
            continue
        try:
            files = attachment_files(raw)
        except Quarantine:
            continue
        for number, found in enumerate(files, start=1):
            removed = found.filename == REMOVED_NOTE_NAME and found.data.startswith(b"Attachment removed")
            ok, why = forwardable(
                found.content_type,
                len(found.data),
                privacy,
                filename=found.filename,
                head=found.data[:HEAD_BYTES],
            )
            name = safe_filename(found.filename, found.content_type, number)
            held.append(
                Held(
                    inbound_id, number, name, found.content_type, found.data, ok and not removed, why, removed
                )
            )
    return held
