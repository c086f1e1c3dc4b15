"""A local stand-in for Jira Service Management Cloud's REST API, on 127.0.0.1 and a free port.

Why a fake and not mocks: the client is tested over real HTTP (auth header, query strings, JSON,
status codes, timeouts), and the test drives the agent's side (status changes, comments, outages).
Response shapes copy the example responses of Atlassian's REST reference (field names and nesting:
issueId/issueKey, createdDate {epochMillis, friendly, iso8601, jira}, currentStatus {status,
statusCategory, statusDate}, _links {jiraRest, web, agent, self}, paged {size, start, limit,
isLastPage, _links, values}); docs/jira.md lists the pages. It is not a model of Jira's permission
scheme: it checks basic auth, the configured desk/request type, priorities and desk membership.

Served: POST /customer, GET+POST /servicedesk/{id}/customer, GET /rest/api/3/user/search,
POST+GET /request, GET /request/{key}, GET /request/{key}/comment (all under /rest/servicedeskapi
except the user search). Test controls: ``add_customer``, ``set_status``, ``add_comment``,
``fail_next``, ``hang_next``; every request received is in ``received``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .common import LoopbackHttpServer

API = "/rest/servicedeskapi"


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]  # lower-case names


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: str | None


@dataclass
class _Request:
    issue_id: str
    key: str
    fields: dict[str, Any]
    reporter: str  # accountId
    created: datetime
    status: str = "Waiting for support"
    category: str = "NEW"
    status_date: datetime = field(default_factory=lambda: datetime.now(UTC))
    comments: list[dict[str, Any]] = field(default_factory=list)


def _date(when: datetime) -> dict[str, Any]:
    """A DateDTO as in the documentation's examples."""
    return {
        "epochMillis": int(when.timestamp() * 1000),
        "friendly": when.strftime("%A %H:%M %p"),
        "iso8601": when.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jira": when.strftime("%Y-%m-%dT%H:%M:%S.000%z"),
    }


class FakeJsm(LoopbackHttpServer):
    """One service desk with one request type; state is guarded by one lock."""

    def __init__(
        self,
        *,
        user: str = "bot@example.test",
        token: str = "jsm-test-token-0123456789",
        service_desk_id: str = "7",
        request_type_id: str = "25",
        project_key: str = "HELP",
        page_size: int = 50,
        priorities: tuple[str, ...] = ("Highest", "High", "Medium", "Low", "Lowest"),
    ) -> None:
        self.user, self.token = user, token
        self.service_desk_id, self.request_type_id = service_desk_id, request_type_id
        self.project_key, self.page_size, self.priorities = project_key, page_size, priorities
        super().__init__()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._users: dict[str, dict[str, Any]] = {}  # accountId -> user (+ "_email_visible")
        self._desk: set[str] = set()  # accountIds that are customers of the desk
        self._requests: dict[str, _Request] = {}
        self._failures: list[_Failure] = []
        self._hang = 0
        self._release = threading.Event()
        self._ids = itertools.count(1)

    # --- lifecycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def before_stop(self) -> None:
        self._release.set()  # let hung requests finish

    # --- the test's side -----------------------------------------------------------------------

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def calls(self, method: str, path: str) -> list[Received]:
        """Requests with this method whose path is `path` (relative paths are under the servicedeskapi)."""
        full = path if path.startswith("/rest/") else API + path
        return [r for r in self.received if r.method == method and r.path == full]

    def add_customer(
        self, email: str, display_name: str, *, on_desk: bool = True, email_visible: bool = True
    ) -> str:
        """An existing customer account, e.g. one that raised requests before; returns its accountId."""
        with self._lock:
            return self._new_user(email, display_name, on_desk=on_desk, email_visible=email_visible)

    def desk_customers(self) -> set[str]:
        with self._lock:
            return set(self._desk)

    def account_of(self, email: str) -> str | None:
        with self._lock:
            user = self._user_by_email(email)
            return user["accountId"] if user else None

    def set_status(self, key: str, status: str, category: str) -> None:
        """The agent moves the request, e.g. ``set_status("HELP-1", "Resolved", "DONE")``."""
        with self._lock:
            request = self._requests[key]
            request.status, request.category, request.status_date = status, category, datetime.now(UTC)

    def add_comment(self, key: str, body: str, *, public: bool = True, author: str = "Agent Smith") -> int:
        """A comment by an agent; internal ones (public=False) must never reach the customer."""
        with self._lock:
            comment_id = 10000 + next(self._ids)
            self._requests[key].comments.append(
                {
                    "_expands": ["attachment", "renderedBody"],
                    "id": str(comment_id),
                    "body": body,
                    "public": public,
                    "author": {
                        "accountId": "agent-1",
                        "displayName": author,
                        "emailAddress": "agent@example.test",
                    },
                    "created": _date(datetime.now(UTC)),
                    "_links": {"self": f"{self.base_url}{API}/request/{key}/comment/{comment_id}"},
                }
            )
            return comment_id

    def fail_next(self, count: int = 1, status: int = 503, retry_after: str | None = None) -> None:
        """Answer the next `count` requests with `status` (and a Retry-After header, if given)."""
        with self._lock:
            self._failures.append(_Failure(status, count, retry_after))

    def hang_next(self) -> None:
        """Hold the next request unanswered until ``stop()``: the client's read timeout must fire."""
        with self._lock:
            self._hang += 1

    # --- helpers (called with the lock held) ---------------------------------------------------

    def _new_user(self, email: str, display_name: str, *, on_desk: bool, email_visible: bool = True) -> str:
        account = f"qm:fake:{next(self._ids):06d}"
        self._users[account] = {
            "accountId": account,
            "emailAddress": email.lower(),
            "displayName": display_name,
            "active": True,
            "timeZone": "Europe/Berlin",
            "_links": {"self": f"{self.base_url}/rest/api/2/user?accountId={account}"},
            "_email_visible": email_visible,
        }
        if on_desk:
            self._desk.add(account)
        return account

    def _user_by_email(self, email: str) -> dict[str, Any] | None:
        return next((u for u in self._users.values() if u["emailAddress"] == email.lower()), None)

    def _user_dto(self, account: str) -> dict[str, Any]:
        user = {k: v for k, v in self._users[account].items() if not k.startswith("_")}
        if not self._users[account]["_email_visible"]:
            del user["emailAddress"]
        return user

    def _request_dto(self, r: _Request) -> dict[str, Any]:
        base = self.base_url
        values = [{"fieldId": "summary", "label": "What do you need?", "value": r.fields["summary"]}]
        if "description" in r.fields:
            values.append(
                {"fieldId": "description", "label": "Why do you need this?", "value": r.fields["description"]}
            )
        if "priority" in r.fields:
            values.append({"fieldId": "priority", "label": "Priority", "value": r.fields["priority"]})
        return {
            "_expands": [
                "participant",
                "status",
                "sla",
                "requestType",
                "serviceDesk",
                "attachment",
                "action",
                "comment",
            ],
            "issueId": r.issue_id,
            "issueKey": r.key,
            "summary": r.fields["summary"],
            "requestTypeId": self.request_type_id,
            "serviceDeskId": self.service_desk_id,
            "createdDate": _date(r.created),
            "reporter": self._user_dto(r.reporter),
            "requestFieldValues": values,
            "currentStatus": {
                "status": r.status,
                "statusCategory": r.category,
                "statusDate": _date(r.status_date),
            },
            "_links": {
                "jiraRest": f"{base}/rest/api/2/issue/{r.issue_id}",
                "web": f"{base}/servicedesk/customer/portal/{self.service_desk_id}/{r.key}",
                "agent": f"{base}/browse/{r.key}",
                "self": f"{base}{API}/request/{r.issue_id}",
            },
        }

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str) -> dict[str, Any]:
        start = int(query.get("start", ["0"])[0])
        limit = min(int(query.get("limit", ["50"])[0]), self.page_size)  # Jira may return less than asked
        values = items[start : start + limit]
        last = start + len(values) >= len(items)
        links: dict[str, str] = {"base": f"{self.base_url}{API}", "context": "context"}
        if not last:
            links["next"] = f"{self.base_url}{path}?start={start + limit}&limit={limit}"
        if start:
            links["prev"] = f"{self.base_url}{path}?start={max(0, start - limit)}&limit={limit}"
        return {"_expands": [], "size": len(values), "start": start, "limit": limit, "isLastPage": last,
                "_links": links, "values": values}  # fmt: skip

    # --- routing (lock held) -------------------------------------------------------------------

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        desk = f"{API}/servicedesk/{self.service_desk_id}/customer"
        if method == "POST" and path == f"{API}/customer":
            return self._create_customer(query, body)
        if path == desk and method == "GET":
            q = query.get("query", [""])[0].lower()
            users = [self._user_dto(a) for a in sorted(self._desk)]
            hits = [
                u for u in users if q in u.get("emailAddress", "").lower() or q in u["displayName"].lower()
            ]
            return 200, self._page(hits, query, path)
        if path == desk and method == "POST":
            accounts = (body or {}).get("accountIds") or []
            if any(a not in self._users for a in accounts):
                return 400, {"errorMessage": "One or more of the accountIds are invalid."}
            self._desk.update(accounts)
            return 204, None
        if path.startswith(f"{API}/servicedesk/"):
            return 404, {"errorMessage": "The service desk does not exist."}
        if method == "GET" and path == "/rest/api/3/user/search":
            q = query.get("query", [""])[0].lower()
            return 200, [self._user_dto(a) for a, u in self._users.items() if q and q in u["emailAddress"]]
        if method == "POST" and path == f"{API}/request":
            return self._create_request(body or {})
        if method == "GET" and path == f"{API}/request":
            return 200, self._page(self._search(query), query, path)
        match = re.fullmatch(rf"{API}/request/([^/]+)(/comment)?", path)
        if method == "GET" and match:
            request = self._requests.get(match.group(1))
            if request is None:
                return 404, {
                    "errorMessage": "The request does not exist or you do not have permission to see it.",
                    "i18nErrorMessage": {"i18nKey": "sd.request.error.not.found", "parameters": []},
                }
            if not match.group(2):
                return 200, self._request_dto(request)
            want_public = query.get("public", ["true"])[0] == "true"
            want_internal = query.get("internal", ["true"])[0] == "true"
            comments = [c for c in request.comments if (want_public if c["public"] else want_internal)]
            return 200, self._page(comments, query, path)
        return 404, {"errorMessage": f"no fake route for {method} {path}"}

    def _create_customer(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        email = str((body or {}).get("email") or "").strip()
        name = str((body or {}).get("displayName") or "").strip()
        if not email or not name:
            return 400, {"errorMessage": "Email and display name are required."}
        if self._user_by_email(email) is not None:
            if query.get("strictConflictStatusCode", ["false"])[0] == "true":
                return 409, {"errorMessage": "An account already exists for this email."}
            return 400, {"errorMessage": "An account already exists for this email."}
        account = self._new_user(email, name, on_desk=False)
        return 201, self._user_dto(account)

    def _create_request(self, body: dict[str, Any]) -> tuple[int, Any]:
        if str(body.get("serviceDeskId")) != self.service_desk_id:
            return 404, {"errorMessage": f"Service desk {body.get('serviceDeskId')} does not exist."}
        if str(body.get("requestTypeId")) != self.request_type_id:
            return 400, {"errorMessage": "The request type you are trying to use does not exist."}
        fields = body.get("requestFieldValues") or {}
        if not str(fields.get("summary") or "").strip():
            return 400, {
                "errorMessage": "Summary is required.",
                "errors": {"summary": "Summary is required."},
            }
        if "\n" in fields["summary"]:
            return 400, {"errorMessage": "Summary: Field can't contain newlines."}
        if "priority" in fields and (fields["priority"] or {}).get("name") not in self.priorities:
            return 400, {"errorMessage": "Priority: Specify a valid value for priority."}
        reporter = body.get("raiseOnBehalfOf")
        if reporter not in self._desk:
            return 400, {
                "errorMessage": f"The user '{reporter}' does not have permission to raise requests here."
            }
        n = len(self._requests) + 1
        request = _Request(
            str(10000 + n), f"{self.project_key}-{n}", dict(fields), reporter, datetime.now(UTC)
        )
        self._requests[request.key] = request
        return 201, self._request_dto(request)

    def _search(self, query: dict[str, list[str]]) -> list[dict[str, Any]]:
        term = query.get("searchTerm", [""])[0].strip('"').lower()
        hits = []
        for r in self._requests.values():
            if term and term not in r.fields["summary"].lower():
                continue
            if query.get("serviceDeskId", [self.service_desk_id])[0] != self.service_desk_id:
                continue
            hits.append(self._request_dto(r))
        return hits

    # --- called by the handler -----------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        with self._lock:
            self._received.append(Received(method, parts.path, query, body, headers))
            hang = self._hang > 0
            if hang:
                self._hang -= 1
        if hang:
            self._release.wait(10.0)
            return 503, {}, {"errorMessage": "hung request released"}
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        if headers.get("authorization") != expected:
            return (
                401,
                {"WWW-Authenticate": 'Basic realm="protected-area"'},
                "Client must be authenticated to access this resource.",
            )
        with self._lock:
            if self._failures:
                failure = self._failures[0]
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.pop(0)
                extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return failure.status, extra, {"errorMessage": f"simulated {failure.status}"}
            status, payload = self._route(method, parts.path, query, body)
        return status, {}, payload


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as httpx uses it
    disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between header and body writes
    wbufsize = -1  # buffered: headers and body leave in one write when the handler flushes

    def _serve(self) -> None:
        fake: FakeJsm = self.server.owner  # type: ignore[attr-defined]
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, extra, payload = fake._handle(self.command, self.path, headers, raw)
        if payload is None:
            data, content_type = b"", None
        elif isinstance(payload, str):
            data, content_type = payload.encode(), "text/plain;charset=UTF-8"
        else:
            data, content_type = json.dumps(payload).encode(), "application/json;charset=UTF-8"
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass


FakeJsm.handler = _Handler
