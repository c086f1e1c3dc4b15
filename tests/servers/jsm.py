"""A local stand-in for Jira Service Management Cloud's REST API, on 127.0.0.1 and a free port.

Why a fake and not mocks: the client is tested over real HTTP (auth header, query strings, JSON,
multipart, status codes, timeouts), and the test drives the agent's side (status changes,
comments, outages, missing permissions). Shapes and errors are those of Atlassian's REST reference
(`jsm_shapes`; docs/jira.md lists the pages). Permissions are modelled where the documentation
says what happens without them:

- ``jira_admin=False``: POST /customer is 403 (it needs the Jira Administrator global permission);
- ``browse_users=False``: the user search returns an empty list, not an error ("Browse users and
  groups": "calls by users without the required permission return empty search results");
- ``desk_admin=False``: adding customers to the desk is 403;
- ``attachments=False``: attachTemporaryFile is 403 (an administrator switched attachments off);
- ``delete_issues=False``: DELETE /rest/api/3/issue/{key} is 403 (no "Delete issues" project permission);
  without it an unknown issue is 404 (also "no permission to view"), one with subtasks 400 unless
  ``deleteSubtasks=true``, a deleted one 204 and gone from every route (keys are never given again);
- a user with ``email_visible=False`` has no ``emailAddress`` in any answer, and the desk's customer
  search does not match the hidden address (the issue's observation; the user search does).

Served (under /rest/servicedeskapi unless noted): GET /servicedesk, GET /servicedesk/{id},
GET+POST /servicedesk/{id}/customer, POST /servicedesk/{id}/attachTemporaryFile, POST /customer,
POST+GET /request, GET /request/{key} (``expand=participant``), GET /request/{key}/participant,
GET+POST /request/{key}/comment, POST /request/{key}/attachment;
platform: GET /rest/api/3/myself, GET /rest/api/3/user/search, DELETE /rest/api/3/issue/{idOrKey},
POST /rest/api/3/search/jql (the
JQL the client sends: ``project = "KEY" AND summary ~ "\\"phrase\\""``). A desk id in a path may also
be the project key ("can alternatively be a project identifier"); in a request body or query it must
be the number. Test controls: ``add_customer``, ``add_participant``, ``set_status``, ``add_comment``
(an agent's, or with ``by=`` a customer's comment from the portal), ``add_subtask``, ``fail_next``,
``hang_next``,
``drip_next`` (the answer one byte at a time, issue 11); every request received is in ``received``.
"""

from __future__ import annotations

import base64
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .common import LoopbackHttpServer, send_slowly
from .jsm_shapes import API, date_dto, desk_dto, jql_page, page, platform_error, sd_error

JQL = re.compile(
    r'^project = "(?P<project>(?:[^"\\]|\\.)+)" AND summary ~ "\\"(?P<phrase>(?:[^"\\]|\\.)+)\\""$'
)


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    query: dict[str, list[str]]
    json: Any
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class _Failure:
    status: int
    remaining: int
    retry_after: str | None
    method: str | None = None  # only requests with this method and path fail (None: any)
    path: str | None = None

    def applies(self, method: str, path: str) -> bool:
        return (self.method or method) == method and (self.path or path) == path


@dataclass
class Attachment:
    filename: str
    mime_type: str
    data: bytes
    public: bool


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
    attachments: list[Attachment] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)  # accountIds
    subtasks: int = 0  # an agent's subtasks of the request (only their number matters to DELETE)


class FakeJsm(LoopbackHttpServer):
    """One service desk (and one other) with one request type; state is guarded by one lock."""

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
        jira_admin: bool = True,
        browse_users: bool = True,
        desk_admin: bool = True,
        attachments: bool = True,
        delete_issues: bool = True,
    ) -> None:
        self.user, self.token = user, token
        self.service_desk_id, self.request_type_id = service_desk_id, request_type_id
        self.project_key, self.page_size, self.priorities = project_key, page_size, priorities
        self.jira_admin, self.browse_users, self.desk_admin = jira_admin, browse_users, desk_admin
        self.attachments, self.delete_issues = attachments, delete_issues
        super().__init__()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self._users: dict[str, dict[str, Any]] = {}  # accountId -> user (+ "_email_visible")
        self._desk: set[str] = set()  # accountIds that are customers of the desk
        self._requests: dict[str, _Request] = {}
        self._temporary: dict[str, tuple[str, Attachment]] = {}  # id -> (desk id, file)
        self._failures: list[_Failure] = []
        self._hang = 0
        self._drip: list[float] = []
        self._release = threading.Event()
        self._ids = itertools.count(1)
        self._issue_numbers = itertools.count(1)  # Jira never gives a deleted issue's key again
        self.bot_account = self._new_user(user, "mailbot", on_desk=False)

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

    def request(self, key: str) -> _Request:
        """The stored request (fields, reporter, comments, attachments) as the agent would see it."""
        with self._lock:
            return self._requests[key]

    def requests(self) -> list[_Request]:
        with self._lock:
            return list(self._requests.values())

    def set_status(self, key: str, status: str, category: str) -> None:
        """The agent moves the request, e.g. ``set_status("HELP-1", "Resolved", "DONE")``."""
        with self._lock:
            request = self._requests[key]
            request.status, request.category, request.status_date = status, category, datetime.now(UTC)

    def set_priority(self, key: str, name: str) -> None:
        """The agent changes the request's priority (shown among its field values)."""
        with self._lock:
            self._requests[key].fields["priority"] = {"name": name}

    def add_comment(
        self, key: str, body: str, *, public: bool = True, author: str = "Agent Smith", by: str | None = None
    ) -> int:
        """A comment by an agent; internal ones (public=False) must never reach the customer.

        `by`: the accountId of a customer who wrote it in the portal (their profile decides whether
        the comment's author shows an e-mail address)."""
        agent = {"accountId": "agent-1", "displayName": author, "emailAddress": "agent@example.test"}
        with self._lock:
            writer = agent if by is None else self._user_dto(by)
            return self._comment(self._requests[key], body, public, writer)["id_int"]

    def add_subtask(self, key: str) -> None:
        """An agent splits the request: Jira deletes it then only with ``deleteSubtasks=true``."""
        with self._lock:
            self._requests[key].subtasks += 1

    def add_participant(self, key: str, account: str) -> None:
        """Another customer the agent added to the request (they read and comment in the portal)."""
        with self._lock:
            self._requests[key].participants.append(account)

    def fail_next(
        self,
        count: int = 1,
        status: int = 503,
        retry_after: str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `count` requests (to `method` `path`, if given) with `status` and Retry-After."""
        full = None if path is None else path if path.startswith("/rest/") else API + path
        with self._lock:
            self._failures.append(_Failure(status, count, retry_after, method, full))

    def drip_next(self, count: int = 1, interval: float = 1.5) -> None:
        """Send the next `count` answers one byte every `interval` s, until the client gives up."""
        with self._lock:
            self._drip.extend([interval] * count)

    def _drip_interval(self) -> float | None:
        with self._lock:
            return self._drip.pop(0) if self._drip else None

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
            "_links": {"self": f"{self.base_url}/rest/api/3/user?accountId={account}"},
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

    def _comment(self, request: _Request, body: str, public: bool, author: dict[str, Any]) -> dict[str, Any]:
        comment_id = 10000 + next(self._ids)
        comment = {
            "_expands": ["attachment", "renderedBody"],
            "id": str(comment_id),
            "body": body,
            "public": public,
            "author": author,
            "created": date_dto(datetime.now(UTC)),
            "_links": {"self": f"{self.base_url}{API}/request/{request.key}/comment/{comment_id}"},
        }
        request.comments.append(comment)
        return comment | {"id_int": comment_id}

    def _request_dto(self, r: _Request, expand: str = "") -> dict[str, Any]:
        base = self.base_url
        values = [{"fieldId": "summary", "label": "What do you need?", "value": r.fields["summary"]}]
        if "description" in r.fields:
            values.append(
                {"fieldId": "description", "label": "Why do you need this?", "value": r.fields["description"]}
            )
        if "priority" in r.fields:
            values.append({"fieldId": "priority", "label": "Priority", "value": r.fields["priority"]})
        expanded: dict[str, Any] = {}
        if "participant" in expand.split(","):  # a PagedDTO of UserDTOs, like every list of the API
            users = [self._user_dto(a) for a in r.participants]
            path = f"{API}/request/{r.key}/participant"
            expanded["participants"] = page(users, {}, base, path, self.page_size)
        return expanded | {
            "_expands": ["participant", "status", "sla", "requestType", "serviceDesk", "attachment"],
            "issueId": r.issue_id,
            "issueKey": r.key,
            "summary": r.fields["summary"],
            "requestTypeId": self.request_type_id,
            "serviceDeskId": self.service_desk_id,
            "createdDate": date_dto(r.created),
            "reporter": self._user_dto(r.reporter),
            "requestFieldValues": values,
            "currentStatus": {
                "status": r.status,
                "statusCategory": r.category,
                "statusDate": date_dto(r.status_date),
            },
            "_links": {
                "jiraRest": f"{base}/rest/api/2/issue/{r.issue_id}",
                "web": f"{base}/servicedesk/customer/portal/{self.service_desk_id}/{r.key}",
                "agent": f"{base}/browse/{r.key}",
                "self": f"{base}{API}/request/{r.issue_id}",
            },
        }

    def _page(self, items: list[dict[str, Any]], query: dict[str, list[str]], path: str) -> dict[str, Any]:
        return page(items, query, self.base_url, path, self.page_size)

    def _desks(self) -> list[dict[str, Any]]:
        other = desk_dto(self.base_url, "3", "IT", "IT support")  # a second desk the bot can see
        return [other, desk_dto(self.base_url, self.service_desk_id, self.project_key, "Help desk")]

    # --- routing (lock held) -------------------------------------------------------------------

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: Any,
        headers: dict[str, str],
        raw: bytes,
    ) -> tuple[int, Any]:
        if path.startswith("/rest/api/3/"):
            return self._platform(method, path, query, body)
        desk_path = re.fullmatch(rf"{API}/servicedesk/([^/]+)(/customer|/attachTemporaryFile)?", path)
        if method == "GET" and path == f"{API}/servicedesk":
            return 200, self._page(self._desks(), query, path)
        if desk_path:
            if desk_path.group(1) not in (self.service_desk_id, self.project_key):
                return 404, sd_error("The service desk does not exist.", "sd.servicedesk.error.not.found")
            return self._desk_route(method, desk_path.group(2) or "", query, body, headers, raw, path)
        if method == "POST" and path == f"{API}/customer":
            return self._create_customer(query, body)
        if method == "POST" and path == f"{API}/request":
            return self._create_request(body or {})
        if method == "GET" and path == f"{API}/request":
            desk = query.get("serviceDeskId", [self.service_desk_id])[0]
            if not desk.isdigit():
                return 400, sd_error(f"serviceDeskId: '{desk}' is not a number.")
            return 200, self._page(self._search(query), query, path)
        match = re.fullmatch(rf"{API}/request/([^/]+)(/comment|/attachment|/participant)?", path)
        if match:
            request = self._requests.get(match.group(1))
            if request is None:
                return 404, sd_error(
                    "The request does not exist or you do not have permission to see it.",
                    "sd.request.error.not.found",
                )
            return self._request_route(method, request, match.group(2) or "", query, body)
        return 404, sd_error(f"no fake route for {method} {path}")

    def _platform(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if method == "GET" and path == "/rest/api/3/myself":
            return 200, self._user_dto(self.bot_account)
        if method == "GET" and path == "/rest/api/3/user/search":
            q = query.get("query", [""])[0].lower()
            if not self.browse_users:
                return 200, []  # documented: no error, just nothing
            return 200, [self._user_dto(a) for a, u in self._users.items() if q and q in u["emailAddress"]]
        if method == "POST" and path == "/rest/api/3/search/jql":
            return self._jql(body or {})
        issue = re.fullmatch(r"/rest/api/3/issue/([^/]+)", path)
        if method == "DELETE" and issue:
            return self._delete_issue(issue.group(1), query)
        return 404, platform_error(f"no fake route for {method} {path}")

    def _delete_issue(self, id_or_key: str, query: dict[str, list[str]]) -> tuple[int, Any]:
        """Jira's order: an issue the caller cannot see is 404 before its permission to delete is asked."""
        found = next((r for r in self._requests.values() if id_or_key in (r.key, r.issue_id)), None)
        if found is None:
            return 404, platform_error("Issue does not exist or you do not have permission to see it.")
        if not self.delete_issues:
            return 403, platform_error("You do not have permission to delete issues in this project.")
        if found.subtasks and query.get("deleteSubtasks", ["false"])[0] != "true":
            return 400, platform_error("The issue has subtasks and deleteSubtasks is not set to true.")
        del self._requests[found.key]
        return 204, None

    def _desk_route(
        self,
        method: str,
        sub: str,
        query: dict[str, list[str]],
        body: Any,
        headers: dict[str, str],
        raw: bytes,
        path: str,
    ) -> tuple[int, Any]:
        if sub == "" and method == "GET":
            return 200, self._desks()[1]
        if sub == "/customer" and method == "GET":
            q = query.get("query", [""])[0].lower()
            users = [self._user_dto(a) for a in sorted(self._desk)]
            hits = [
                u for u in users if q in u.get("emailAddress", "").lower() or q in u["displayName"].lower()
            ]
            return 200, self._page(hits, query, path)
        if sub == "/customer" and method == "POST":
            if not self.desk_admin:
                return 403, sd_error("You do not have permission to add customers to this service desk.")
            accounts = (body or {}).get("accountIds") or []
            if any(a not in self._users for a in accounts):
                return 400, sd_error("One or more of the accountIds are invalid.")
            self._desk.update(accounts)
            return 204, None
        if sub == "/attachTemporaryFile" and method == "POST":
            return self._upload(headers, raw)
        return 405, sd_error(f"{method} is not allowed here")

    def _request_route(
        self, method: str, request: _Request, sub: str, query: dict[str, list[str]], body: Any
    ) -> tuple[int, Any]:
        if sub == "" and method == "GET":
            return 200, self._request_dto(request, query.get("expand", [""])[0])
        if sub == "/participant" and method == "GET":
            users = [self._user_dto(a) for a in request.participants]
            return 200, self._page(users, query, f"{API}/request/{request.key}/participant")
        if sub == "/comment" and method == "GET":
            want_public = query.get("public", ["true"])[0] == "true"
            want_internal = query.get("internal", ["true"])[0] == "true"
            comments = [c for c in request.comments if (want_public if c["public"] else want_internal)]
            return 200, self._page(comments, query, f"{API}/request/{request.key}/comment")
        if sub == "/comment" and method == "POST":
            text = str((body or {}).get("body") or "")
            if not text.strip():
                return 400, sd_error("The comment body must not be empty.")
            comment = self._comment(
                request, text, bool((body or {}).get("public", True)), self._user_dto(self.bot_account)
            )
            return 201, {k: v for k, v in comment.items() if k != "id_int"}
        if sub == "/attachment" and method == "POST":
            return self._attach(request, body or {})
        return 405, sd_error(f"{method} is not allowed here")

    def _create_customer(self, query: dict[str, list[str]], body: Any) -> tuple[int, Any]:
        if not self.jira_admin:
            return 403, sd_error(
                "You do not have permission to create customers.", "sd.customer.error.no.permission"
            )
        email = str((body or {}).get("email") or "").strip()
        name = str((body or {}).get("displayName") or "").strip()
        if not email or not name:
            return 400, sd_error("Email and display name are required.")
        if self._user_by_email(email) is not None:
            if query.get("strictConflictStatusCode", ["false"])[0] == "true":
                return 409, sd_error("An account already exists for this email.")
            return 400, sd_error("An account already exists for this email.")
        account = self._new_user(email, name, on_desk=False)
        return 201, self._user_dto(account)

    def _create_request(self, body: dict[str, Any]) -> tuple[int, Any]:
        if str(body.get("serviceDeskId")) != self.service_desk_id:
            return 404, sd_error(f"Service desk {body.get('serviceDeskId')} does not exist.")
        if str(body.get("requestTypeId")) != self.request_type_id:
            return 400, sd_error("The request type you are trying to use does not exist.")
        fields = body.get("requestFieldValues") or {}
        if not str(fields.get("summary") or "").strip():
            return 400, {
                "errorMessage": "Summary is required.",
                "errors": {"summary": "Summary is required."},
            }
        if "\n" in fields["summary"]:
            return 400, sd_error("Summary: Field can't contain newlines.")
        if "priority" in fields and (fields["priority"] or {}).get("name") not in self.priorities:
            return 400, sd_error("Priority: Specify a valid value for priority.")
        reporter = body.get("raiseOnBehalfOf") or self.bot_account  # without it the caller is the reporter
        if reporter != self.bot_account and reporter not in self._desk:
            return 400, sd_error(f"The user '{reporter}' does not have permission to raise requests here.")
        n = next(self._issue_numbers)
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

    def _jql(self, body: dict[str, Any]) -> tuple[int, Any]:
        """The enhanced search; the text search is looser than the exact phrase, as Jira's is."""
        match = JQL.match(str(body.get("jql") or ""))
        if match is None:
            return 400, platform_error(f"Error in the JQL Query: the stand-in only understands {JQL.pattern}")
        project = re.sub(r"\\(.)", r"\1", match.group("project"))
        phrase = re.sub(r"\\(.)", r"\1", match.group("phrase")).lower()
        wanted = body.get("fields") or ["*navigable"]
        issues = [
            {
                "expand": "",
                "id": r.issue_id,
                "self": f"{self.base_url}/rest/api/3/issue/{r.issue_id}",
                "key": r.key,
                "fields": {f: r.fields[f] for f in wanted if f in r.fields},
            }
            for r in self._requests.values()
            if r.key.startswith(f"{project}-") and phrase in r.fields["summary"].lower()
        ]
        size = min(int(body.get("maxResults") or 50), self.page_size)
        return 200, jql_page(issues, body.get("nextPageToken"), size)

    def _upload(self, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        if headers.get("x-atlassian-token") != "no-check":
            return 403, "XSRF check failed"
        if not self.attachments:
            return 403, sd_error("Attachments are disabled for this service desk.")
        parts = _form_files(headers.get("content-type", ""), raw)
        if not parts:
            return 400, sd_error("No file was sent in the multipart field 'file'.")
        uploaded = []
        for filename, mime_type, data in parts:
            temporary = f"temp{next(self._ids):08d}"
            self._temporary[temporary] = (self.service_desk_id, Attachment(filename, mime_type, data, False))
            uploaded.append({"temporaryAttachmentId": temporary, "fileName": filename})
        return 201, {"temporaryAttachments": uploaded}

    def _attach(self, request: _Request, body: dict[str, Any]) -> tuple[int, Any]:
        ids = body.get("temporaryAttachmentIds") or []
        if not ids or any(i not in self._temporary for i in ids):
            return 400, sd_error("One or more temporary attachments could not be found.")
        public = bool(body.get("public", True))
        files = [self._temporary.pop(i)[1] for i in ids]
        for file in files:
            file.public = public
            request.attachments.append(file)
        text = str((body.get("additionalComment") or {}).get("body") or "")
        links = "\n".join(f"[^{f.filename}]" for f in files)  # the comment is prepended to the attachments
        comment = self._comment(request, f"{text}\n\n{links}" if text else links, public,
                                self._user_dto(self.bot_account))  # fmt: skip
        author = self._user_dto(self.bot_account)
        link = {"self": f"{self.base_url}{API}/request/{request.key}/attachment"}
        values = [
            {"filename": f.filename, "author": author, "created": comment["created"], "size": len(f.data),
             "mimeType": f.mime_type, "_links": link}
            for f in files
        ]  # fmt: skip
        shown = {k: v for k, v in comment.items() if k != "id_int"}
        return 201, {"comment": shown, "attachments": {"size": len(values), "start": 0, "limit": len(values),
                                                       "isLastPage": True, "values": values}}  # fmt: skip

    # --- called by the handler -----------------------------------------------------------------

    def _handle(
        self, method: str, target: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, dict[str, str], Any]:
        parts = urlsplit(target)
        query = parse_qs(parts.query)
        try:
            body = json.loads(raw) if raw and "json" in headers.get("content-type", "") else None
        except ValueError:
            body = None
        with self._lock:
            self._received.append(Received(method, parts.path, query, body, headers, raw))
            hang = self._hang > 0
            if hang:
                self._hang -= 1
        if hang:
            self._release.wait(10.0)
            return 503, {}, sd_error("hung request released")
        expected = "Basic " + base64.b64encode(f"{self.user}:{self.token}".encode()).decode()
        if headers.get("authorization") != expected:
            return (
                401,
                {"WWW-Authenticate": 'Basic realm="protected-area"'},
                "Client must be authenticated to access this resource.",
            )
        with self._lock:
            failure = next((f for f in self._failures if f.applies(method, parts.path)), None)
            if failure is not None:
                failure.remaining -= 1
                if failure.remaining == 0:
                    self._failures.remove(failure)
                extra = {"Retry-After": failure.retry_after} if failure.retry_after else {}
                return failure.status, extra, sd_error(f"simulated {failure.status}")
            status, payload = self._route(method, parts.path, query, body, headers, raw)
        return status, {}, payload


def _form_files(content_type: str, raw: bytes) -> list[tuple[str, str, bytes]]:
    """The parts named "file" of a multipart/form-data body: (file name, type, bytes)."""
    if not content_type.startswith("multipart/form-data"):
        return []
    message = message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
    found = []
    for part in message.get_payload() if message.is_multipart() else []:
        if not isinstance(part, Message) or part.get_param("name", header="content-disposition") != "file":
            continue
        data = part.get_payload(decode=True)
        found.append(
            (part.get_filename() or "", part.get_content_type(), data if isinstance(data, bytes) else b"")
        )
    return found


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
        interval = fake._drip_interval()
        if interval is not None:
            head = f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}\r\n"
            head += "".join(f"{name}: {value}\r\n" for name, value in extra.items())
            head += f"Content-Type: {content_type}\r\n" if content_type else ""
            head += f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n"
            self.close_connection = True
            send_slowly(self.wfile, head.encode("latin-1") + data, interval, fake._release)
            return
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
