"""Google Workspace: tokens from a service account with domain-wide delegation, or from a user's
refresh token (google-auth).

Domain-wide delegation: the Workspace admin authorises the service account's client id for the scope
https://mail.google.com/ (Security > API controls); the account then acts as `subject`, the mailbox.
A refresh token comes from a user's consent; an OAuth app left in "Testing" issues refresh tokens that
expire after 7 days, which looks exactly like a revoked one.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from mailbot.oauth2.microsoft import short_error
from mailbot.oauth2.settings import GOOGLE_SCOPE, GOOGLE_TOKEN_URI, OAuth2Settings
from mailbot.oauth2.token import REFRESH_MARGIN_SECONDS, TokenError, TokenProvider


class GoogleProvider(TokenProvider):
    def __init__(
        self,
        oauth: OAuth2Settings,
        section: str,
        mailbox: str,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(clock=clock, margin=margin)
        self.oauth = oauth
        self.section = section
        self.subject = oauth.subject or mailbox
        self.env = os.environ if env is None else env
        self.scope = oauth.scope or GOOGLE_SCOPE
        self._credentials: Any = None
        self._request: Any = None

    @property
    def description(self) -> str:
        o = self.oauth
        if o.service_account_file is not None:
            return f"google, service account {self._account_name()} as {self.subject}"
        source = o.authorized_user_file or f"client {o.client_id}"
        return f"google, refresh token ({source})"

    @property
    def fix(self) -> str:
        if self.oauth.service_account_file is not None:
            return (
                "in the Google admin console (Security > API controls > Domain-wide delegation) check that "
                f"the service account's client id is authorised for {self.scope}, and that {self.subject} "
                "exists and has IMAP enabled"
            )
        return (
            "the user's consent was withdrawn or its refresh token expired (an OAuth app in 'Testing' "
            "issues refresh tokens for 7 days only): get a new refresh token"
        )

    def _account_name(self) -> str:
        path = self.oauth.service_account_file
        try:
            return str(json.loads(path.read_text(encoding="utf-8"))["client_email"]) if path else "?"
        except (OSError, ValueError, KeyError, TypeError):
            return str(path)

    def _build(self) -> Any:
        """The google-auth credentials object, made once (its key is parsed once)."""
        if self._credentials is not None:
            return self._credentials
        from google.oauth2 import credentials, service_account  # only for Google mailboxes

        o = self.oauth
        token_uri = o.token_uri or GOOGLE_TOKEN_URI
        try:
            if o.service_account_file is not None:
                info = json.loads(o.service_account_file.read_text(encoding="utf-8"))
                built: Any = service_account.Credentials.from_service_account_info(
                    info, scopes=[self.scope], subject=self.subject
                ).with_token_uri(token_uri)
            elif o.authorized_user_file is not None:
                info = json.loads(o.authorized_user_file.read_text(encoding="utf-8"))
                built = credentials.Credentials.from_authorized_user_info(info, scopes=[self.scope])
                built = built.with_token_uri(token_uri) if o.token_uri else built
            else:
                built = credentials.Credentials(
                    None,
                    refresh_token=self.env.get(o.refresh_token_variable(self.section), ""),
                    token_uri=token_uri,
                    client_id=o.client_id,
                    client_secret=self.env.get(o.client_secret_variable(self.section), ""),
                    scopes=[self.scope],
                )
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise TokenError(
                f"OAuth2 credential of [{self.section}.oauth2] unusable ({self.description}): "
                f"{short_error(exc)}; check the file (as downloaded from Google) or the variables"
            ) from exc
        self._credentials = built
        return built

    def _transport(self) -> Any:
        if self._request is None:
            from google.auth.transport.requests import Request

            from mailbot.oauth2.http import token_session

            request = Request(token_session(self.oauth.cafile, self.oauth.timeout_seconds))
            timeout = self.oauth.timeout_seconds

            def bounded(*args: Any, **kwargs: Any) -> Any:  # google-auth passes its own 120 s
                return request(*args, **{**kwargs, "timeout": timeout})

            self._request = bounded
        return self._request

    def _fetch(self) -> tuple[str, float]:
        from google.auth import exceptions

        built = self._build()
        try:
            built.refresh(self._transport())
        except exceptions.RefreshError as exc:
            raise TokenError(
                f"OAuth2 token refused by Google ({self.description}): {short_error(exc)}; {self.fix}"
            ) from exc
        except exceptions.GoogleAuthError as exc:
            raise TokenError(f"OAuth2 token request failed ({self.description}): {short_error(exc)}") from exc
        if not built.token:
            raise TokenError(f"OAuth2: Google answered without a token ({self.description})")
        lifetime = REFRESH_MARGIN_SECONDS
        if built.expiry is not None:  # naive UTC, google-auth's convention
            lifetime = (built.expiry.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()
        return str(built.token), max(lifetime, 0.0)
