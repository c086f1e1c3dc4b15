"""Is the From of a mail its real sender? The receiving server's Authentication-Results (RFC 8601) say.

Only headers of ``[support] authserv_id`` count: every other Authentication-Results header was written
by whoever sent the mail or a server on its way (RFC 8601 §5 has the receiving server remove foreign
headers with its own id; an MTA that does not could be fooled, and a server result that is not a pass
always wins over a pass here). Verified means: DMARC passed for the From domain; or, where the domain
publishes no DMARC policy (no result, ``none``, Microsoft's ``bestguesspass``), SPF passed for an
envelope sender, or DKIM for a signing domain, aligned with the From domain (the same domain, or one
a subdomain of the other: DMARC's relaxed alignment without the public-suffix list, which never
aligns two organisations). A DMARC result for another domain than our From means the server read
another From than we did: not verified. With an authserv-id configured, a mail without any header of
it was not checked by that server: not verified either.

Without ``authserv_id`` the From is taken as written (``UNCHECKED``); docs/architecture.md, "Sender
verification", says what that means.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailbot.addresses import UndeliverableAddress, ascii_domain
from mailbot.domain import UNCHECKED_SENDER, ParsedMail, SenderCheck, Verification
from mailbot.parse.auth_results import MethodResult, parse_authentication_results
from mailbot.rules._headers import shown, values

MAX_HEADER_CHARS = 64_000  # a real Authentication-Results header is a few hundred characters
NO_POLICY = frozenset({"none", "bestguesspass"})  # the domain publishes no DMARC policy


def check_sender(mail: ParsedMail, authserv_id: str | None) -> SenderCheck:
    if not authserv_id:
        return UNCHECKED_SENDER
    own = authserv_id.strip().lower()
    ours = [
        parsed
        for value in values(mail, "authentication-results")
        if (parsed := parse_authentication_results(value[:MAX_HEADER_CHARS])) is not None
        and parsed.authserv_id.strip().lower() == own
    ]
    if not ours:
        return _fail(f"no Authentication-Results header of {shown(authserv_id)}: the server did not check it")
    domain = _domain(mail.from_addr)
    if not domain:
        return _fail(f"From {shown(mail.from_addr)} has no domain to check")
    return _verdict([result for header in ours for result in header.results], domain)


def _verdict(results: list[MethodResult], domain: str) -> SenderCheck:
    dmarc = [r for r in results if r.method == "dmarc"]
    for result in dmarc:
        checked = _domain(result.prop("header.from") or domain)
        if checked != domain:
            return _fail(f"dmarc={result.result} was for {shown(checked or '(nothing)')}, not for {domain}")
    policy = [r for r in dmarc if r.result not in NO_POLICY]
    if policy:
        failed = [r for r in policy if r.result != "pass"]
        if failed:
            return _fail(f"dmarc={failed[0].result} for {domain}")
        return SenderCheck(Verification.PASS, f"dmarc=pass for {domain}")
    aligned = [(r, name) for r in results if (name := _identity(r)) and _aligned(name, domain)]
    if any(r.result == "pass" for r, _ in aligned):
        first = next((r, name) for r, name in aligned if r.result == "pass")
        return SenderCheck(Verification.PASS, f"{first[0].method}=pass for {first[1]}, aligned with {domain}")
    found = ", ".join(f"{r.method}={r.result}" for r in _relevant(results)) or "no result"
    return _fail(f"no DMARC policy, and no aligned SPF or DKIM pass for {domain} ({found})")


def _identity(result: MethodResult) -> str:
    """The domain an SPF or DKIM result vouches for."""
    if result.method == "spf":
        return _domain(result.prop("smtp.mailfrom") or "")
    if result.method == "dkim":
        return _domain(result.prop("header.d") or result.prop("header.i") or "")
    return ""


def _relevant(results: Iterable[MethodResult]) -> list[MethodResult]:
    return [r for r in results if r.method in ("dmarc", "spf", "dkim")][:5]


def _aligned(first: str, second: str) -> bool:
    return first == second or first.endswith("." + second) or second.endswith("." + first)


def _domain(value: str) -> str:
    """The canonical (IDNA, lower-case) domain of an address, ``@domain`` or domain; "" if none."""
    text = value.strip().strip("<>").rpartition("@")[2].strip()
    if not text:
        return ""
    try:
        return ascii_domain(text)
    except UndeliverableAddress:
        return ""


def _fail(reason: str) -> SenderCheck:
    return SenderCheck(Verification.FAIL, reason)
