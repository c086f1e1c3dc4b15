"""A local stand-in for the Google Play Developer API's reviews (androidpublisher v3) and Google's token
endpoint, on 127.0.0.1 and a free port.

A loopback stand-in for the test suite and `mailbot demo`, never for production: it holds its accounts,
reviews and replies in memory and speaks plain HTTP on loopback only.

Why a fake and not mocks: the client is tested over real HTTP (the JWT-bearer grant, bearer tokens, query
strings, JSON, status codes, timeouts), and the test drives the store's side (new and edited reviews, a
clock that moves, outages, missing grants, quotas). Shapes and errors are those of Google's reference
(https://developers.google.com/android-publisher/api-ref/rest/v3/reviews and the reply guide; the
quirks as /work/shared/notes/app-store-review-apis.md section 2 lists them):

- ``POST /token`` (form ``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion``): the
  assertion must be RS256, signed with the key of a service account this stand-in made, ``iss`` its
  ``client_email``, ``aud`` this token URI, ``scope`` with the androidpublisher scope, ``iat``/``exp`` on
  the stand-in's clock and at most an hour apart; else 400 (``invalid_grant`` / ``invalid_scope``).
- ``GET /androidpublisher/v3/applications/{package}/reviews``: only reviews with a text whose
  ``lastModified`` is within the 7 days before the stand-in's clock, newest first, ``maxResults`` 10 by
  default and at most 100, ``token`` for the next page, ``translationLanguage`` (text translated as
  "[xx] ...", ``originalText`` kept), no ``reviews`` key when there are none. ``drop_page2_token``: page 2
  comes without ``tokenPagination`` (a documented quirk); ``null_page_info``: ``pageInfo`` is null.
- ``GET .../reviews/{id}``: one review (404 when unknown, without text or outside the 7 days: "You can
  retrieve only the reviews that users have created or modified within the last week").
- ``POST .../reviews/{id}:reply`` ``{"replyText"}``: 400 ``INVALID_ARGUMENT`` above 350 characters or when
  empty, HTML tags stripped, the ``developerComment`` stored or replaced, answer
  ``{"result":{"replyText","lastEdited":{"seconds","nanos"}}}``; 500 for a review older than 7 days.

Every API call needs a bearer token from ``/token`` that has not expired (401 ``UNAUTHENTICATED``); a
package the token's service account was not granted is 403 ``PERMISSION_DENIED``, an unknown one 404.
Quotas per package: 200 GET per rolling hour, 2,000 POST per rolling day (``get_quota``/``post_quota``),
429 ``RESOURCE_EXHAUSTED`` beyond. Test controls: ``new_service_account``, ``grant``/``revoke``,
``add_review``, ``edit_review``, ``set_now``/``advance``, ``fail_next``, ``hang_next``,
``expire_tokens``; ``received`` and ``tokens_issued`` for assertions.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .loopback import LoopbackHttpServer

SCOPE = "https://www.googleapis.com/auth/androidpublisher"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
API = "/androidpublisher/v3/applications"
WINDOW = timedelta(days=7)
REPLY_LIMIT = 350
TOKEN_LIFETIME = 3600
CLOCK_SKEW = 60  # seconds Google tolerates between the caller's clock and its own (about)
STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ABORTED",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
_TAG = re.compile(r"<[^>]*>")
_ROUTE = re.compile(rf"^{API}/(?P<package>[^/]+)/reviews(?:/(?P<review>[^/]+?)(?P<reply>:reply)?)?$")


def google_error(status: int, message: str, reason: str = "") -> dict[str, Any]:
    """Google's error document (https://cloud.google.com/apis/design/errors#http_mapping)."""
    error: dict[str, Any] = {
        "code": status,
        "message": message,
        "status": STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if reason:
        error["errors"] = [{"message": message, "domain": "androidpublisher", "reason": reason}]
    return {"error": error}


def timestamp(moment: datetime) -> dict[str, Any]:
    """protobuf's Timestamp in JSON as Google sends it: seconds an int64 (a string), nanos an int."""
    seconds = int(moment.timestamp())
    return {"seconds": str(seconds), "nanos": moment.microsecond * 1000}


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    form: dict[str, str]
    headers: dict[str, str]  # lower-case names


@dataclass
class Review:
    review_id: str
    author: str
    text: str  # "title\tbody", or "" for a rating without text (never listed)
    rating: int
    modified: datetime
    language: str = ""
    app_version: str = ""
    app_version_code: int = 0
    reply: str | None = None
    reply_modified: datetime | None = None


@dataclass
class _Account:
    public_key: Any
    packages: set[str] = field(default_factory=set)


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: str | None
    method: str | None
    path: str | None  # None: API paths only (never /token)

    def applies(self, method: str, path: str) -> bool:
        if self.method not in (None, method):
            return False
        return path.startswith(API) if self.path is None else path == self.path


class FakeGooglePlay(LoopbackHttpServer):
    """Apps, their reviews and the service accounts that may read them; state is guarded by one lock."""

    thread_name = "googleplay-stand-in"

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._release = threading.Event()
        self._offset = 0.0  # the stand-in's clock: real time + offset (set_now/advance)
        self._apps: dict[str, dict[str, Review]] = {}
        self._accounts: dict[str, _Account] = {}
        self._tokens: dict[str, tuple[str, float]] = {}  # access token -> (client_email, expires at)
        self._page_tokens: dict[str, int] = {}  # nextPageToken -> start index
        self._calls: dict[tuple[str, str], list[float]] = {}  # (package, GET|POST) -> times
        self._failures: list[_Failure] = []
        self._hang = 0
        self._ids = itertools.count(1)
        self._received: list[Received] = []
        self.tokens_issued = 0
        self.get_quota = 200  # per package and rolling hour
        self.post_quota = 2000  # per package and rolling day
        self.drop_page2_token = False
        self.null_page_info = False
        self.hang_seconds = 10.0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def token_uri(self) -> str:
        return f"{self.base_url}/token"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def api_calls(self, method: str | None = None) -> list[Received]:
        """The API requests received (not the token requests), optionally of one method."""
        return [r for r in self.received if r.path.startswith(API) and method in (None, r.method)]

    def before_stop(self) -> None:
        self._release.set()

    # --- the clock -------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        """The stand-in's clock in seconds: a client under test can use it as its own clock."""
        return time.time() + self._offset

    def set_now(self, moment: datetime) -> None:
        self._offset = moment.timestamp() - time.time()

    def advance(self, delta: timedelta | float) -> None:
        self._offset += delta.total_seconds() if isinstance(delta, timedelta) else delta

    # --- test controls ---------------------------------------------------------------------------

    def new_service_account(
        self,
        directory: Path,
        packages: tuple[str, ...] = (),
        email: str = "reviews@mailbot-test.iam.gserviceaccount.com",
    ) -> Path:
        """A service-account JSON key (as the Cloud console hands it out) in `directory`, mode 600,
        whose `token_uri` is this stand-in; its account is granted `packages` ("Reply to reviews")."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa

        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        with self._lock:
            self._accounts[email] = _Account(key.public_key(), set(packages))
            for package in packages:
                self._apps.setdefault(package, {})
        info = {
            "type": "service_account",
            "project_id": "mailbot-test",
            "private_key_id": secrets.token_hex(20),
            "private_key": private,
            "client_email": email,
            "client_id": str(secrets.randbelow(10**20)),
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": self.token_uri,
        }
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{email.split('@')[0]}-service-account.json"
        path.write_text(json.dumps(info, indent=2), encoding="utf-8")
        path.chmod(0o600)
        return path

    def grant(self, email: str, package: str) -> None:
        with self._lock:
            self._accounts[email].packages.add(package)
            self._apps.setdefault(package, {})

    def revoke(self, email: str, package: str) -> None:
        with self._lock:
            self._accounts[email].packages.discard(package)

    def add_app(self, package: str) -> None:
        with self._lock:
            self._apps.setdefault(package, {})

    def add_review(
        self,
        package: str,
        text: str = "Great app\tWorks well",
        rating: int = 5,
        *,
        review_id: str | None = None,
        author: str = "A Google user",
        modified: datetime | None = None,
        language: str = "en",
        app_version: str = "2.3.1",
        reply: str | None = None,
    ) -> str:
        """A review (`text` "title\\tbody"; "" for a rating without text); `modified` defaults to now."""
        moment = modified or self.now()
        with self._lock:
            rid = review_id or f"gp:AOqpTO{next(self._ids):06d}" + secrets.token_hex(4)
            self._apps.setdefault(package, {})[rid] = Review(
                rid,
                author,
                text,
                rating,
                moment,
                language,
                app_version,
                100 + next(self._ids),
                reply,
                moment if reply is not None else None,
            )
        return rid

    def edit_review(
        self, package: str, review_id: str, *, text: str | None = None, rating: int | None = None
    ) -> None:
        """The reviewer changed the review: new text and/or rating, `lastModified` now; the developer's
        reply stays (Google keeps it and shows it as a reply to an earlier version)."""
        with self._lock:
            review = self._apps[package][review_id]
            review.text = review.text if text is None else text
            review.rating = review.rating if rating is None else rating
            review.modified = self.now()

    def review(self, package: str, review_id: str) -> Review:
        with self._lock:
            return self._apps[package][review_id]

    def fail_next(
        self,
        status: int,
        times: int = 1,
        *,
        retry_after: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next `times` matching requests (after a valid token; `path` None: API paths only, "/token"
        for the token endpoint) are answered with `status` in Google's error format."""
        with self._lock:
            self._failures.append(_Failure(status, times, retry_after, method, path))

    def hang_next(self) -> None:
        """The next API request is carried out, then its answer is held back (`hang_seconds`, or until
        the stand-in stops): the client times out without knowing whether a reply was stored."""
        with self._lock:
            self._hang += 1

    def expire_tokens(self) -> None:
        """Every access token issued so far is expired (the API answers them 401)."""
        with self._lock:
            self._tokens = {t: (email, 0.0) for t, (email, _) in self._tokens.items()}

    def review_json(self, package: str, review_id: str, translation: str = "") -> dict[str, Any]:
        """The `Review` resource exactly as the API serves it."""
        with self._lock:
            return _review_dto(self._apps[package][review_id], translation)

    # --- the token endpoint ----------------------------------------------------------------------

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        import jwt

        if form.get("grant_type") != JWT_BEARER:
            return 400, {"error": "unsupported_grant_type", "error_description": "Invalid grant_type"}
        assertion = form.get("assertion", "")
        try:
            header = jwt.get_unverified_header(assertion)
            email = str(jwt.decode(assertion, options={"verify_signature": False}).get("iss", ""))
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: malformed assertion"}
        account = self._accounts.get(email)
        if account is None or header.get("alg") != "RS256":
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        try:
            claims = jwt.decode(
                assertion,
                account.public_key,
                algorithms=["RS256"],
                audience=self.token_uri,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.InvalidAudienceError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT: audience mismatch"}
        except jwt.PyJWTError:
            return 400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}
        now = self.timestamp()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int | float)
            or not isinstance(exp, int | float)
            or iat > now + CLOCK_SKEW
            or exp < now - CLOCK_SKEW
            or exp - iat > TOKEN_LIFETIME
        ):
            return 400, {
                "error": "invalid_grant",
                "error_description": "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                "reasonable timeframe. Check your iat and exp values in the JWT claim.",
            }
        if SCOPE not in str(claims.get("scope", "")).split():
            return 400, {
                "error": "invalid_scope",
                "error_description": "Invalid OAuth scope or ID token audience provided.",
            }
        token = "ya29." + secrets.token_urlsafe(60)
        self._tokens[token] = (email, now + TOKEN_LIFETIME)
        self.tokens_issued += 1
        return 200, {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"}

    # --- the API ---------------------------------------------------------------------------------

    def _caller(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        found = self._tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if found is None or found[1] <= self.timestamp():
            return None
        return found[0]

    def _over_quota(self, package: str, method: str) -> bool:
        window, limit = (3600.0, self.get_quota) if method == "GET" else (86400.0, self.post_quota)
        now = self.timestamp()
        calls = [t for t in self._calls.get((package, method), []) if t > now - window]
        if len(calls) >= limit:
            self._calls[(package, method)] = calls
            return True
        self._calls[(package, method)] = [*calls, now]
        return False

    def _route(
        self, method: str, path: str, query: dict[str, list[str]], body: Any, email: str
    ) -> tuple[int, Any]:
        match = _ROUTE.match(path)
        if match is None:
            return 404, google_error(404, f"Method not found: {method} {path}")
        package = unquote(match.group("package"))
        if package not in self._apps:
            return 404, google_error(
                404, "No application was found for the given package name.", "applicationNotFound"
            )
        if package not in self._accounts[email].packages:
            return 403, google_error(
                403,
                "The current user has insufficient permissions to perform the requested operation.",
                "permissionDenied",
            )
        review_id, reply = match.group("review"), match.group("reply")
        wanted = (method, review_id is not None, reply is not None)
        if wanted not in {("GET", False, False), ("GET", True, False), ("POST", True, True)}:
            return 404, google_error(404, f"Method not found: {method} {path}")
        if self._over_quota(package, method):
            return 429, google_error(
                429,
                f"Quota exceeded for quota metric 'Reviews {'read' if method == 'GET' else 'write'} "
                "requests' "
                f"of service 'androidpublisher.googleapis.com' for package {package}.",
                "rateLimitExceeded",
            )
        reviews = self._apps[package]
        if review_id is None:
            return self._list(reviews, query)
        review = reviews.get(unquote(review_id))
        if review is None or not review.text:
            return 404, google_error(404, "No review was found for the given review id.", "notFound")
        recent = review.modified > self.now() - WINDOW
        if method == "GET":
            if not recent:
                return 404, google_error(404, "No review was found for the given review id.", "notFound")
            return 200, _review_dto(review, query.get("translationLanguage", [""])[0])
        if not recent:  # googleapis/google-api-java-client#1134
            return 500, google_error(500, "Internal error encountered.")
        return self._reply(review, body)

    def _list(self, reviews: dict[str, Review], query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            size = int(query.get("maxResults", ["10"])[0])
        except ValueError:
            return 400, google_error(400, "Invalid value for maxResults.", "invalid")
        if not 1 <= size <= 100:
            return 400, google_error(400, "maxResults must be between 1 and 100.", "invalid")
        start = 0
        if "token" in query:
            if query["token"][0] not in self._page_tokens:
                return 400, google_error(400, "Invalid pagination token.", "invalid")
            start = self._page_tokens[query["token"][0]]
        since = self.now() - WINDOW
        listed = sorted(
            (r for r in reviews.values() if r.text and r.modified > since),
            key=lambda r: r.modified,
            reverse=True,
        )
        page = listed[start : start + size]
        if not page:
            return 200, {}
        translation = query.get("translationLanguage", [""])[0]
        answer: dict[str, Any] = {"reviews": [_review_dto(r, translation) for r in page]}
        answer["pageInfo"] = (
            None
            if self.null_page_info
            else {"totalResults": len(listed), "resultPerPage": size, "startIndex": start}
        )
        if start + size < len(listed) and not (self.drop_page2_token and start > 0):
            token = base64.urlsafe_b64encode(secrets.token_bytes(12)).decode()
            self._page_tokens[token] = start + size
            answer["tokenPagination"] = {"nextPageToken": token}
        return 200, answer

    def _reply(self, review: Review, body: Any) -> tuple[int, Any]:
        text = body.get("replyText") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            return 400, google_error(400, "Reply text must not be empty.", "invalid")
        if len(text) > REPLY_LIMIT:
            return 400, google_error(
                400, f"Reply text is too long (max {REPLY_LIMIT} characters).", "invalid"
            )
        review.reply = _TAG.sub("", text)
        review.reply_modified = self.now()
        return 200, {"result": {"replyText": review.reply, "lastEdited": timestamp(review.reply_modified)}}

    # --- called by the handler -------------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        content_type = headers.get("content-type", "")
        form = (
            {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
            if "form" in content_type
            else {}
        )
        try:
            body = json.loads(raw) if raw and "json" in content_type else None
        except ValueError:
            body = None
        with self._lock:
            self._received.append(Received(method, parts.path, query, body, form, headers))
            if parts.path == "/token" and method == "POST":
                failure = self._take_failure(method, parts.path)
                if failure is not None:
                    return failure
                status, payload = self._token(form)
                return status, {"Cache-Control": "no-store"}, payload
            email = self._caller(headers)
            if email is None:
                return (
                    401,
                    {"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
                    google_error(
                        401,
                        "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                        "login cookie or other valid authentication credential.",
                    ),
                )
            failure = self._take_failure(method, parts.path)
            if failure is not None:
                return failure
            status, payload = self._route(method, parts.path, query, body, email)
            hang = self._hang > 0
            if hang:
                self._hang -= 1
        if hang:
            self._release.wait(self.hang_seconds)
        return status, {}, payload

    def _take_failure(self, method: str, path: str) -> tuple[int, dict[str, str], Any] | None:
        failure = next((f for f in self._failures if f.applies(method, path)), None)
        if failure is None:
            return None
        failure.remaining -= 1
        if failure.remaining == 0:
            self._failures.remove(failure)
        extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        if path == "/token":
            return (
                failure.status,
                extra,
                {"error": "invalid_grant", "error_description": f"simulated {failure.status}"},
            )
        return failure.status, extra, google_error(failure.status, f"simulated {failure.status}")


def _review_dto(review: Review, translation: str = "") -> dict[str, Any]:
    user: dict[str, Any] = {
        "text": f"[{translation}] {review.text}" if translation else review.text,
        "lastModified": timestamp(review.modified),
        "starRating": review.rating,
        "reviewerLanguage": review.language,
        "device": "a10",
        "androidOsVersion": 34,
        "appVersionCode": review.app_version_code,
        "appVersionName": review.app_version,
        "thumbsUpCount": 0,
        "thumbsDownCount": 0,
        "deviceMetadata": {"productName": "a10 (Galaxy A10)", "manufacturer": "Samsung", "ramMb": 2048},
    }
    if translation:
        user["originalText"] = review.text
    if not review.language:
        del user["reviewerLanguage"]  # "May be absent."
    comments: list[dict[str, Any]] = [{"userComment": user}]
    if review.reply is not None and review.reply_modified is not None:
        comments.append(
            {"developerComment": {"text": review.reply, "lastModified": timestamp(review.reply_modified)}}
        )
    return {"reviewId": review.review_id, "authorName": review.author, "comments": comments}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    wbufsize = -1

    def _serve(self) -> None:
        fake: FakeGooglePlay = self.server.owner  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = fake._handle(self.command, self.path, headers, raw)
        data = json.dumps(payload).encode()
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        with contextlib.suppress(OSError):  # the client gave up (hang_next)
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


FakeGooglePlay.handler = _Handler
