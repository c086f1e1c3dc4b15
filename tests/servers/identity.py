"""A loopback identity provider for the OAuth2 mailboxes: Microsoft's and Google's token endpoints and
an RFC 7662 introspection endpoint for Dovecot's oauth2 passdb, all in one HTTPS server.

Real enough that msal and google-auth talk to it unchanged (an `authority` / `token_uri` pointing here):

- Microsoft identity platform v2.0: ``GET /<tenant>/v2.0/.well-known/openid-configuration`` (what msal's
  authority discovery reads) and ``POST /<tenant>/oauth2/v2.0/token`` with the client-credentials grant:
  a wrong secret is ``401 invalid_client`` (AADSTS7000215), a scope other than
  ``https://outlook.office365.com/.default`` is ``400 invalid_scope`` (AADSTS70011).
- Google's ``POST /google/token``: the JWT-bearer grant of a service account (RS256 signature checked
  against the key this stand-in made, ``aud`` = Google's token URI as documented, ``scope``; a subject
  the account is not delegated for is ``401 unauthorized_client``) and the refresh-token grant
  (``400 invalid_grant`` for an unknown or revoked refresh token).
- ``POST /introspect`` (form ``token=...``): ``{"active": true, "username": <mailbox>}`` while the token
  is issued, unexpired and not revoked, else ``{"active": false}`` (Dovecot then refuses the login).

Tokens are short-lived on request (``lifetime``), so expiry is tested in real time. Every token
request is recorded (``requests``) so a test can count fetches.
"""

from __future__ import annotations

import json
import secrets
import shutil
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from .common import LoopbackHttpServer, make_self_signed_cert

MICROSOFT_SCOPE = "https://outlook.office365.com/.default"
GOOGLE_SCOPE = "https://mail.google.com/"
GOOGLE_AUDIENCE = "https://oauth2.googleapis.com/token"  # Google's documented `aud`, wherever the POST goes
REVOKED = "Token has been expired or revoked."
CLIENT_ASSERTION = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class Issued:
    mailbox: str
    client: str  # the app, service account or OAuth client it was issued to
    expires_at: float
    revoked: bool = False


@dataclass
class _App:
    tenant: str
    secret: str
    mailbox: str  # the mailbox Exchange lets this app use
    lifetime: float | None = None
    certificate: str | None = None  # PEM of the certificate registered instead of a secret


@dataclass
class _ServiceAccount:
    public_key: str
    subjects: set[str]  # delegated mailboxes
    lifetime: float | None = None


class _Handler(BaseHTTPRequestHandler):
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        owner: IdentityStandIn = self.server.owner
        parts = self.path.strip("/").split("/")
        if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
            if parts[0] not in owner.tenants():
                self._send(
                    400, {"error": "invalid_tenant", "error_description": "AADSTS90002: Tenant not found"}
                )
                return
            base = f"{owner.base_url}/{parts[0]}"
            self._send(
                200,
                {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt"],
                },
            )
            return
        self._send(404, {"error": "not_found"})

    def do_POST(self) -> None:
        owner: IdentityStandIn = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
        parts = self.path.strip("/").split("/")
        if self.path == "/introspect":
            self._send(200, owner.introspect(form.get("token", "")))
        elif self.path == "/google/token":
            self._send(*owner.google_token(form))
        elif len(parts) == 4 and parts[1:] == ["oauth2", "v2.0", "token"]:
            self._send(*owner.microsoft_token(parts[0], form))
        else:
            self._send(404, {"error": "not_found"})


class IdentityStandIn(LoopbackHttpServer):
    handler = _Handler
    thread_name = "identity-stand-in"

    def __init__(self, lifetime: float = 3600) -> None:
        super().__init__()
        self.lifetime = lifetime
        # readable by Dovecot's auth process (it trusts the certificate for the introspection URL)
        self.directory = Path(tempfile.mkdtemp(prefix="mailbot-identity-"))
        self.directory.chmod(0o755)
        self.cafile, key = make_self_signed_cert(self.directory, "identity")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cafile, key)
        self.ssl_context = context
        self._lock = threading.Lock()
        self._apps: dict[str, _App] = {}
        self._accounts: dict[str, _ServiceAccount] = {}
        self._refresh: dict[str, tuple[str, str, str]] = {}  # refresh token -> client id, secret, user
        self._issued: dict[str, Issued] = {}
        self._revoked: set[str] = set()
        self.requests: list[tuple[str, str]] = []  # (grant, client or account) of every token request

    def stop(self) -> None:
        super().stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    @property
    def base_url(self) -> str:
        return f"https://{self.host}:{self.port}"

    @property
    def introspection_url(self) -> str:
        return f"{self.base_url}/introspect"

    @property
    def google_token_uri(self) -> str:
        return f"{self.base_url}/google/token"

    def authority(self, tenant: str) -> str:
        return f"{self.base_url}/{tenant}"

    # -- what a test registers ----------------------------------------------------------------------
    def add_microsoft_app(
        self,
        tenant: str,
        client_id: str,
        secret: str,
        mailbox: str,
        lifetime: float | None = None,
        certificate: str | None = None,
    ) -> None:
        """An Entra app with a client secret (or a registered `certificate`, PEM), allowed to use
        `mailbox`; its tokens live `lifetime` s."""
        with self._lock:
            self._apps[client_id] = _App(tenant, secret, mailbox.lower(), lifetime, certificate)

    def add_service_account(
        self, directory: Path, email: str, subjects: set[str], lifetime: float | None = None
    ) -> Path:
        """A service-account JSON key file (as Google hands it out) in `directory`, mode 600."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        public = (
            key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode()
        )
        with self._lock:
            self._accounts[email] = _ServiceAccount(public, {s.lower() for s in subjects}, lifetime)
        path = directory / "service-account.json"
        info = {
            "type": "service_account",
            "project_id": "mailbot-test",
            "private_key_id": secrets.token_hex(20),
            "private_key": private,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        path.write_text(json.dumps(info), encoding="utf-8")
        path.chmod(0o600)
        return path

    def add_refresh_token(self, client_id: str, client_secret: str, user: str) -> str:
        token = "1//" + secrets.token_urlsafe(40)
        with self._lock:
            self._refresh[token] = (client_id, client_secret, user.lower())
        return token

    def revoke(self, client: str) -> None:
        """Every token of `client` (app id, service account, OAuth client id) becomes inactive, as when the
        mailbox permission is removed: the token endpoint still issues tokens, which are inactive too
        until `reinstate(client)`."""
        with self._lock:
            self._revoked.add(client)
            for issued in self._issued.values():
                if issued.client == client:
                    issued.revoked = True

    def reinstate(self, client: str) -> None:
        with self._lock:
            self._revoked.discard(client)

    def fetches(self, client: str) -> int:
        """How many token requests `client` made."""
        with self._lock:
            return sum(1 for _grant, who in self.requests if who == client)

    def issued_for(self, mailbox: str) -> list[str]:
        with self._lock:
            return [token for token, issued in self._issued.items() if issued.mailbox == mailbox.lower()]

    def tenants(self) -> set[str]:
        with self._lock:
            return {app.tenant for app in self._apps.values()}

    # -- the endpoints ------------------------------------------------------------------------------
    def _issue(self, mailbox: str, client: str, scope: str, lifetime: float | None = None) -> dict[str, Any]:
        token = secrets.token_urlsafe(48)
        seconds = lifetime or self.lifetime
        with self._lock:
            revoked = client in self._revoked
            self._issued[token] = Issued(mailbox, client, time.time() + seconds, revoked=revoked)
        return {"token_type": "Bearer", "access_token": token, "expires_in": int(seconds), "scope": scope}

    def microsoft_token(self, tenant: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        client_id = form.get("client_id", "")
        with self._lock:
            self.requests.append((form.get("grant_type", ""), client_id))
            app = self._apps.get(client_id)
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type", "error_description": "AADSTS70003"}
        if app is None or app.tenant != tenant:
            return 400, {
                "error": "unauthorized_client",
                "error_description": f"AADSTS700016: Application with identifier '{client_id}' was not "
                f"found in the directory '{tenant}'.",
            }
        if form.get("client_assertion_type") == CLIENT_ASSERTION:
            refused = self._bad_assertion(app, client_id, f"{self.base_url}/{tenant}/oauth2/v2.0/token", form)
            if refused:
                return 401, {"error": "invalid_client", "error_description": refused}
        elif app.certificate is not None or not secrets.compare_digest(
            form.get("client_secret", ""), app.secret
        ):
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret "
                "being sent in the request is the client secret value, not the client secret ID.",
            }
        if form.get("scope") != MICROSOFT_SCOPE:
            return 400, {
                "error": "invalid_scope",
                "error_description": f"AADSTS70011: The provided value for scope {form.get('scope')} is "
                "not valid. Client credential flows must have a scope value with /.default suffixed.",
            }
        body = self._issue(app.mailbox, client_id, MICROSOFT_SCOPE, app.lifetime)
        body["ext_expires_in"] = body["expires_in"]
        del body["scope"]
        return 200, body

    @staticmethod
    def _bad_assertion(app: _App, client_id: str, audience: str, form: dict[str, str]) -> str | None:
        """Why a certificate's client assertion (RFC 7523, as Entra checks it) is refused, or None."""
        import base64

        import jwt  # PyJWT, which msal itself depends on
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes

        if app.certificate is None:
            return "AADSTS700027: no certificate is registered on the application"
        cert = x509.load_pem_x509_certificate(app.certificate.encode())
        thumbprint = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).rstrip(b"=").decode()
        assertion = form.get("client_assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            claims = jwt.decode(
                assertion,
                cert.public_key(),
                algorithms=["PS256", "RS256"],
                audience=audience,  # type: ignore[arg-type]
            )
        except jwt.PyJWTError as exc:
            return f"AADSTS700027: Client assertion failed signature validation ({exc})"
        if str(header.get("x5t#S256", "")).rstrip("=") != thumbprint:  # base64url, padded or not
            return (
                "AADSTS700027: The certificate with identifier used to sign the client assertion is not "
                "registered on application."
            )
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            return "AADSTS700023: client assertion iss/sub is not the client id"
        return None

    def google_token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        grant = form.get("grant_type", "")
        if grant == JWT_BEARER:
            return self._jwt_grant(form.get("assertion", ""))
        if grant == "refresh_token":
            with self._lock:
                self.requests.append((grant, form.get("client_id", "")))
                known = self._refresh.get(form.get("refresh_token", ""))
            if known is None or known[:2] != (form.get("client_id"), form.get("client_secret")):
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Token has been expired or revoked.",
                }
            return 200, self._issue(known[2], known[0], GOOGLE_SCOPE)
        return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type: " + grant}

    def _jwt_grant(self, assertion: str) -> tuple[int, dict[str, Any]]:
        from google.auth import exceptions, jwt

        try:
            email = str(jwt.decode(assertion, verify=False)["iss"])
        except (ValueError, KeyError, exceptions.GoogleAuthError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        with self._lock:
            self.requests.append((JWT_BEARER, email))
            account = self._accounts.get(email)
        if account is None:
            return 400, {"error": "invalid_grant", "error_description": "Invalid grant: account not found"}
        try:
            claims = jwt.decode(assertion, certs=account.public_key, audience=GOOGLE_AUDIENCE)
        except (ValueError, exceptions.GoogleAuthError):
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        subject = str(claims.get("sub", "")).lower()
        if GOOGLE_SCOPE not in str(claims.get("scope", "")).split() or subject not in account.subjects:
            return 401, {
                "error": "unauthorized_client",
                "error_description": "Client is unauthorized to retrieve access tokens using this method, "
                "or client not authorized for any of the scopes requested.",
            }
        body = self._issue(subject, email, GOOGLE_SCOPE, account.lifetime)
        del body["scope"]
        return 200, body

    def introspect(self, token: str) -> dict[str, Any]:
        with self._lock:
            issued = self._issued.get(token)
        if issued is None or issued.revoked or issued.expires_at <= time.time():
            return {"active": False}
        return {
            "active": True,
            "username": issued.mailbox,
            "exp": int(issued.expires_at),
            "token_type": "Bearer",
        }
