"""Jira Service Management Cloud: raise customer requests, then follow their status and public comments.

A synchronous httpx client with explicit timeouts and basic auth (Atlassian account e-mail + API
token). Every failure is a TransientError (network, timeout, 408/429/5xx: try later; Retry-After
rides along) or a PermanentError (400/401/403/404: a human must fix the configuration or the Jira
project, and the message says what). The token never appears in a message, repr or log line.
Endpoints, field names and what was checked against Atlassian's documentation: docs/jira.md.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from mailbot.domain import Severity
from mailbot.escalate import HttpPermanentError, HttpTransientError, describe_url, parse_retry_after
from mailbot.escalate.settings import JIRA_TOKEN_ENV, JiraSettings

log = logging.getLogger(__name__)

API = "/rest/servicedeskapi"
PAGE_LIMIT = 50
SUMMARY_MAX = 255  # Jira's limit for the summary field
# The service-desk customer list was experimental for years; the opt-in header is harmless otherwise.
EXPERIMENTAL = {"X-ExperimentalApi": "opt-in"}


@dataclass(frozen=True)
class CreatedRequest:
    issue_key: str  # e.g. "HELPDESK-1"
    issue_id: str
    web_url: str | None  # the customer portal page (_links.web)
    agent_url: str | None = None  # the agent view (_links.agent)


@dataclass(frozen=True)
class RequestState:
    status: str  # the workflow status name, e.g. "Waiting for support"
    category: str  # currentStatus.statusCategory: NEW, INDETERMINATE, DONE (UNDEFINED if Jira has none)
    changed_at: datetime | None

    @property
    def done(self) -> bool:
        return self.category == "DONE"


@dataclass(frozen=True)
class Comment:
    id: int
    body: str
    author: str  # display name (falls back to e-mail, then account id)
    created: datetime | None
    public: bool
    author_email: str | None = None  # None when the profile hides it


class JsmClient:
    """One service desk and one request type of a Jira Service Management Cloud site."""

    def __init__(
        self,
        settings: JiraSettings,
        token: SecretStr | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self._token = token if token is not None else settings.resolve_token()
        self._accounts: dict[str, str] = {}  # e-mail -> accountId, so one run asks Jira once per customer
        self._http = httpx.Client(
            base_url=settings.base_url,
            auth=httpx.BasicAuth(settings.user, self._token.get_secret_value()),
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
            headers={"Accept": "application/json", "User-Agent": "mailbot"},
            follow_redirects=False,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"JsmClient({self.settings.base_url!r}, user={self.settings.user!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> JsmClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- customers -----------------------------------------------------------------------------

    def ensure_customer(self, email: str, display_name: str) -> str:
        """The accountId of the customer with this e-mail, created and added to the desk if needed.

        Cloud wants an accountId in raiseOnBehalfOf, and POST /customer does not return one for an
        existing account, hence: look on the desk, else create, else search the account.
        """
        key = email.strip().lower()
        if key in self._accounts:
            return self._accounts[key]
        account = self._find_desk_customer(key)
        if account is None:
            account = self._create_customer(key, display_name.strip() or key) or self._find_user(key)
            if account is None:
                raise HttpPermanentError(
                    f"Jira says an account for {key} exists, but {self.settings.user} cannot see it (not a"
                    f" customer of service desk {self.settings.service_desk_id}, not found by user search):"
                    " add the customer to the service desk in Jira by hand"
                )
            if self.settings.add_customers_to_desk:
                self._add_to_desk(account)
        self._accounts[key] = account
        return account

    def _find_desk_customer(self, email: str) -> str | None:
        sid = self.settings.service_desk_id
        for user in self._pages(
            f"{API}/servicedesk/{quote(sid, safe='')}/customer",
            {"query": email},
            f"looking up customer {email}",
            {404: self._desk_hint(), 403: f"the [jira] user must be an agent of service desk {sid}"},
            EXPERIMENTAL,
        ):
            if str(user.get("emailAddress", "")).lower() == email and user.get("accountId"):
                return str(user["accountId"])
        return None

    def _create_customer(self, email: str, display_name: str) -> str | None:
        """The new accountId, or None when Jira says the account exists already (409, or 400 saying so)."""
        what = f"creating customer {email}"
        response = self._send(
            "POST",
            f"{API}/customer",
            what,
            params={"strictConflictStatusCode": "true"},
            json={"email": email, "displayName": display_name},
            allow=(400, 409),
            hints={
                403: "creating customers needs the Jira Administrator global permission: grant it to the"
                " [jira] user or create the customer in Jira by hand"
            },
        )
        if response.status_code == 409 or (
            response.status_code == 400 and "exist" in self._detail(response).lower()
        ):
            return None
        self._check(response, what, {})
        account = self._json(response, what).get("accountId")
        if not account:
            raise HttpTransientError(f"Jira answered {what} without an accountId", response.status_code)
        log.info("created Jira customer account for %s", email)
        return str(account)

    def _find_user(self, email: str) -> str | None:
        """Platform user search; an exact e-mail wins, a single hit with a hidden e-mail is accepted."""
        what = f"searching the account of {email}"
        response = self._send(
            "GET", "/rest/api/3/user/search", what, params={"query": email, "maxResults": 50}
        )
        found = self._json(response, what)
        users = (
            [u for u in found if isinstance(u, dict) and u.get("accountId")]
            if isinstance(found, list)
            else []
        )
        exact = [u for u in users if str(u.get("emailAddress", "")).lower() == email]
        if exact:
            return str(exact[0]["accountId"])
        if len(users) == 1 and not users[0].get("emailAddress"):
            return str(users[0]["accountId"])
        return None

    def _add_to_desk(self, account: str) -> None:
        sid = self.settings.service_desk_id
        self._send(
            "POST",
            f"{API}/servicedesk/{quote(sid, safe='')}/customer",
            f"adding a customer to service desk {sid}",
            json={"accountIds": [account]},
            headers=EXPERIMENTAL,
            hints={
                404: self._desk_hint(),
                403: f"adding customers needs the administrator role of service desk {sid}: grant it, or set"
                " [jira] add_customers_to_desk = false if the desk is open to everyone",
            },
        )

    # --- requests ------------------------------------------------------------------------------

    def create_request(
        self,
        summary: str,
        description: str,
        customer_email: str,
        severity: Severity | None,
        *,
        customer_name: str | None = None,
    ) -> CreatedRequest:
        """Raise a request on behalf of the customer; put the mailbot reference first in `summary`.

        The summary loses line breaks and is cut to Jira's 255 characters, so a reference at its
        start survives and `find_request_by_reference` can find the request after a crash.
        """
        s = self.settings
        account = self.ensure_customer(customer_email, customer_name or customer_email)
        fields: dict[str, Any] = {"summary": _one_line(summary)[:SUMMARY_MAX], "description": description}
        priority = s.priority_for(severity)
        if priority is not None:
            fields["priority"] = {"name": priority}
        sid, rtid = s.service_desk_id, s.request_type_id
        bad_request = f"check that request type {rtid} belongs to service desk {sid} and has the fields"
        bad_request += f" {', '.join(fields)} on its form"
        if priority is not None:
            bad_request += f", and that Jira knows the priority {priority!r} ([jira] priorities)"
        what = f"creating a request in service desk {sid}"
        response = self._send(
            "POST",
            f"{API}/request",
            what,
            json={
                "serviceDeskId": sid,
                "requestTypeId": rtid,
                "requestFieldValues": fields,
                "raiseOnBehalfOf": account,
            },
            hints={
                400: bad_request,
                403: f"the [jira] user must be an agent of service desk {sid} to raise requests on behalf of"
                " customers",
                404: f"service desk {sid} or request type {rtid} does not exist: check [jira] service_desk_id"
                " and request_type_id",
            },
        )
        created = _created(self._json(response, what))
        log.info("raised Jira request %s (priority %s)", created.issue_key, priority or "none")
        return created

    def find_request_by_reference(self, reference: str) -> CreatedRequest | None:
        """The request whose summary contains `reference`, if one exists (idempotent escalation).

        Jira's text search is fuzzy and indexes with a short delay, so hits are re-checked here and a
        miss within seconds of creating a request proves nothing; retries come minutes later.
        """
        s = self.settings
        params = {
            "searchTerm": f'"{reference}"',
            "serviceDeskId": s.service_desk_id,
            "requestTypeId": s.request_type_id,
            "requestStatus": "ALL_REQUESTS",
            # requests we raise belong to the customer (reporter), so "owned" would miss them
            "requestOwnership": "ALL_REQUESTS",
        }
        # the reference as a whole word: "MB-1" must not match "[MB-12] ..."
        exact = re.compile(rf"(?<![\w-]){re.escape(reference)}(?![\w-])")
        for item in self._pages(f"{API}/request", params, f"searching requests for {reference}", {}):
            if exact.search(_summary(item)):
                return _created(item)
        return None

    def request_state(self, issue_key: str) -> RequestState:
        what = f"reading request {issue_key}"
        response = self._send(
            "GET", f"{API}/request/{quote(issue_key, safe='')}", what, hints=self._request_hints(issue_key)
        )
        status = self._json(response, what).get("currentStatus") or {}
        return RequestState(
            status=str(status.get("status", "")),
            category=str(status.get("statusCategory") or "UNDEFINED"),
            changed_at=_date(status.get("statusDate")),
        )

    def public_comments(self, issue_key: str, since_id: int | None = None) -> list[Comment]:
        """Public comments (what the customer may read), oldest first, only those after `since_id`."""
        comments = []
        for item in self._pages(
            f"{API}/request/{quote(issue_key, safe='')}/comment",
            {"public": "true", "internal": "false"},
            f"reading the comments of {issue_key}",
            self._request_hints(issue_key),
        ):
            comment = _comment(item)
            if comment is not None and comment.public and (since_id is None or comment.id > since_id):
                comments.append(comment)
        return sorted(comments, key=lambda c: c.id)

    # --- HTTP ----------------------------------------------------------------------------------

    def _pages(
        self,
        path: str,
        params: Mapping[str, str],
        what: str,
        hints: Mapping[int, str],
        headers: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, Any]]:
        """The `values` of a paged servicedeskapi resource; advances by what came back, not by `limit`."""
        start = 0
        while True:
            response = self._send(
                "GET",
                path,
                what,
                params={**params, "start": start, "limit": PAGE_LIMIT},
                headers=headers,
                hints=hints,
            )
            page = self._json(response, what)
            values = [v for v in page.get("values") or [] if isinstance(v, dict)]
            yield from values
            if page.get("isLastPage", True) or not values:
                return
            start = int(page.get("start", start)) + len(values)

    def _send(
        self,
        method: str,
        path: str,
        what: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        hints: Mapping[int, str] | None = None,
        allow: tuple[int, ...] = (),
    ) -> httpx.Response:
        where = describe_url(self.settings.base_url)
        try:
            response = self._http.request(method, path, params=params, json=json, headers=headers)
        except httpx.TimeoutException as exc:
            raise HttpTransientError(f"Jira at {where}: {what} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            reason = self._scrub(str(exc)) or type(exc).__name__
            raise HttpTransientError(f"Jira at {where}: {what} failed: {reason}") from None
        if response.status_code not in allow:
            self._check(response, what, hints or {})
        return response

    def _check(self, response: httpx.Response, what: str, hints: Mapping[int, str]) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        s = self.settings
        detail = self._detail(response)
        hint = f"; {hints[status]}" if status in hints else ""
        if status in (408, 429) or status >= 500:
            retry = parse_retry_after(response.headers.get("Retry-After"))
            wait = f", asks to wait {retry:g} s" if retry is not None else ""
            raise HttpTransientError(f"Jira {status} for {what}{wait}: {detail}", status, retry)
        if status == 401:
            raise HttpPermanentError(
                f"Jira rejected the API token for {s.user} at {describe_url(s.base_url)}: check [jira] user"
                f" and token (environment variable {s.token_env or JIRA_TOKEN_ENV})",
                status,
            )
        if 300 <= status < 400:
            target = describe_url(response.headers.get("Location", ""))
            raise HttpPermanentError(
                f"Jira redirected {what} to {target}: set [jira] base_url to the https://<site>.atlassian.net"
                " address of the site",
                status,
            )
        raise HttpPermanentError(f"Jira refused {what} ({status}): {detail}{hint}", status)

    def _detail(self, response: httpx.Response) -> str:
        """The server's own words: servicedeskapi `errorMessage`, platform `errorMessages`/`errors`."""
        try:
            body = response.json()
        except ValueError:
            text = response.text
        else:
            parts: list[str] = []
            if isinstance(body, dict):
                if body.get("errorMessage"):
                    parts.append(str(body["errorMessage"]))
                parts.extend(str(m) for m in body.get("errorMessages") or [])
                errors = body.get("errors")
                if isinstance(errors, dict):
                    parts.extend(f"{k}: {v}" for k, v in errors.items())
                if not parts and body.get("message"):
                    parts.append(str(body["message"]))
            text = "; ".join(parts) if parts else str(body)
        text = " ".join(text.split())
        return self._scrub(text[:300]) or f"HTTP {response.status_code} without details"

    def _json(self, response: httpx.Response, what: str) -> Any:
        try:
            return response.json()
        except ValueError:
            raise HttpTransientError(
                f"Jira answered {what} with something that is not JSON (a proxy or maintenance page?)",
                response.status_code,
            ) from None

    def _scrub(self, text: str) -> str:
        token = self._token.get_secret_value()
        return text.replace(token, "***") if token else text

    def _desk_hint(self) -> str:
        return f"service desk {self.settings.service_desk_id} does not exist: check [jira] service_desk_id"

    def _request_hints(self, issue_key: str) -> dict[int, str]:
        hint = f"request {issue_key} does not exist (deleted or moved?) or the [jira] user may not see it"
        return {404: hint, 403: hint}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _date(value: Any) -> datetime | None:
    """A servicedeskapi DateDTO ({epochMillis, iso8601, ...}) as an aware datetime."""
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("epochMillis"), int | float):
        return datetime.fromtimestamp(value["epochMillis"] / 1000, UTC)
    try:
        return datetime.fromisoformat(str(value["iso8601"]))
    except (KeyError, ValueError):
        return None


def _summary(item: Mapping[str, Any]) -> str:
    if item.get("summary"):
        return str(item["summary"])
    for field in item.get("requestFieldValues") or []:
        if isinstance(field, dict) and field.get("fieldId") == "summary":
            return str(field.get("value") or "")
    return ""


def _created(item: Mapping[str, Any]) -> CreatedRequest:
    links = item.get("_links") or {}
    if not item.get("issueKey"):
        raise HttpTransientError("Jira returned a request without an issueKey")
    return CreatedRequest(
        issue_key=str(item["issueKey"]),
        issue_id=str(item.get("issueId", "")),
        web_url=links.get("web"),
        agent_url=links.get("agent"),
    )


def _comment(item: Mapping[str, Any]) -> Comment | None:
    try:
        comment_id = int(item["id"])
    except (KeyError, TypeError, ValueError):
        return None
    author = item.get("author") or {}
    return Comment(
        id=comment_id,
        body=str(item.get("body") or ""),
        author=str(author.get("displayName") or author.get("emailAddress") or author.get("accountId") or "?"),
        created=_date(item.get("created")),
        public=bool(item.get("public", True)),
        author_email=author.get("emailAddress") or None,
    )
