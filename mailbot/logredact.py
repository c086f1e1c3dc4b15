"""Keep secrets and (when configured) customer addresses out of the logs.

Secrets are SecretStr everywhere and never formatted into messages; this filter is the second line:
any configured secret that still reaches a log line is replaced. With `[privacy] redact_addresses`,
e-mail addresses lose their local part ("k***@example.org"): the domain still helps debugging. The
same holds for an address percent-encoded in a URL ("k%40example.org", as a library's request log
prints a Jira customer search).

What a log line at INFO and above says about a mail is the mailbot's own words (ids, kinds, counts,
article ids, ticket references), never the mail's: `headline` keeps the part of a reason that mailbot
wrote and drops the part that quotes the mail or a server's answer to it (issue 15, "logs hold no
customer text"). The whole reason stays where an operator looks it up (`mailbot status`, `quarantine
show`) and at DEBUG.

A value from a mail that a message quotes (a domain, an address, a charset, a Message-ID) is
`quoted`: a mail with a megabyte header must not make a megabyte exception, log line, stored reason or
team mail, so a long value is cut with a visible "…" and its length.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

_ADDRESS = re.compile(r"(?<![\w.+-])([\w.+-]{1,64})(?:@|%40)([\w-]+(?:\.[\w-]+)+)", re.IGNORECASE)
MIN_SECRET = 4  # shorter "secrets" would redact ordinary words
_runtime_secrets: set[str] = set()  # secrets that appear while running (OAuth2 access tokens)


def redact_address(match: re.Match[str]) -> str:
    return f"{match.group(1)[0]}***@{match.group(2)}"


HEADLINE_CHARS = 160  # a reason's own words are short; a longer head is quoting something


def headline(reason: str) -> str:
    """The head of a reason that mailbot wrote, before the first ": " that introduces what it quotes.

    mailbot's reasons read "<what happened>: <the detail>", and the detail is where a mail's header, a
    parser's message about it or a server's reply to it appears ("unparseable: HeaderParseError: ...",
    "Jira refused creating the request (400): <Jira's words>"). The head alone says what happened.
    """
    head = reason.split(": ", 1)[0].strip()
    if len(head) > HEADLINE_CHARS:
        head = head[:HEADLINE_CHARS].rstrip() + " …"
    return head if head == reason.strip() else f"{head} […]"


QUOTE_CHARS = 80  # enough to recognise a value; a longer one is a hostile or broken header


def shortened(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` if it has at most `limit` characters, else its first `limit` with "…" and its length;
    for text that is shown as it is (an address in a log line, a library's message about a value)."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text)} characters)"


def quoted(value: str, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)`, as messages quote a value from a mail, at most about `limit` characters long:
    a longer one keeps its opening with "…" inside the quotes and says its length
    (`'\\xad\\xad…' (5011 characters)`). The cut counts the escaped form, so 80 soft hyphens
    (`\\xad`, four characters each) do not print 320."""
    if len(value) <= limit and len(whole := repr(value)) <= limit + 2:
        return whole
    opening = value[:limit]
    while len(shown := repr(opening)) > limit + 2:
        opening = opening[: len(opening) * (limit + 2) // len(shown)]
    return f"{shown[:-1]}…{shown[-1]} ({len(value)} characters)"


def mask_addresses(text: str) -> str:
    """Every e-mail address in `text` without its local part, as the logs show them when redacting."""
    return _ADDRESS.sub(redact_address, text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str], addresses: bool) -> None:
        super().__init__()
        self.secrets = sorted(
            {s for s in (*secrets, *_runtime_secrets) if len(s) >= MIN_SECRET}, key=len, reverse=True
        )
        self.addresses = addresses

    def replace_secret(self, new: str, old: str | None) -> None:
        kept = {s for s in self.secrets if s != old}
        self.secrets = sorted(kept | ({new} if len(new) >= MIN_SECRET else set()), key=len, reverse=True)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "[secret]")
        return _ADDRESS.sub(redact_address, text) if self.addresses else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = self.scrub(message)
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.scrub(record.exc_text)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


def register_secret(value: str, replaces: str | None = None) -> None:
    """A secret known only at run time (an OAuth2 access token): scrubbed from now on by every filter,
    installed or still to come. `replaces` (the token it succeeds) is dropped, so a long run does not
    collect every token it ever had."""
    _runtime_secrets.discard(replaces or "")
    if len(value) >= MIN_SECRET:
        _runtime_secrets.add(value)
    for handler in logging.getLogger().handlers:
        for redacting in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            redacting.replace_secret(value, replaces)


def install(secrets: Iterable[str], addresses: bool) -> RedactingFilter:
    """Put the filter on every handler of the root logger (filters on handlers see every record)."""
    redacting = RedactingFilter(secrets, addresses)
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redacting)
    return redacting
