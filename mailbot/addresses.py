"""E-mail addresses as SMTP and people see them: IDNA domains, exact comparison, what we can send to.

One place for the rules, because three stages need the same answer: the envelope (RCPT TO must be
ASCII without SMTPUTF8), the headers we write, and "is this the ticket's customer?" (RFC 5321: the
domain is case-insensitive, the local part is the receiving server's business, so it is compared as
written and never Unicode-casefolded: `straße@` is not `strasse@`).

IDNA 2008 with UTS #46 mapping comes from the `idna` package (already installed with httpx), which
also enforces the length limits (63 octets a label, 253 a name) that the stdlib's IDNA 2003 codec does
not check.
"""

from __future__ import annotations

import functools

import idna

from mailbot.logredact import quoted, shortened

MAX_ADDRESS_OCTETS = 254  # RFC 5321 4.5.3.1.3: a path is at most 256 octets including "<" and ">"
MAX_LOCAL_OCTETS = 64


def shown(address: str) -> str:
    """`address` as a log line or a team mail names it: whole, unless it is longer than any address can
    be (a hostile header), then its opening and its length (logredact.shortened)."""
    return shortened(address, MAX_ADDRESS_OCTETS)


class UndeliverableAddress(ValueError):
    """An address no SMTP server of ours can be asked to deliver to (the message says why)."""


CACHED_DOMAIN_CHARS = 1024  # longer texts (hostile, or never valid) are encoded without the cache


def ascii_domain(domain: str) -> str:
    """The domain as SMTP carries it: lower-case A-labels (`münchen.example` -> `xn--mnchen-3ya.example`).

    Cached: a few domains come back for every mail (the support and team addresses, the big mail
    providers), and IDNA with UTS 46 costs ~10 us a call. A refused domain raises each time (exceptions
    are not cached), and only texts of a sane length are kept (UTS 46 drops characters such as soft
    hyphens, so a long text may still encode to a short domain)."""
    text = domain.strip().rstrip(".")
    if not text:
        raise UndeliverableAddress("the domain is empty")
    return _encoded(text) if len(text) <= CACHED_DOMAIN_CHARS else _encoded.__wrapped__(text)


@functools.lru_cache(maxsize=4096)
def _encoded(text: str) -> str:
    try:
        encoded = idna.encode(text, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError) as exc:
        raise UndeliverableAddress(
            f"the domain {quoted(text)} is not a valid host name ({shortened(str(exc), 160)})"
        ) from None
    if "." not in encoded:
        raise UndeliverableAddress(
            f"the domain {quoted(text)} has no dot (a local host name, not a mail domain)"
        )
    return encoded


def split(address: str) -> tuple[str, str]:
    local, at, domain = address.strip().rpartition("@")
    if not at or not local or not domain:
        raise UndeliverableAddress(f"{quoted(address)} is not an address (local@domain)")
    return local, domain


def has_no_mailbox(address: str) -> bool:
    """An address in the reserved domain `.invalid` (RFC 6761): an erased person's stand-in
    (mailbot.privacy.anonymise) or a store reviewer (mailbot.reviews.ticket). Nobody reads mail there."""
    return address.strip().lower().rstrip(".").endswith(".invalid")


def envelope_address(address: str) -> str:
    """`address` for MAIL FROM / RCPT TO without SMTPUTF8; raises UndeliverableAddress when impossible."""
    local, domain = split(address)
    if not local.isascii():
        raise UndeliverableAddress(
            f"{quoted(address)} has a non-ASCII local part, which needs SMTPUTF8 (RFC 6531); not supported"
        )
    if any(ord(char) < 33 or ord(char) == 127 for char in local) or len(local) > MAX_LOCAL_OCTETS:
        raise UndeliverableAddress(f"{quoted(address)} has an invalid local part")
    ascii_name = ascii_domain(domain)
    if ascii_name.rstrip(".").endswith(".invalid"):
        # RFC 6761: never delivers; an erased person's stand-in lives there (mailbot.privacy.anonymise)
        raise UndeliverableAddress(
            f"{quoted(address)} is in the reserved domain .invalid (an erased person, or a store reviewer)"
        )
    result = f"{local}@{ascii_name}"
    if len(result) > MAX_ADDRESS_OCTETS:
        raise UndeliverableAddress(
            f"{quoted(address)} is longer than SMTP allows ({MAX_ADDRESS_OCTETS} octets)"
        )
    return result


def canonical(address: str) -> str:
    """The form two addresses are compared in: local part as written, domain as lower-case A-labels.

    An address whose domain cannot be encoded keeps its domain lower-cased, so comparing never raises.
    """
    try:
        local, domain = split(address)
    except UndeliverableAddress:
        return address.strip()
    try:
        return f"{local}@{ascii_domain(domain)}"
    except UndeliverableAddress:
        return f"{local}@{domain.lower()}"


def same_address(first: str, second: str) -> bool:
    return canonical(first) == canonical(second)
