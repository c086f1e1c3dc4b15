"""``parse_mail``: raw bytes to ``ParsedMail``, or ``Quarantine`` with a reason a person understands.

Best effort everywhere a human would still understand the mail (defects are recorded); quarantine
only where the input cannot be trusted to be understood: no bytes or no header block, no sender,
a multipart that cannot be split into parts. Any other failure of a library is turned into a
quarantine too, so callers only ever see ``ParsedMail`` or ``Quarantine``.
"""

from __future__ import annotations

import hashlib
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32

from mailbot.domain import Language, ParsedMail
from mailbot.errors import Quarantine
from mailbot.header_text import without_controls
from mailbot.logredact import quoted, shortened
from mailbot.parse.adapter import load
from mailbot.parse.charsets import clean
from mailbot.parse.headers import addresses, decode_value, message_ids, parse_date, unfold
from mailbot.parse.html import html_to_text
from mailbot.parse.language import detect_language
from mailbot.parse.parts import walk
from mailbot.parse.reply import extract_body
from mailbot.parse.structure import structural_problem


def parse_mail(raw: bytes, *, default_language: Language = Language.EN) -> ParsedMail:
    """Parse one raw e-mail; raises only ``Quarantine``."""
    try:
        return _parse(bytes(raw), default_language)
    except Quarantine:
        raise
    except Exception as exc:  # the contract: nothing but Quarantine leaves this function
        raise Quarantine(f"unparseable: {type(exc).__name__}: {str(exc)[:200]}") from exc


def derived_message_id(raw: bytes) -> str:
    """Stable id for a mail without Message-ID: same bytes, same id."""
    return f"<{hashlib.sha256(raw).hexdigest()[:32]}@mailbot.invalid>"


def message_id_of(raw: bytes, header: Message | None = None) -> str:
    """The Message-ID exactly as ``parse_mail`` reports it, read from the header block only.

    Ingest keys its de-duplication on it before the mail is parsed, and threading later compares
    it with the In-Reply-To of replies, so both must come from this one function. `header`: the
    raw's header block as a caller already parsed it (compat32), so that it is not parsed twice.
    """
    if header is None:
        header = BytesHeaderParser(policy=compat32).parsebytes(raw)
    return _own_message_id(header, raw)


def _own_message_id(message: Message, raw: bytes) -> str:
    own_ids = message_ids(_first(message, "message-id"))
    return own_ids[0] if own_ids else derived_message_id(raw)


def _parse(raw: bytes, default_language: Language) -> ParsedMail:
    if not raw.strip():
        raise Quarantine("empty message: there are no bytes to read")
    view = load(raw)
    message = view.message
    if message is None or not message.keys():
        raise Quarantine("not an e-mail: the data has no header block")
    parts = walk(message)
    has_text = parts.has_text or any(t.strip() for t in (*view.plain, *view.html))
    problem = structural_problem(message, has_text=has_text)
    if problem:
        raise Quarantine(problem)
    from_values = _raw_all(message, "from")
    if not from_values:
        raise Quarantine("no sender: the mail has no From header, so there is nobody to answer")
    senders = addresses(from_values, keep_empty=True)
    # an address with a domain first: "Müller, Hans <hans@example.com>" (an unquoted comma) is hans's
    first = next((pair for pair in senders if pair[1]), senders[0] if senders else ("", ""))
    from_name, from_addr = next((pair for pair in senders if "@" in pair[1]), first)
    defects = [*view.defects, *parts.notes]
    ambiguity = sender_ambiguity(len(from_values), [addr for _, addr in senders if "@" in addr])
    if ambiguity:
        defects.append(ambiguity)
    if not from_addr:  # e.g. "MAILER-DAEMON <>": a bounce, left to the rules
        defects.append("From header names no address")
    elif "@" not in from_addr:
        defects.append(f"From address {quoted(from_addr)} has no domain")

    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(decode_value(str(name)).strip().lower(), []).append(decode_value(str(value)))
    date_value = _first(message, "date")
    date, date_note = parse_date(date_value) if date_value is not None else (None, None)
    if date_note:
        defects.append(date_note)

    # the subject is shown and written back (tickets, answers, team mail): no control, escape or bidi
    # character of it reaches a reader (`mailbot.header_text`)
    subject = without_controls(headers.get("subject", [""])[0]).strip()
    # mail-parser's text (it also reads attached messages and parts recovered from an epilogue) only
    # when the sender wrote no text part of their own, e.g. a forward as attachment without comment
    text = _text(parts.plain, parts.html) or _text(list(view.plain), list(view.html))
    body = extract_body(text)
    reply_to = addresses(_raw_all(message, "reply-to"))
    return ParsedMail(
        message_id=_own_message_id(message, raw),
        subject=subject,
        from_addr=from_addr,
        from_name=from_name,
        reply_to=reply_to[0][1] if reply_to else None,
        to=tuple(addr for _, addr in addresses(_raw_all(message, "to"))),
        cc=tuple(addr for _, addr in addresses(_raw_all(message, "cc"))),
        date=date,
        in_reply_to=next(iter(message_ids(_first(message, "in-reply-to"))), None),
        references=tuple(message_ids(" ".join(_raw_all(message, "references")))),
        return_path=_return_path(_first(message, "return-path")),
        content_type=message.get_content_type().lower(),
        headers={name: tuple(values) for name, values in headers.items()},
        text=text,
        body=body,
        language=detect_language(body, subject, default_language),
        attachments=tuple(parts.attachments),
        defects=tuple(dict.fromkeys(clean(defect) for defect in defects)),  # a defect may quote the mail
        reply_to_name=reply_to[0][0] if reply_to else "",
        sender_ambiguity=ambiguity,
    )


def sender_ambiguity(from_headers: int, from_addresses: list[str]) -> str:
    """Why nobody can tell who wrote the mail, or "": several From headers, or a From naming several
    addresses (RFC 5322 allows a list, but every mail server, DMARC and we would each pick another)."""
    problems = []
    if from_headers > 1:
        problems.append(f"the mail has {from_headers} From headers")
    if len(from_addresses) > 1:
        shown = ", ".join(shortened(address) for address in from_addresses[:3])
        more = f" and {len(from_addresses) - 3} more" if len(from_addresses) > 3 else ""
        problems.append(f"From names {len(from_addresses)} addresses ({shown}{more})")
    return "; ".join(problems)


def _raw_all(message: Message, name: str) -> list[str]:
    """Raw values; ``Message.get_all`` would turn 8-bit bytes into U+FFFD before we can decode them."""
    return [str(value) for key, value in message.raw_items() if key.lower() == name]


def _first(message: Message, name: str) -> str | None:
    values = _raw_all(message, name)
    return values[0] if values else None


def _return_path(raw: str | None) -> str | None:
    """None when absent, "" for the null reverse path ``<>``, else the bare address."""
    if raw is None:
        return None
    found = addresses([raw])
    return found[0][1] if found and unfold(raw).strip() != "<>" else ""


def _text(plain: list[str], html: list[str]) -> str:
    """Plain parts when they have content, else the HTML parts converted to text."""
    chosen = [_newlines(t).strip("\n") for t in plain if t.strip()]
    if not chosen:
        chosen = [converted for t in html if (converted := html_to_text(_newlines(t))).strip()]
    return clean("\n\n".join(chosen).rstrip())


def _newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")
