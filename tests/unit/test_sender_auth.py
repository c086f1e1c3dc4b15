"""Issue 11: Authentication-Results (RFC 8601) read as data, and whether they verify the From.

The parser gets real headers as Gmail, Microsoft 365, Postfix with OpenDKIM/OpenDMARC and rspamd write
them, plus comments, quoted values and garbage; the verdict believes only the configured authserv-id.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from mailbot.domain import Verification
from mailbot.parse import parse_mail
from mailbot.parse.auth_results import AuthenticationResults, MethodResult, parse_authentication_results
from mailbot.rules.sender_auth import check_sender
from tests.unit.test_rules import make_mail

GMAIL = (
    "mx.google.com;\r\n"
    "       dkim=pass header.i=@example.com header.s=20230601 header.b=Qx3f/Kp+;\r\n"
    "       arc=pass (i=1 spf=pass spfdomain=example.com dkim=pass dkdomain=example.com dmarc=pass "
    "fromdomain=example.com);\r\n"
    "       spf=pass (google.com: domain of alice@example.com designates 209.85.220.41 as permitted sender) "
    "smtp.mailfrom=alice@example.com;\r\n"
    "       dmarc=pass (p=QUARANTINE sp=QUARANTINE dis=NONE) header.from=example.com"
)
M365 = (
    "spf=pass (sender IP is 209.85.128.54)\r\n smtp.mailfrom=example.com; dkim=pass (signature was verified)"
    "\r\n header.d=example.com;dmarc=pass action=none\r\n header.from=example.com;compauth=pass reason=100"
)
OPENDKIM = (
    "mail.example.org;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.com header.i=@example.com "
    'header.a=rsa-sha256 header.s=mail header.b="KbD8Qq2X";\r\n\tdkim-atps=neutral'
)
OPENDMARC = "mail.example.org; dmarc=fail (p=reject dis=none) header.from=example.com"
RSPAMD = (
    "mx.example.org;\r\n\tdkim=pass header.d=example.com header.s=dkim header.b=Ab1cD2eF;\r\n"
    "\tspf=pass (mx.example.org: domain of alice@example.com designates 192.0.2.1 as permitted sender) "
    "smtp.mailfrom=alice@example.com;\r\n\tdmarc=pass (policy=reject) header.from=example.com"
)


def r(method: str, result: str, *properties: tuple[str, str], reason: str = "") -> MethodResult:
    return MethodResult(method, result, tuple(properties), reason)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            GMAIL,
            AuthenticationResults(
                "mx.google.com",
                None,
                (
                    r(
                        "dkim",
                        "pass",
                        ("header.i", "@example.com"),
                        ("header.s", "20230601"),
                        ("header.b", "Qx3f/Kp+"),
                    ),
                    r("arc", "pass"),
                    r("spf", "pass", ("smtp.mailfrom", "alice@example.com")),
                    r("dmarc", "pass", ("header.from", "example.com")),
                ),
            ),
            id="gmail",
        ),
        pytest.param(
            M365,
            AuthenticationResults(
                "",  # Microsoft 365 writes no authserv-id: such a header can never count
                None,
                (
                    r("spf", "pass", ("smtp.mailfrom", "example.com")),
                    r("dkim", "pass", ("header.d", "example.com")),
                    r("dmarc", "pass", ("action", "none"), ("header.from", "example.com")),
                    r("compauth", "pass", reason="100"),
                ),
            ),
            id="microsoft-365",
        ),
        pytest.param(
            OPENDKIM,
            AuthenticationResults(
                "mail.example.org",
                None,
                (
                    r(
                        "dkim",
                        "pass",
                        ("header.d", "example.com"),
                        ("header.i", "@example.com"),
                        ("header.a", "rsa-sha256"),
                        ("header.s", "mail"),
                        ("header.b", "KbD8Qq2X"),
                    ),
                    r("dkim-atps", "neutral"),
                ),
            ),
            id="postfix-opendkim-comment-with-semicolon",
        ),
        pytest.param(
            OPENDMARC,
            AuthenticationResults(
                "mail.example.org", None, (r("dmarc", "fail", ("header.from", "example.com")),)
            ),
            id="postfix-opendmarc",
        ),
        pytest.param(
            RSPAMD,
            AuthenticationResults(
                "mx.example.org",
                None,
                (
                    r(
                        "dkim",
                        "pass",
                        ("header.d", "example.com"),
                        ("header.s", "dkim"),
                        ("header.b", "Ab1cD2eF"),
                    ),
                    r("spf", "pass", ("smtp.mailfrom", "alice@example.com")),
                    r("dmarc", "pass", ("header.from", "example.com")),
                ),
            ),
            id="rspamd",
        ),
        pytest.param(
            "example.com 1; none", AuthenticationResults("example.com", 1, ()), id="version-and-none"
        ),
        pytest.param(
            '"mx example" (our MX); DKIM/1 = PASS reason="good; signature" header.d="example.com"',
            AuthenticationResults(
                "mx example",
                None,
                (r("dkim", "pass", ("header.d", "example.com"), reason="good; signature"),),
            ),
            id="quoted-values-method-version-and-spaces",
        ),
        pytest.param(
            "mx.example.org; dkim=pass header.b=abc+/==; spf=pass smtp.mailfrom=x@example.com",
            AuthenticationResults(
                "mx.example.org",
                None,
                (
                    r("dkim", "pass", ("header.b", "abc+/==")),
                    r("spf", "pass", ("smtp.mailfrom", "x@example.com")),
                ),
            ),
            id="unquoted-base64-padding",
        ),
        pytest.param(
            "mx.example.org; ; garbage; =pass; dkim; spf=; dmarc=pass header.from=example.com",
            AuthenticationResults(
                "mx.example.org", None, (r("dmarc", "pass", ("header.from", "example.com")),)
            ),
            id="garbage-results-skipped",
        ),
        pytest.param("", None, id="empty"),
        pytest.param(";;;", None, id="no-authserv-id"),
        pytest.param("(only a comment)", None, id="only-a-comment"),
        pytest.param("= pass", None, id="no-id-no-method"),
        pytest.param(
            "mx.example.org (unterminated; dmarc=pass",
            AuthenticationResults("mx.example.org", None, ()),
            id="unterminated-comment",
        ),
    ],
)
def test_parse_authentication_results(value: str, expected: AuthenticationResults | None) -> None:
    assert parse_authentication_results(value) == expected


def test_the_parser_is_linear() -> None:
    """Quadratic work on these would take minutes; a real header is a few hundred characters."""
    for value in (
        "x; " + "a=" * 150_000,
        "x; " + "(" * 300_000,
        "x; dkim=pass " + "p=v " * 75_000,
        ";" * 300_000,
        "x; dkim=pass header.b=" + "=" * 300_000,
    ):
        started = time.monotonic()
        parse_authentication_results(value)
        assert time.monotonic() - started < 5, value[:20]


OURS = "mx.example.net"


def mail_with(*headers: str, from_addr: str = "kunde@customer.de"):
    return replace(
        make_mail(), from_addr=from_addr, headers={"authentication-results": headers} if headers else {}
    )


@pytest.mark.parametrize(
    ("headers", "from_addr", "verdict", "why"),
    [
        # DMARC decides when the domain has a policy
        (
            [f"{OURS}; dmarc=pass header.from=customer.de"],
            "kunde@customer.de",
            "pass",
            "dmarc=pass for customer.de",
        ),
        (
            [f"{OURS}; dmarc=fail (p=reject) header.from=customer.de"],
            "kunde@customer.de",
            "fail",
            "dmarc=fail",
        ),
        (
            [f"{OURS}; dmarc=temperror header.from=customer.de"],
            "kunde@customer.de",
            "fail",
            "dmarc=temperror",
        ),
        (["MX.Example.NET; dmarc=pass header.from=CUSTOMER.de"], "kunde@customer.de", "pass", "dmarc=pass"),
        (
            [f"{OURS}; dmarc=pass header.from=xn--mnchen-3ya.example"],
            "joerg@münchen.example",
            "pass",
            "dmarc=pass for xn--mnchen-3ya.example",
        ),
        # the server read another From than we did (the From-header differential)
        (
            [f"{OURS}; dmarc=pass header.from=evil.example"],
            "kunde@customer.de",
            "fail",
            "for evil.example, not",
        ),
        # only our server's headers count; a server's non-pass beats a pass written by anyone
        (
            ["mx.evil.example; dmarc=pass header.from=customer.de"],
            "kunde@customer.de",
            "fail",
            "no Authentication",
        ),
        (
            [f"{OURS}; dmarc=fail header.from=customer.de", f"{OURS}; dmarc=pass header.from=customer.de"],
            "kunde@customer.de",
            "fail",
            "dmarc=fail",
        ),
        ([M365], "kunde@example.com", "fail", "no Authentication-Results header of mx.example.net"),
        ([], "kunde@customer.de", "fail", "no Authentication-Results header of mx.example.net"),
        # without a DMARC policy: an aligned SPF or DKIM pass
        (
            [f"{OURS}; spf=pass smtp.mailfrom=bounce@mail.customer.de"],
            "kunde@customer.de",
            "pass",
            "spf=pass",
        ),
        ([f"{OURS}; dmarc=none; dkim=pass header.d=customer.de"], "kunde@customer.de", "pass", "dkim=pass"),
        ([f"{OURS}; dkim=pass header.i=@customer.de"], "kunde@sub.customer.de", "pass", "aligned"),
        (
            [f"{OURS}; dmarc=bestguesspass; dkim=pass header.d=ev.example; spf=softfail smtp.mailfrom=c.de"],
            "kunde@c.de",
            "fail",
            "no aligned SPF or DKIM pass for c.de (dmarc=bestguesspass, dkim=pass, spf=softfail)",
        ),
        ([f"{OURS}; dkim=pass header.d=customer.de.evil.example"], "kunde@customer.de", "fail", "no aligned"),
        ([f"{OURS}; dkim=pass header.d=de"], "kunde@customer.de", "fail", "no aligned"),
        ([f"{OURS}; spf=pass smtp.mailfrom=evil.example"], "kunde@customer.de", "fail", "no aligned"),
        ([f"{OURS}; none"], "kunde@customer.de", "fail", "(no result)"),
        ([f"{OURS}; ???"], "kunde@customer.de", "fail", "no aligned"),
        ([f"{OURS}; dmarc=pass header.from=customer.de"], "", "fail", "has no domain"),
    ],
)
def test_sender_verdict(headers: list[str], from_addr: str, verdict: str, why: str) -> None:
    check = check_sender(mail_with(*headers, from_addr=from_addr), OURS)
    assert check.verdict is Verification(verdict)
    assert why in check.reason


def test_without_authserv_id_the_from_is_taken_as_written() -> None:
    check = check_sender(mail_with("mx.evil.example; dmarc=fail header.from=customer.de"), None)
    assert check.verdict is Verification.UNCHECKED


def test_the_verdict_reads_the_headers_of_a_parsed_mail() -> None:
    raw = (
        b"Authentication-Results: mx.example.net;\r\n\tdkim=pass header.d=customer.de header.b=Ab/c=;\r\n"
        b"\tdmarc=pass (p=reject dis=none) header.from=customer.de\r\n"
        b"Authentication-Results: mx.evil.example; dmarc=fail\r\n"
        b"From: Kunde <kunde@customer.de>\r\nSubject: x\r\n\r\nHallo\r\n"
    )
    assert check_sender(parse_mail(raw), OURS).verdict is Verification.PASS
