"""What mailbot writes into Jira Service Management, and in which order, for its two Jira jobs.

- A new escalation (`raise_request`): the request carries the customer's own words as its
  description, because the customer reads the description in the portal; mailbot's assessment
  (severity guess and reasons, due times, reference, customer) goes into an *internal* comment.
- A follow-up mail of the customer (`add_customer_reply`): its own words (quoted history removed)
  as a comment, public by default since they are the customer's words, with its attachments.
- The attachments of the mail that raised the request (`first_mail_files`) as one comment of their own.
- Which attachments go at all is `mailbot.privacy.attachments.forwardable`'s decision ([privacy]
  forward_attachment_types and forward_attachment_max_mb), then `[jira] attachment_max_mb`; what is
  left out is named in the comment ("Not attached (kept in mailbot): ...").

Both may run more than once (a crash between a call and the commit, a retry after a timeout), so
each first looks for what an earlier run left: the request by its reference (or the key mailbot
stored as soon as it was created), the internal note and the reply comment by their author (the
[jira] user) and their opening text. Nothing here touches the database; `jobs` does.
"""

from __future__ import annotations

import logging
import mimetypes
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from mailbot.addresses import shown
from mailbot.config import PrivacySettings
from mailbot.domain import Severity
from mailbot.errors import PermanentError
from mailbot.escalate.jira import CreatedRequest, JsmClient
from mailbot.parse import parse_mail
from mailbot.parse.attachments import attachment_files
from mailbot.privacy.attachments import HEAD_BYTES, forwardable

log = logging.getLogger(__name__)
COMMENT_CHARS = 30_000  # Jira's text fields hold 32,767 characters; room for the header and notes
MAX_FILES = 20  # attachments per follow-up handed to Jira; the rest are named in the comment
FILENAME_CHARS = 180


@dataclass(frozen=True)
class File:
    name: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Reply:
    """A follow-up mail as Jira gets it: the comment's opening text, the files, what stays behind."""

    text: str  # header line + the customer's words; the comment starts with exactly this
    files: tuple[File, ...]
    left_out: tuple[str, ...]  # "name (why)" of attachments not handed to Jira


# --- a new escalation -------------------------------------------------------------------------


def raise_request(
    jira: JsmClient,
    ticket: Mapping[str, Any],
    known_key: str | None,
    on_created: Callable[[CreatedRequest], None],
) -> str:
    """The request's key: the known one, one found by reference, or a new one (then `on_created`)."""
    reference = ticket["reference"]
    key = known_key
    fresh = False
    if key is None:
        existing = jira.find_request_by_reference(reference)
        if existing is None:
            severity = Severity(ticket["severity"]) if ticket["severity"] else None
            created = jira.create_request(
                f"[{reference}] {ticket['subject'] or '(no subject)'}",
                description(ticket),
                ticket["customer"],
                severity,
                customer_name=ticket["customer_name"] or None,
            )
            on_created(created)  # stored now, so a failing note below never raises a second request
            key, fresh = created.issue_key, True
        else:
            on_created(existing)
            key = existing.issue_key
    note = internal_note(ticket)
    if fresh or not _has_own_comment(jira, key, note.splitlines()[0], public=False):
        jira.add_comment(key, note, public=False)
    return key


def description(ticket: Mapping[str, Any]) -> str:
    """What the customer reads in the portal: their own words, nothing of mailbot's assessment."""
    return str(ticket["text"]).strip() or "(no text)"


def internal_note(ticket: Mapping[str, Any]) -> str:
    """mailbot's assessment for the agents only; its first line identifies it (one per request)."""
    name = f" ({ticket['customer_name']})" if ticket.get("customer_name") else ""
    lines = [f"mailbot {ticket['reference']} · customer {ticket['customer']}{name}"]
    if ticket["severity"]:
        reasons = "; ".join(ticket["severity_reasons"][:5]) or "no reasons recorded"
        lines.append(f"Severity guess: {ticket['severity']} ({reasons})")
    else:
        lines.append("Severity guess: none (a question or wish, or not sure)")
    if ticket["response_due"]:
        lines.append(f"Response due {ticket['response_due']}, resolution due {ticket['resolution_due']}")
    lines.append("This comment is internal: the customer does not see it.")
    return "\n".join(lines)


# --- a follow-up mail -------------------------------------------------------------------------


def reply_from_raw(
    raw: bytes,
    received_at: datetime,
    reference: str,
    zone: ZoneInfo,
    max_bytes: int,
    privacy: PrivacySettings,
) -> Reply:
    """The stored mail as Jira gets it, read at run time (the job payload holds only the mail's id)."""
    mail = parse_mail(raw)
    words = mail.body.strip() or mail.text.strip()
    if len(words) > COMMENT_CHARS:
        words = words[:COMMENT_CHARS].rstrip() + "\n[…] (cut; the whole mail is kept in mailbot)"
    header = f"E-mail from {mail.from_addr or '?'} · {_when(received_at, zone)} · {reference}"
    files, left_out = _files(raw, max_bytes, privacy)
    text = f"{header}\n\n{words or '(no text; see the attachments)'}"
    return Reply(text, files, left_out)


def first_mail_files(
    raw: bytes,
    received_at: datetime,
    reference: str,
    zone: ZoneInfo,
    max_bytes: int,
    privacy: PrivacySettings,
) -> Reply | None:
    """The attachments of the mail that raised the request (its words are the description already),
    or None when it has none."""
    files, left_out = _files(raw, max_bytes, privacy)
    if not files and not left_out:
        return None
    sender = shown(parse_mail(raw).from_addr) or "?"
    text = f"Attachments of the e-mail from {sender} · {_when(received_at, zone)} · {reference}"
    return Reply(text, files, left_out)


def _files(raw: bytes, max_bytes: int, privacy: PrivacySettings) -> tuple[tuple[File, ...], tuple[str, ...]]:
    """What may go to Jira: `[privacy]` decides first (types, its size cap), then Jira's own
    `attachment_max_mb` (the smaller limit wins) and MAX_FILES; the rest is named, with why."""
    files: list[File] = []
    left_out: list[str] = []
    for n, found in enumerate(attachment_files(raw), start=1):
        name = safe_filename(found.filename, found.content_type, n)
        ok, why = forwardable(
            found.content_type, len(found.data), privacy, filename=name, head=found.data[:HEAD_BYTES]
        )
        if not found.data:
            left_out.append(f"{name} (empty)")
        elif not ok:
            left_out.append(f"{name} ({why})")
        elif len(found.data) > max_bytes:
            left_out.append(
                f"{name} ({_size(len(found.data))}, over [jira] attachment_max_mb: {_size(max_bytes)})"
            )
        elif len(files) >= MAX_FILES:
            left_out.append(f"{name} (more than {MAX_FILES} attachments)")
        else:
            files.append(File(name, found.content_type, found.data))
    return tuple(files), tuple(left_out)


def _when(received_at: datetime, zone: ZoneInfo) -> str:
    return received_at.astimezone(zone).strftime("%Y-%m-%d %H:%M %z")


def add_customer_reply(jira: JsmClient, key: str, reply: Reply, *, public: bool) -> str:
    """Comment `reply` on request `key` (once); return what was done, for the ticket's history."""
    if _has_own_comment(jira, key, reply.text, public=public):
        return f"already on {key}"
    uploaded: list[str] = []
    left_out = list(reply.left_out)
    for file in reply.files:
        try:
            uploaded.append(jira.attach_temporary_file(file.name, file.content_type, file.data))
        except PermanentError as exc:  # e.g. attachments switched off, or a type Jira refuses
            # the file's name (and type) are the customer's words, Jira's answer may repeat them: the size
            log.warning(
                "%s: an attachment of %d bytes not attached: Jira refused it (%s)",
                key, len(file.data), getattr(exc, "status", None) or type(exc).__name__,
            )  # fmt: skip
            left_out.append(f"{file.name} (Jira refused it: {getattr(exc, 'status', None) or 'error'})")
    body = reply.text
    if left_out:
        body += "\n\nNot attached (kept in mailbot): " + "; ".join(left_out)
    kind = "public" if public else "internal"
    if uploaded:
        comment = jira.add_attachments(key, uploaded, body, public=public)
    else:
        comment = jira.add_comment(key, body, public=public)
    where = f"comment {comment.id}" if comment else "a comment"
    done = f"{kind} {where} on {key}, {len(uploaded)} attachment(s)"
    return done + (f", {len(left_out)} not attached" if left_out else "")


def safe_filename(name: str, content_type: str, n: int) -> str:
    """A plain file name: no directories or control characters, bounded; unnamed parts get one."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".")
    if not name:
        extension = ".eml" if content_type.startswith("message/") else mimetypes.guess_extension(content_type)
        name = f"attachment-{n}{extension or '.bin'}"
    if len(name) > FILENAME_CHARS:
        _, dot, suffix = name.rpartition(".")
        keep = suffix if dot and len(suffix) <= 10 else ""
        name = name[: FILENAME_CHARS - len(keep) - 1] + ("." + keep if keep else "")
    return name


def _has_own_comment(jira: JsmClient, key: str, opening: str, *, public: bool) -> bool:
    """Did the [jira] user already write a comment starting with `opening` (an earlier run)?"""
    own = jira.own_account_id()
    start = _words(opening)
    return any(
        c.author_account == own and _words(c.body).startswith(start)
        for c in jira.comments(key, public=public)
    )


def _size(count: int) -> str:
    return f"{count / 1048576:.1f} MB" if count >= 1048576 else f"{count / 1024:.1f} kB"


def _words(text: str) -> str:
    return " ".join(text.split())
