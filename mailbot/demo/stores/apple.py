"""A local stand-in for App Store Connect's customer-review API, on 127.0.0.1 and a free port.

A loopback stand-in for the test suite and `mailbot demo`, never for production: it holds its keys,
reviews and replies in memory and speaks plain HTTP on loopback only.

Why a fake and not mocks: the client is tested over real HTTP (bearer JWT, query strings, JSON:API
bodies, status codes, rate-limit headers, timeouts). It behaves like the documented service
(docs in /work/shared/notes/app-store-review-apis.md, section 1; shapes in `apple_shapes`):

- Auth: every request needs ``Authorization: Bearer <JWT>``: header ``alg`` ES256, ``typ`` JWT, a
  ``kid`` the stand-in knows; signature checked with that key's public key; ``aud`` appstoreconnect-v1;
  ``exp`` after now, ``exp - iat`` and ``exp - now`` at most 1200 s; a team key's ``iss`` is its issuer
  id, an individual key (``issuer_id=None``) sends ``sub: "user"`` and no ``iss``. Anything else is
  401 NOT_AUTHORIZED. Every distinct token presented is in ``tokens_seen``.
- Access: a key sees all apps (team key) or the apps given (individual key); another app, or a key
  whose role may not handle reviews, is 403 FORBIDDEN_ERROR; ``agreements_missing = True`` makes every
  call 403 FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED.
- ``GET /v1/apps/{id}/customerReviews``: ``sort`` (±createdDate, ±rating), ``limit`` (default 50,
  max 200, 400 above), ``filter[rating]``, ``filter[territory]``, ``exists[publishedResponse]`` (only
  PUBLISHED responses count), ``include=response`` (``included[]``), an opaque ``cursor`` in the
  absolute ``links.next``, ``meta.paging``; unknown parameters are 400 PARAMETER_ERROR.ILLEGAL.
- ``GET /v1/customerReviews/{id}``, ``GET /v1/customerReviews/{id}/response`` (404 when none),
  ``POST /v1/customerReviewResponses`` (strict body check, 409 with ``source.pointer``; 404 unknown
  review; an existing response is overwritten and keeps its id; 201 PENDING_PUBLISH),
  ``GET`` and ``DELETE /v1/customerReviewResponses/{id}`` (204).
- Quota: ``X-Rate-Limit: user-hour-lim:N;user-hour-rem:M;`` on every answer; each authorised call
  spends one; at zero 429 RATE_LIMIT_EXCEEDED (one budget: the stand-in models one key's hour).

Test controls: ``new_key``, ``add_app``, ``add_review``, ``edit_review``, ``publish_pending``,
``set_quota``, ``fail_next``, ``hang_next`` (the request is applied, then its answer is held past the
client's timeout), ``received``, ``tokens_seen``; ``clock`` is the instant tokens are checked against
(a ``MovableClock`` shared with the client lets tests move time).
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from .apple_shapes import Response, Review, create_request_problem, error, response_dto, review_dto
from .loopback import LoopbackHttpServer

AUDIENCE = "appstoreconnect-v1"
MAX_LIFETIME = 1200  # seconds: "tokens that have an expiration time greater than 20 minutes are rejected"
CLOCK_SKEW = 60  # an `iat` this far in the future is still accepted
MAX_LIMIT, DEFAULT_LIMIT = 200, 50
LIST_PARAMETERS = {
    "sort", "limit", "cursor", "include", "filter[rating]", "filter[territory]", "exists[publishedResponse]",
    "fields[customerReviews]", "fields[customerReviewResponses]",
}  # fmt: skip
SORTS = ("createdDate", "-createdDate", "rating", "-rating")
TERRITORY = re.compile(r"^[A-Z]{3}$")
HOLD_SECONDS = 10.0  # a hung answer is held this long (or until stop()): past any client's timeout


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any  # the parsed JSON body, or None
    headers: dict[str, str]  # lower-case names
    raw: bytes = b""


@dataclass
class _Key:
    public_key: ec.EllipticCurvePublicKey
    issuer_id: str | None  # None: an individual key (`sub: "user"`)
    apps: frozenset[str] | None  # None: every app (team keys)
    reviews_allowed: bool


@dataclass
class _Failure:
    status: int
    remaining: int
    path_contains: str | None
    code: str | None
    retry_after: str | None


class MovableClock:
    """A clock tests move by hand; give the same one to the stand-in and the client."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime.now(UTC).replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def new_private_key_pem() -> str:
    """A fresh EC P-256 key as App Store Connect's `.p8` download holds it (PKCS#8 PEM), made per run."""
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


class FakeAppStoreConnect(LoopbackHttpServer):
    """Apps, reviews and responses of one App Store Connect account; state is guarded by one lock."""

    thread_name = "appstore-stand-in"

    def __init__(self, *, clock: Callable[[], datetime] | None = None) -> None:
        super().__init__()
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.agreements_missing = False
        self._lock = threading.Lock()
        self._keys: dict[str, _Key] = {}
        self._apps: set[str] = set()
        self._reviews: dict[str, Review] = {}
        self._responses: dict[str, Response] = {}  # response id -> response
        self._received: list[Received] = []
        self._tokens: list[str] = []
        self._failures: list[_Failure] = []
        self._hang: list[str | None] = []  # path fragments of requests to hang (None: any)
        self._release = threading.Event()
        self._quota = [3500, 3500]  # limit, remaining
        self._numbers = itertools.count(1)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def before_stop(self) -> None:
        self._release.set()

    # --- the test's side -----------------------------------------------------------------------

    def new_key(
        self,
        key_id: str,
        *,
        issuer_id: str | None = None,
        apps: set[str] | None = None,
        reviews_allowed: bool = True,
    ) -> str:
        """Register a new API key and return its private key PEM (what the `.p8` file holds).

        `issuer_id` set: a team key (all apps); None: an individual key, limited to `apps` if given."""
        pem = new_private_key_pem()
        private = serialization.load_pem_private_key(pem.encode(), None)
        assert isinstance(private, ec.EllipticCurvePrivateKey)
        with self._lock:
            self._keys[key_id] = _Key(
                private.public_key(), issuer_id, None if apps is None else frozenset(apps), reviews_allowed
            )
        return pem

    def add_app(self, app_id: str) -> None:
        with self._lock:
            self._apps.add(app_id)

    def add_review(
        self,
        app_id: str,
        *,
        rating: int = 5,
        title: str = "",
        body: str = "",
        nickname: str = "Reviewer",
        created: datetime | None = None,
        territory: str = "USA",
        review_id: str | None = None,
    ) -> str:
        """Seed a customer review (created now by the stand-in's clock unless given); returns its id."""
        with self._lock:
            self._apps.add(app_id)
            number = next(self._numbers)
            rid = review_id or f"{number:08x}-b08c-0014-729e-fbd500000000"
            self._reviews[rid] = Review(
                rid, app_id, rating, title, body, nickname, created or self.clock(), territory
            )
            return rid

    def edit_review(
        self, review_id: str, *, body: str | None = None, rating: int | None = None, title: str | None = None
    ) -> None:
        """The customer changes the review: same id and createdDate, new text (Apple has no edit date)."""
        with self._lock:
            review = self._reviews[review_id]
            review.body = review.body if body is None else body
            review.rating = review.rating if rating is None else rating
            review.title = review.title if title is None else title

    def publish_pending(self) -> int:
        """Apple's screening is done: every PENDING_PUBLISH response becomes PUBLISHED; returns how many."""
        with self._lock:
            pending = [r for r in self._responses.values() if r.state == "PENDING_PUBLISH"]
            for response in pending:
                response.state = "PUBLISHED"
            return len(pending)

    def response_of(self, review_id: str) -> Response | None:
        with self._lock:
            return self._reviews[review_id].response

    def set_quota(self, limit: int, remaining: int) -> None:
        with self._lock:
            self._quota = [limit, remaining]

    def fail_next(
        self,
        status: int = 503,
        *,
        path_contains: str | None = None,
        count: int = 1,
        code: str | None = None,
        retry_after: str | None = None,
    ) -> None:
        """Answer the next `count` authorised requests (whose path contains `path_contains`) with `status`."""
        with self._lock:
            self._failures.append(_Failure(status, count, path_contains, code, retry_after))

    def hang_next(self, path_contains: str | None = None) -> None:
        """Apply the next request (whose path contains `path_contains`), then hold its answer past the
        client's timeout: the write happened, but the client does not know it."""
        with self._lock:
            self._hang.append(path_contains)

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def calls(self, method: str, path_contains: str) -> list[Received]:
        return [r for r in self.received if r.method == method and path_contains in r.path]

    @property
    def tokens_seen(self) -> list[str]:
        """Every distinct bearer token presented, in the order first seen."""
        with self._lock:
            return list(self._tokens)

    # --- auth, access, quota (lock held) -------------------------------------------------------

    def _authorise(self, headers: dict[str, str]) -> _Key | None:
        authorization = headers.get("authorization", "")
        if not authorization.startswith("Bearer "):
            return None
        token = authorization.removeprefix("Bearer ").strip()
        if token not in self._tokens:
            self._tokens.append(token)
        try:
            header = jwt.get_unverified_header(token)
            key = self._keys.get(str(header.get("kid")))
            if key is None or header.get("alg") != "ES256" or header.get("typ") != "JWT":
                return None
            claims = jwt.decode(
                token,
                key.public_key,
                algorithms=["ES256"],
                audience=AUDIENCE,
                options={"require": ["exp", "iat", "aud"], "verify_exp": False, "verify_iat": False},
            )
        except jwt.PyJWTError:
            return None
        now = self.clock().timestamp()
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int | float) or not isinstance(iat, int | float):
            return None
        if exp <= now or exp - iat > MAX_LIFETIME or exp - now > MAX_LIFETIME or iat > now + CLOCK_SKEW:
            return None
        if key.issuer_id is not None:
            return key if claims.get("iss") == key.issuer_id else None
        return key if claims.get("sub") == "user" and "iss" not in claims else None

    def _denied(self, key: _Key, app_id: str) -> tuple[int, Any] | None:
        if not key.reviews_allowed or (key.apps is not None and app_id not in key.apps):
            return 403, error(403, "FORBIDDEN_ERROR")
        return None

    def _rate_header(self) -> dict[str, str]:
        return {"X-Rate-Limit": f"user-hour-lim:{self._quota[0]};user-hour-rem:{self._quota[1]};"}

    # --- routes (lock held) --------------------------------------------------------------------

    def _route(
        self, key: _Key, method: str, path: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if len(parts) == 4 and parts[:2] == ["v1", "apps"] and parts[3] == "customerReviews":
            if method != "GET":
                return 405, error(405, "METHOD_NOT_ALLOWED", "The request method is not allowed here.")
            return self._list(key, parts[2], query)
        if len(parts) in (3, 4) and parts[:2] == ["v1", "customerReviews"]:
            review = self._reviews.get(parts[2])
            if review is None:
                return 404, error(
                    404, "NOT_FOUND", f"There is no resource of type 'customerReviews' with id '{parts[2]}'"
                )
            denied = self._denied(key, review.app_id)
            if denied or method != "GET":
                return denied or (
                    405,
                    error(405, "METHOD_NOT_ALLOWED", "The request method is not allowed here."),
                )
            if len(parts) == 3:
                include = query.get("include", [""])[0] == "response"
                document: dict[str, Any] = {
                    "data": review_dto(self.base_url, review, with_response_data=include)
                }
                if include and review.response is not None:
                    document["included"] = [response_dto(self.base_url, review.response)]
                return 200, document | {"links": {"self": f"{self.base_url}{path}"}}
            if parts[3] != "response":
                return 404, error(
                    404, "NOT_FOUND", "The path provided does not match a defined resource type."
                )
            if review.response is None:
                return 404, error(404, "NOT_FOUND", f"There is no response for the review '{review.id}'")
            return 200, {
                "data": response_dto(self.base_url, review.response),
                "links": {"self": f"{self.base_url}{path}"},
            }
        if parts[:2] == ["v1", "customerReviewResponses"] and len(parts) == 2 and method == "POST":
            return self._create(key, body)
        if parts[:2] == ["v1", "customerReviewResponses"] and len(parts) == 3 and method in ("GET", "DELETE"):
            response = self._responses.get(parts[2])
            if response is None:
                return 404, error(
                    404,
                    "NOT_FOUND",
                    f"There is no resource of type 'customerReviewResponses' with id '{parts[2]}'",
                )
            review = self._reviews[response.review_id]
            denied = self._denied(key, review.app_id)
            if denied:
                return denied
            if method == "DELETE":
                del self._responses[response.id]
                review.response = None
                return 204, None
            return 200, {
                "data": response_dto(self.base_url, response),
                "links": {"self": f"{self.base_url}{path}"},
            }
        return 404, error(404, "NOT_FOUND", "The path provided does not match a defined resource type.")

    def _create(self, key: _Key, body: Any) -> tuple[int, Any]:
        problem = create_request_problem(body)
        if problem is not None:
            code, detail, pointer = problem
            return 409, error(409, code, detail, pointer=pointer)
        review_id = body["data"]["relationships"]["review"]["data"]["id"]
        review = self._reviews.get(review_id)
        if review is None:
            return 404, error(
                404, "NOT_FOUND", f"There is no resource of type 'customerReviews' with id '{review_id}'"
            )
        denied = self._denied(key, review.app_id)
        if denied:
            return denied
        text = body["data"]["attributes"]["responseBody"]
        response = review.response
        if response is None:  # one response per review; a second POST overwrites it
            response = Response(str(uuid.uuid4()), review.id, text, self.clock())
            review.response = response
            self._responses[response.id] = response
        response.body, response.modified, response.state = text, self.clock(), "PENDING_PUBLISH"
        link = f"{self.base_url}/v1/customerReviewResponses/{response.id}"
        return 201, {"data": response_dto(self.base_url, response), "links": {"self": link}}

    def _list(self, key: _Key, app_id: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        if app_id not in self._apps and key.apps is None:
            return 404, error(404, "NOT_FOUND", f"There is no resource of type 'apps' with id '{app_id}'")
        denied = self._denied(key, app_id)
        if denied:
            return denied
        problem = _query_problem(query)
        if problem is not None:
            return 400, problem
        one = {name: values[0] for name, values in query.items()}
        limit = int(one.get("limit", DEFAULT_LIMIT))
        reviews = [r for r in self._reviews.values() if r.app_id == app_id and _matches(r, one)]
        sort = one.get("sort", "-createdDate")
        reviews.sort(key=lambda r: _sort_key(r, sort))
        if "cursor" in one:
            after = _decode_cursor(one["cursor"])
            if after is None:
                return 400, error(
                    400, "PARAMETER_ERROR.INVALID", "The cursor is not valid.", parameter="cursor"
                )
            reviews_after = [r for r in reviews if list(_sort_key(r, sort)) > after]
        else:
            reviews_after = reviews
        page = reviews_after[:limit]
        include = one.get("include") == "response"
        base, path = self.base_url, f"/v1/apps/{app_id}/customerReviews"
        document: dict[str, Any] = {
            "data": [review_dto(base, r, with_response_data=include) for r in page],
            "links": {"self": f"{base}{path}?{urlencode(one)}"},
            "meta": {"paging": {"total": len(reviews), "limit": limit}},
        }
        if include:
            document["included"] = [response_dto(base, r.response) for r in page if r.response is not None]
        if len(reviews_after) > limit:
            cursor = base64.urlsafe_b64encode(json.dumps(list(_sort_key(page[-1], sort))).encode()).decode()
            document["links"]["next"] = f"{base}{path}?{urlencode(one | {'cursor': cursor})}"
        return 200, document

    # --- called by the handler -----------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query, keep_blank_values=True)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = "<not JSON>"
        with self._lock:
            self._received.append(Received(method, parts.path, query, body, headers, raw))
            key = self._authorise(headers)
            if key is None:
                return 401, self._rate_header(), error(401, "NOT_AUTHORIZED")
            failure = next((f for f in self._failures if (f.path_contains or "") in parts.path), None)
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                extra = self._rate_header() | (
                    {"Retry-After": failure.retry_after} if failure.retry_after else {}
                )
                return failure.status, extra, error(failure.status, failure.code)
            if self.agreements_missing:
                return (
                    403,
                    self._rate_header(),
                    error(403, "FORBIDDEN.REQUIRED_AGREEMENTS_MISSING_OR_EXPIRED"),
                )
            if self._quota[1] <= 0:
                return 429, self._rate_header(), error(429, "RATE_LIMIT_EXCEEDED")
            self._quota[1] -= 1
            if method == "POST" and "json" not in headers.get("content-type", ""):
                status, payload = 415, error(415, "UNSUPPORTED_MEDIA_TYPE", "Send application/json.")
            else:
                status, payload = self._route(key, method, parts.path, query, body)
            rate = self._rate_header()
            hang = next((h for h in self._hang if (h or "") in parts.path), "no")
            if hang != "no":
                self._hang.remove(hang)
        if hang != "no":
            self._release.wait(HOLD_SECONDS)  # applied, answer held: the client times out
        return status, rate, payload


def _query_problem(query: dict[str, list[str]]) -> dict[str, Any] | None:
    for name, values in query.items():
        if name not in LIST_PARAMETERS:
            return error(
                400,
                "PARAMETER_ERROR.ILLEGAL",
                f"The parameter '{name}' can not be used with this request",
                parameter=name,
            )
        if len(values) != 1:
            return error(
                400, "PARAMETER_ERROR.INVALID", f"The parameter '{name}' was given twice", parameter=name
            )
    one = {name: values[0] for name, values in query.items()}
    invalid = None
    if "limit" in one and (not one["limit"].isdigit() or not 1 <= int(one["limit"]) <= MAX_LIMIT):
        invalid = "limit"
    elif "sort" in one and one["sort"] not in SORTS:
        invalid = "sort"
    elif "include" in one and one["include"] != "response":
        invalid = "include"
    elif "exists[publishedResponse]" in one and one["exists[publishedResponse]"] not in ("true", "false"):
        invalid = "exists[publishedResponse]"
    elif "filter[rating]" in one and not all(
        v in {"1", "2", "3", "4", "5"} for v in one["filter[rating]"].split(",")
    ):
        invalid = "filter[rating]"
    elif "filter[territory]" in one and not all(
        TERRITORY.match(v) for v in one["filter[territory]"].split(",")
    ):
        invalid = "filter[territory]"
    if invalid is None:
        return None
    detail = f"'{one[invalid]}' is not a valid value for the parameter '{invalid}'"
    if invalid == "limit":
        detail += f" (1 to {MAX_LIMIT})"
    return error(400, "PARAMETER_ERROR.INVALID", detail, parameter=invalid)


def _matches(review: Review, one: dict[str, str]) -> bool:
    if "filter[rating]" in one and str(review.rating) not in one["filter[rating]"].split(","):
        return False
    if "filter[territory]" in one and review.territory not in one["filter[territory]"].split(","):
        return False
    if "exists[publishedResponse]" in one:  # a pending response is no published response
        published = review.response is not None and review.response.state == "PUBLISHED"
        return published == (one["exists[publishedResponse]"] == "true")
    return True


def _sort_key(review: Review, sort: str) -> tuple[float, float, str]:
    """A total order for `sort` (ties broken by date, then id), usable as a cursor position."""
    sign = -1 if sort.startswith("-") else 1
    created = review.created.timestamp()
    if sort.lstrip("-") == "rating":
        return (sign * review.rating, sign * created, review.id)
    return (sign * created, 0.0, review.id)


def _decode_cursor(cursor: str) -> list[Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError):
        return None
    if not isinstance(value, list) or len(value) != 3 or not isinstance(value[2], str):
        return None
    return value


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx uses it
    disable_nagle_algorithm = True
    wbufsize = -1

    def _serve(self) -> None:
        fake: FakeAppStoreConnect = self.server.owner  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = fake._handle(self.command, self.path, headers, raw)
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:  # a client that gave up on a hung answer
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


FakeAppStoreConnect.handler = _Handler
