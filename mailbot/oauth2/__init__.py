"""OAuth2 mailboxes (SASL XOAUTH2): access tokens for IMAP and SMTP from Microsoft 365 or Google.

The mail code asks `token_provider(...)` for the provider of its credential and logs in with
`access_token()`; when the server refuses that token it asks once more with `refresh()` and, refused
again, gives up with `refused_message()` (a TransientError: the pass is retried later, mail stays where
it is). There is never a fallback to a password.
"""

from mailbot.oauth2.registry import token_provider
from mailbot.oauth2.settings import OAuth2Settings, credential_problems, secret_values
from mailbot.oauth2.token import TokenError, TokenProvider


def refused_message(provider: TokenProvider, user: str, address: str) -> str:
    """The mail server refused a fresh token too: what happened and where to look."""
    return (
        f"OAuth2 token refused for {user} at {address} (provider {provider.description}): "
        f"re-consent / check app permissions; {provider.fix}"
    )


__all__ = [
    "OAuth2Settings",
    "TokenError",
    "TokenProvider",
    "credential_problems",
    "refused_message",
    "secret_values",
    "token_provider",
]
