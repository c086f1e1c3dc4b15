"""Compose an outgoing mail as final bytes (CRLF, 7-bit text parts) from a `Rendered` mail.

Pure and deterministic: the same inputs give the same bytes, so the outbox can store them at
enqueue time and a re-send is byte-identical. That is why MIME boundaries are derived from the
Message-ID instead of drawn at random.

Every header value is checked for line breaks *before* anything is built: a CR or LF in a
subject or name taken from a customer's mail must never be able to add a header.
"""

from __future__ import annotations

import binascii
import functools
import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from email.generator import BytesGenerator
from email.header import Header
from email.headerregistry import Address, HeaderRegistry
from email.message import MIMEPart
from email.policy import EmailPolicy
from email.utils import format_datetime
from io import BytesIO
from typing import Any

from mailbot.addresses import UndeliverableAddress, envelope_address
from mailbot.logredact import quoted, shortened
from mailbot.reply.render import Rendered

AUTO_SUBMITTED_VALUES = ("auto-replied", "auto-generated")
MAX_REFERENCES = 20
ORIGINAL_FILENAME = "original.eml"
CACHED_ADDRESS_CHARS = 512

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN_RE = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")
_TOKEN_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
SIGNATURE_HEX = 20  # 80 bits of HMAC-SHA256: unguessable, and the id stays short
_SIGNED_ID_RE = re.compile(r"<mb\.(?P<token>[A-Za-z0-9._-]{1,64})\.(?P<sig>[0-9a-f]{20})@[^>@\s]+>")
# A msg-id as found in real mail: RFC 5322 wants "<left@right>", but some mailers omit the "@";
# what matters for a header is printable ASCII without brackets or spaces and a sane length.
_MSG_ID_RE = re.compile(r"<[!-;=?-~]{1,250}>")
_HEADER_NAME_RE = re.compile(r"[!-9;-~]+")
# Characters that end a header line for the stdlib or for some mail client (str.splitlines).
_LINE_BREAKS = frozenset("\r\n\v\f\x1c\x1d\x1e\x85\u2028\u2029")
_HEADERS_SET_HERE = frozenset(
    {"from", "to", "subject", "date", "message-id", "in-reply-to", "references", "mime-version"}
    | {"auto-submitted", "x-auto-response-suppress", "precedence", "bcc"}
)
# Extra headers holding one bare address each; validated like From and To.
_ADDRESS_HEADERS = frozenset({"reply-to", "sender", "errors-to"})


class HeaderInjectionError(ValueError):
    """A header value contains a line break or another control character."""


# --- policy and generator -------------------------------------------------------------------------


# Headers whose values come from this module or the configuration, never from a mail: a few values
# each, so their parsed and folded forms are made once (`_MailPolicy`). A multipart Content-Type
# carries the boundary of one mail and is left out (`_stable_key`).
_STABLE_HEADERS = frozenset(
    {"mime-version", "auto-submitted", "x-auto-response-suppress", "precedence", "x-loop"}
    | {"content-type", "content-transfer-encoding", "content-disposition"}
)
_STABLE_MAX = 256  # a bound, should a configuration ever feed many values through these names
_parsed_stable: dict[tuple[str, str], tuple[str, Any]] = {}
_folded_stable: dict[tuple[str, type, str], bytes] = {}


# Address headers whose values are the configuration's (the support address, the team's): a few per
# installation, so cached like `_STABLE_HEADERS` (issue 13: parsing From was a tenth of an answer's compose).
_CONFIGURED_ADDRESS_HEADERS = frozenset({"from", "reply-to"})


# Values of these headers that the stdlib would write as "Name: value" on one line are stored and
# written as that text: its parse and refold of them was a third of an answer's compose (issue 13).
# A plain addr-spec (dot-atom local part), printable ASCII text, a Date made from a datetime; anything
# else, or too long for one line, goes through the stdlib. tests/unit/test_compose_one_line.py holds
# the two ways byte-identical.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")
_PLAIN_TEXT = re.compile(r"[!-~]+(?: [!-~]+)*")  # printable ASCII words, one space between them
_PLAIN = {"to": _PLAIN_ADDRESS, "subject": _PLAIN_TEXT}  # the To value is `sendable_address`'s already


class _OneLine(str):
    """A header value written as it is, on the header's one line."""


def _one_line(name: str, value: object, max_line_length: int) -> _OneLine | None:
    lowered = name.lower()
    plain = _PLAIN.get(lowered)
    if lowered == "date" and isinstance(value, datetime):
        text = format_datetime(value)
    elif plain is not None and isinstance(value, str) and plain.fullmatch(value) and "=?" not in value:
        text = value
    else:
        return None
    return _OneLine(text) if len(name) + 2 + len(text) <= max_line_length else None


def _stable_key(name: str, value: object) -> str | None:
    """The text a header's parsed and folded forms are cached under; None: not cached."""
    lowered = name.lower()
    if lowered in _CONFIGURED_ADDRESS_HEADERS and isinstance(value, str | Address):
        return str(value)
    if lowered in _STABLE_HEADERS and isinstance(value, str) and "boundary=" not in value:
        return value
    return None


class _MailPolicy(EmailPolicy):
    """SMTP policy with two folding fixes the stdlib lacks.

    - Message-ID/In-Reply-To/References: the stdlib would RFC 2047-encode a msg-id longer than a line
      (or fold a long Message-ID onto a line of its own),
      which breaks threading; we fold only between ids. So they are stored as text, unparsed.
    - Subject text that itself looks like an encoded word (``=?utf-8?q?x?=``) would be sent as
      is and decoded by the receiver; we encode the whole subject then, so it reads as written.

    Parsing and folding a header is most of compose's time; the headers of `_STABLE_HEADERS` are
    parsed and folded once per value (header objects are immutable, folding is a pure function of
    name, kind, text and this policy); so are the configured addresses of
    `_CONFIGURED_ADDRESS_HEADERS`.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        # The header factory would decode the look-alike encoded word right away; keep the text.
        if name.lower() == "subject" and isinstance(value, str) and "=?" in value:
            return (name, value)
        if name.lower() in ("in-reply-to", "references", "message-id") and isinstance(value, str):
            return (name, value)  # validated by compose, folded by _fold_ids from the text
        one_line = _one_line(name, value, self.max_line_length)
        if one_line is not None:
            return (name, one_line)
        key = _stable_key(name, value)
        if key is None:
            return super().header_store_parse(name, value)
        parsed = _parsed_stable.get((name, key))
        if parsed is None:
            parsed = super().header_store_parse(name, value)
            if len(_parsed_stable) < _STABLE_MAX:
                _parsed_stable[(name, key)] = parsed
        return parsed

    def _fold_ids(self, name: str, value: str) -> str:
        lines = [f"{name}:"]
        for token in value.split():
            if len(lines[-1]) + 1 + len(token) > self.max_line_length and lines[-1] != f"{name}:":
                lines.append("")
            lines[-1] += f" {token}"
        return self.linesep.join(lines) + self.linesep

    def _fold_custom(self, name: str, value: Any) -> str | None:
        if isinstance(value, _OneLine):
            return f"{name}: {value}{self.linesep}"
        text = str(value)
        if name.lower() in ("in-reply-to", "references", "message-id"):
            return self._fold_ids(name, text)
        if name.lower() == "subject" and "=?" in text:
            encoded = Header(text, "utf-8", maxlinelen=self.max_line_length, header_name=name)
            return f"{name}: {encoded.encode(linesep=self.linesep)}{self.linesep}"
        return None

    def fold(self, name: str, value: Any) -> str:
        folded = self._fold_custom(name, value)
        return super().fold(name, value) if folded is None else folded

    def fold_binary(self, name: str, value: Any) -> bytes:
        folded = self._fold_custom(name, value)
        if folded is not None:
            return folded.encode("ascii")
        if _stable_key(name, str(value)) is None:
            return super().fold_binary(name, value)
        key = (name, type(value), str(value))
        binary = _folded_stable.get(key)
        if binary is None:
            binary = super().fold_binary(name, value)
            if len(_folded_stable) < _STABLE_MAX:
                _folded_stable[key] = binary
        return binary


class _HeaderClasses(HeaderRegistry):
    """The stdlib's header factory with its header classes made once.

    `HeaderRegistry.__getitem__` creates a new class with `type()` for every header set or parsed
    (about 20 per mail): a tenth of compose's time, and classes the cyclic GC has to collect. The
    classes it would create are equal in everything but identity, so one per kind is kept.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[type, type] = {}

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._made.get(kind)
        if made is None:
            made = self._made[kind] = super().__getitem__(name)
        return made


# 7bit: text parts become quoted-printable or base64, so any SMTP server takes them.
MAIL_POLICY = _MailPolicy(
    linesep="\r\n", cte_type="7bit", max_line_length=78, header_factory=_HeaderClasses()
)


class _RawMessagePart(MIMEPart):
    """A message/rfc822 part whose body is written exactly as received."""

    raw: bytes = b""


class _Generator(BytesGenerator):
    # The stdlib re-serialises an attached message (changing its bytes) or, given a string,
    # refuses 8-bit content; the team must see the customer's mail as it arrived.
    def _handle_message(self, msg: Any) -> None:
        if isinstance(msg, _RawMessagePart):
            self._fp.write(msg.raw)
        else:
            super()._handle_message(msg)


def flatten_mail(msg: MIMEPart) -> bytes:
    out = BytesIO()
    _Generator(out, policy=MAIL_POLICY).flatten(msg)
    return out.getvalue()


# --- validation -----------------------------------------------------------------------------------


def _check_header_value(name: str, value: str) -> None:
    for ch in value:
        if ch in _LINE_BREAKS:
            raise HeaderInjectionError(f"{name} contains a line break ({ch!r}): {quoted(value)}")
        if ch != "\t" and (ch < " " or ch == "\x7f" or "\x80" <= ch <= "\x9f"):
            raise HeaderInjectionError(f"{name} contains a control character ({ch!r}): {quoted(value)}")
        if "\ud800" <= ch <= "\udfff":
            raise HeaderInjectionError(f"{name} contains an undecodable character ({ch!r})")


def sendable_address(address: str) -> str:
    """`address` as our headers and the SMTP envelope carry it (IDNA 2008 A-labels, mailbot.addresses);
    raises UndeliverableAddress (a ValueError) for an address no mail of ours can be sent to.

    One judge for compose and delivery: what compose writes into To, delivery can put into RCPT TO,
    so an address is refused once, at enqueue (mailbot.reply.outbox), never half-way. Judged once per
    address (parsing it is ~0.1 ms, twice per mail: at enqueue and in compose); only addresses that
    pass are kept, and no text longer than a valid address could be.
    """
    return _sendable(address) if len(address) <= CACHED_ADDRESS_CHARS else _sendable.__wrapped__(address)


@functools.lru_cache(maxsize=4096)
def _sendable(address: str) -> str:
    envelope = envelope_address(address)
    try:
        Address(addr_spec=envelope)
    except (ValueError, IndexError) as exc:  # the stdlib raises header defects (ValueError subclasses)
        raise UndeliverableAddress(
            f"{quoted(address)} is not a valid addr-spec: {shortened(str(exc), 160)}"
        ) from None
    return envelope


def _address(name: str, addr_spec: str, display_name: str = "") -> Address:
    try:
        if len(addr_spec) + len(display_name) <= CACHED_ADDRESS_CHARS:
            return _address_of(addr_spec, display_name)
        return _address_of.__wrapped__(addr_spec, display_name)
    except UndeliverableAddress as exc:
        raise UndeliverableAddress(f"{name}: {exc}") from None


def _bare_address(name: str, addr_spec: str) -> str:
    """A header's one address without a display name, as its text: checked by `sendable_address`,
    so the header parses it once (an Address object would be parsed once more; issue 13)."""
    try:
        return sendable_address(addr_spec)
    except UndeliverableAddress as exc:
        raise UndeliverableAddress(f"{name}: {exc}") from None


@functools.lru_cache(maxsize=1024)
def _address_of(addr_spec: str, display_name: str) -> Address:
    """Made once per address: an Address is immutable, and parsing one is ~60 µs, for the sender's
    address on every mail (issue 13)."""
    return Address(display_name=display_name, addr_spec=sendable_address(addr_spec))


def _check_msg_id(name: str, value: str) -> None:
    if not _MSG_ID_RE.fullmatch(value):
        raise ValueError(f"{name} {quoted(value)} is not a message id like <token@domain>")


# --- public API -----------------------------------------------------------------------------------


def make_message_id(domain: str, token: str | None = None, key: bytes | None = None) -> str:
    """``<mb.{token}.{signature}@{domain}>``; `token` defaults to 128 random bits.

    With `key`, the id carries an HMAC-SHA256 of the token (`verify_message_id`), so a reply or a
    bounce that names one of our ids can be trusted to refer to a mail we really sent, and a forged
    id is recognised without a database lookup. A caller passes its own token only when the id must
    be reproducible (tests, re-enqueue).
    """
    if not _DOMAIN_RE.fullmatch(domain):
        raise ValueError(f"message id domain {domain!r} is not a host name, e.g. 'support.example.com'")
    token = secrets.token_hex(16) if token is None else token
    if not _TOKEN_RE.fullmatch(token):
        raise ValueError(f"message id token {token!r}: use 1-64 of A-Z a-z 0-9 . _ -")
    if key is None:
        return f"<mb.{token}@{domain}>"
    return f"<mb.{token}.{_signature(key, token)}@{domain}>"


def verify_message_id(message_id: str, key: bytes) -> bool:
    """True when `message_id` is one of ours: made by `make_message_id` with this key."""
    match = _SIGNED_ID_RE.fullmatch(message_id.strip())
    return bool(match) and hmac.compare_digest(match.group("sig"), _signature(key, match.group("token")))


def _signature(key: bytes, token: str) -> str:
    return hmac.new(key, token.encode("ascii"), hashlib.sha256).hexdigest()[:SIGNATURE_HEX]


def threading_headers(parent_message_id: str | None, parent_references: Sequence[str]) -> dict[str, str]:
    """In-Reply-To and References for a reply to the parent mail (RFC 5322 3.6.4).

    Input comes from a customer's mail, so ids that are not well-formed are dropped rather than
    failing the reply. References keep their order without duplicates, the parent last; when
    longer than `MAX_REFERENCES`, the first (thread root, which clients thread on) and the most
    recent ones are kept.
    """
    parent = (parent_message_id or "").strip()
    if not _MSG_ID_RE.fullmatch(parent):
        return {}
    ids: list[str] = []
    for ref in (*(r.strip() for r in parent_references), parent):
        if _MSG_ID_RE.fullmatch(ref):
            if ref in ids:
                ids.remove(ref)
            ids.append(ref)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return {"In-Reply-To": parent, "References": " ".join(ids)}


def boundary_for(message_id: str, role: str, contents: Sequence[bytes]) -> str:
    base = "=_mb_" + hashlib.sha256(f"{role}:{message_id}".encode()).hexdigest()[:24]
    boundary, counter = base, 0
    while any(b"--" + boundary.encode() in content for content in contents):
        counter += 1
        boundary = f"{base}.{counter}"
    return boundary


def text_part(content: str, subtype: str) -> MIMEPart:
    """A utf-8 text part: 7bit when every line is ASCII and short enough, else the shorter of
    quoted-printable and base64, as the stdlib's content manager chooses. Quoted-printable is
    binascii's (C): the stdlib's is pure Python, a tenth of composing a mail (issue 13), and folds
    lines at 78 characters where RFC 2045 allows 76."""
    part = MIMEPart(policy=MAIL_POLICY)
    lines = content.encode("utf-8").splitlines()
    body = b"\n".join(lines) + b"\n"
    if max((len(line) for line in lines), default=0) <= MAIL_POLICY.max_line_length and body.isascii():
        part.set_content(content, subtype=subtype, charset="utf-8", cte="7bit")
        return part
    quoted = binascii.b2a_qp(body, istext=True)
    if len(quoted) > 4 * ((len(body) + 2) // 3):  # base64 is shorter (most of the text not Latin)
        part.set_content(content, subtype=subtype, charset="utf-8", cte="base64")
        return part
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "quoted-printable"
    part.set_payload(quoted.decode("ascii"))
    return part


def _original_part(raw: bytes) -> MIMEPart:
    """The customer's mail as message/rfc822, line endings normalised to CRLF.

    message/rfc822 allows only 7bit/8bit/binary; a mail SMTP cannot carry that way (NUL bytes,
    lines over 998 octets) goes as base64 application/octet-stream under the same file name.
    """
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    if data and not data.endswith(b"\r\n"):
        data += b"\r\n"
    if b"\0" in data or any(len(line) > 998 for line in data.split(b"\r\n")):
        fallback = MIMEPart(policy=MAIL_POLICY)
        fallback.set_content(
            raw,
            maintype="application",
            subtype="octet-stream",
            disposition="attachment",
            filename=ORIGINAL_FILENAME,
        )
        return fallback
    part = _RawMessagePart(policy=MAIL_POLICY)
    part["Content-Type"] = "message/rfc822"
    part["Content-Disposition"] = f'attachment; filename="{ORIGINAL_FILENAME}"'
    part["Content-Transfer-Encoding"] = "7bit" if data.isascii() else "8bit"
    part.raw = data
    return part


def checked_headers(
    *,
    subject: str,
    from_addr: str,
    from_name: str,
    to_addr: str | None,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    date: datetime,
    auto_submitted: str | None,
    precedence: str | None,
    extra: Mapping[str, str],
) -> list[tuple[str, object]]:
    """Validate everything, then return the top-level headers in their output order."""
    checked = [
        ("Subject", subject),
        ("From name", from_name),
        ("From", from_addr),
        ("To", to_addr or ""),
        ("Message-ID", message_id),
        ("In-Reply-To", in_reply_to or ""),
        ("Auto-Submitted", auto_submitted or ""),
        ("Precedence", precedence or ""),
        *(("References entry", ref) for ref in references),
        *(("extra header name", name) for name in extra),
        *extra.items(),
    ]
    for name, value in checked:
        _check_header_value(name, value)

    for name, value in (
        ("Message-ID", message_id),
        ("In-Reply-To", in_reply_to),
        *(("References", r) for r in references),
    ):
        if value is not None:
            _check_msg_id(name, value)
    if auto_submitted is not None and auto_submitted not in AUTO_SUBMITTED_VALUES:
        raise ValueError(
            f"Auto-Submitted must be None (a person's mail) or one of {AUTO_SUBMITTED_VALUES}, "
            f"not {auto_submitted!r}"
        )
    if auto_submitted is None and precedence:
        raise ValueError("a person's mail (auto_submitted=None) carries no Precedence header")
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware (a naive time is ambiguous in a Date header)")
    for name in extra:
        if not _HEADER_NAME_RE.fullmatch(name):
            raise ValueError(f"invalid header name {name!r}")
        if name.lower() in _HEADERS_SET_HERE or name.lower().startswith("content-"):
            raise ValueError(f"header {name!r} is set by compose_reply and cannot be given as extra header")

    headers: list[tuple[str, object]] = [
        ("From", _address("From", from_addr, from_name)),
        *([("To", _bare_address("To", to_addr))] if to_addr is not None else []),
        ("Subject", subject.strip(" \t")),
        ("Date", date),
        ("Message-ID", message_id),
    ]
    if in_reply_to:
        headers.append(("In-Reply-To", in_reply_to))
    if references:
        headers.append(("References", " ".join(references)))
    headers.append(("MIME-Version", "1.0"))
    if auto_submitted is not None:
        headers += [
            ("Auto-Submitted", auto_submitted),
            # Exchange/Outlook: no out-of-office, delivery or read receipts back to a robot.
            ("X-Auto-Response-Suppress", "All"),
        ]
    if precedence:
        headers.append(("Precedence", precedence))
    # Address headers go in as validated Address objects; the rest as (unstructured) text.
    headers += [
        (name, _address(name, value) if name.lower() in _ADDRESS_HEADERS else value)
        for name, value in extra.items()
    ]
    return headers


def written_bodies(part: MIMEPart) -> list[bytes]:
    """What the generator writes of `part` that could hold a boundary line: the bodies as encoded
    (line breaks aside, which a boundary never contains) and the delimiters of nested multiparts.

    The headers of our parts are fixed texts that cannot contain ``--=_mb_``, so checking only
    these gives the boundary `flatten_mail(part)` would, without generating every part twice.
    """
    if isinstance(part, _RawMessagePart):
        return [part.raw]
    if part.is_multipart():
        nested = [body for sub in part.iter_parts() for body in written_bodies(sub)]
        return [*nested, f"--{part.get_boundary()}".encode("ascii")]
    return [str(part.get_payload()).encode("utf-8", "surrogateescape")]


def _set_body(msg: MIMEPart, rendered: Rendered, message_id: str, attach_rfc822: bytes | None) -> None:
    text, html = text_part(rendered.text, "plain"), text_part(rendered.html, "html")
    alternative = MIMEPart(policy=MAIL_POLICY) if attach_rfc822 is not None else msg
    boundary = boundary_for(message_id, "alternative", [*written_bodies(text), *written_bodies(html)])
    _multipart(alternative, "alternative", boundary, [text, html])
    if attach_rfc822 is not None:
        original = _original_part(attach_rfc822)
        boundary = boundary_for(
            message_id, "mixed", [*written_bodies(alternative), *written_bodies(original)]
        )
        _multipart(msg, "mixed", boundary, [alternative, original])


def _multipart(part: MIMEPart, subtype: str, boundary: str, parts: Sequence[MIMEPart]) -> None:
    """What `make_<subtype>()` and then `set_boundary()` make of a part without content, with its
    Content-Type written once: set_boundary parsed the header's parameters again and stored a new
    header, a tenth of compose's time (issue 13). The same header text, so the same bytes."""
    part["Content-Type"] = f'multipart/{subtype}; boundary="{boundary}"'
    for sub in parts:
        part.attach(sub)


def compose_reply(
    *,
    rendered: Rendered,
    from_addr: str,
    from_name: str,
    to_addr: str | None,
    message_id: str,
    in_reply_to: str | None,
    references: Sequence[str],
    date: datetime,
    auto_submitted: str | None = "auto-replied",
    attach_rfc822: bytes | None = None,
    extra_headers: Mapping[str, str] | None = None,
    precedence: str | None = "bulk",
) -> bytes:
    """The complete mail as bytes with CRLF line endings, ready for SMTP DATA.

    multipart/alternative (text, HTML); with `attach_rfc822`, wrapped in multipart/mixed with
    the original mail attached as ``original.eml``. `auto_submitted` is "auto-replied" for
    answers to a customer and "auto-generated" for notices (RFC 3834). None marks a person's
    reply (an agent's answer), which RFC 3834 (section 5) marks by the header's absence: absent
    rather than "no", because some loop guards take any Auto-Submitted for automatic mail. Such a
    mail also carries no X-Auto-Response-Suppress (Outlook's own mark of automatic mail, which
    also suppresses non-delivery reports that the outbox should see) and no Precedence (so
    `precedence` must then be None). `precedence` ("bulk" by default, None to omit) is not
    standard but still what older vacation responders check before answering, so it keeps them
    from replying to us. `references` is written as given:
    build it with `threading_headers`, which drops malformed ids from customer mail. `to_addr` None
    leaves out To: the record of a mail whose recipient cannot be sent to (it is never sent).

    Raises HeaderInjectionError for line breaks or control characters in any header value,
    UndeliverableAddress for an address that cannot be sent to (`sendable_address`) and ValueError
    for malformed ids, dates or header names — all before building.
    """
    headers = checked_headers(
        subject=rendered.subject,
        from_addr=from_addr,
        from_name=from_name,
        to_addr=to_addr,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        date=date,
        auto_submitted=auto_submitted,
        precedence=precedence,
        extra=dict(extra_headers or {}),
    )
    msg = MIMEPart(policy=MAIL_POLICY)
    for name, value in headers:
        msg[name] = value
    _set_body(msg, rendered, message_id, attach_rfc822)
    return flatten_mail(msg)
