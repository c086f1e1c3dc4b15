"""Microsoft 365: an Entra app's client-credentials token (msal), for a mailbox the app may use.

The app needs the application permissions IMAP.AccessAsApp / SMTP.SendAsApp with admin consent in the
client's tenant, and Exchange's permission on the one mailbox (Add-MailboxPermission, or RBAC for
Applications scoped to it). One msal application per credential: its authority discovery runs once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import Any

from mailbot.oauth2.settings import MICROSOFT_AUTHORITY, MICROSOFT_SCOPE, OAuth2Settings
from mailbot.oauth2.token import REFRESH_MARGIN_SECONDS, TokenError, TokenProvider


class MicrosoftProvider(TokenProvider):
    def __init__(
        self,
        oauth: OAuth2Settings,
        section: str,
        env: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        super().__init__(clock=clock, margin=margin)
        assert oauth.tenant is not None and oauth.client_id is not None  # OAuth2Settings checks them
        self.oauth = oauth
        self.section = section
        self.env = os.environ if env is None else env
        self.authority = oauth.authority or MICROSOFT_AUTHORITY.format(tenant=oauth.tenant)
        self.scope = oauth.scope or MICROSOFT_SCOPE
        self._app: Any = None

    @property
    def description(self) -> str:
        o = self.oauth
        return f"microsoft, tenant {o.tenant}, app {o.client_id}, {o.kind}, authority {self.authority}"

    @property
    def fix(self) -> str:
        return (
            "in the client's Entra admin center check the app's API permissions IMAP.AccessAsApp / "
            "SMTP.SendAsApp (admin consent granted) and, in Exchange Online, the app's service principal "
            "and its mailbox permission (Add-MailboxPermission) on this mailbox"
        )

    def _credential(self) -> str | dict[str, Any]:
        o = self.oauth
        if o.certificate_file is None:
            return self.env.get(o.client_secret_variable(self.section), "")
        if o.certificate_file.suffix.lower() in (".pfx", ".p12"):
            credential: dict[str, Any] = {"private_key_pfx_path": str(o.certificate_file)}
        else:
            pem = o.certificate_file.read_text(encoding="ascii")
            # msal takes the SHA-256 thumbprint from the certificate next to the key
            credential = {"private_key": pem, "public_certificate": pem}
        if o.certificate_passphrase_env:
            credential["passphrase"] = self.env.get(o.certificate_passphrase_env, "")
        return credential

    def _application(self) -> Any:
        if self._app is None:
            import msal  # imported here: only installations with a Microsoft mailbox pay for it

            from mailbot.oauth2.http import token_session

            o = self.oauth
            try:
                self._app = msal.ConfidentialClientApplication(
                    o.client_id,
                    client_credential=self._credential(),
                    authority=self.authority,
                    # a sovereign cloud or a stand-in is known to whoever configured `authority`
                    validate_authority=o.authority is None,
                    instance_discovery=o.authority is None,
                    http_client=token_session(o.cafile, o.timeout_seconds),
                )
            except Exception as exc:  # discovery of the authority failed: network, TLS, unknown tenant
                raise TokenError(f"OAuth2 ({self.description}): {short_error(exc)}") from exc
        return self._app

    def _fetch(self) -> tuple[str, float]:
        app = self._application()
        # our cache decides when a token is due; msal's own would hand back the token just refused
        app.remove_tokens_for_client()
        try:
            result = app.acquire_token_for_client(scopes=[self.scope])
        except Exception as exc:
            raise TokenError(f"OAuth2 token request failed ({self.description}): {short_error(exc)}") from exc
        if "access_token" not in result:
            error = result.get("error", "no access_token in the answer")
            description = str(result.get("error_description", "")).splitlines()[0:1]
            raise TokenError(
                f"OAuth2 token refused by Microsoft ({self.description}): {error}"
                f"{': ' + description[0] if description else ''}; check tenant, client_id and the "
                f"{self.oauth.kind} (an expired secret stops mail: a certificate lasts longer)"
            )
        return str(result["access_token"]), float(result.get("expires_in", REFRESH_MARGIN_SECONDS))


def short_error(exc: BaseException, limit: int = 300) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
