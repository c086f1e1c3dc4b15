"""Jira Service Management Cloud: raise customer requests, comment on them, follow status and comments.

Built on `jira_http.JiraHttp` (auth, timeouts, paging, and the mapping of HTTP statuses to
TransientError/PermanentError). Endpoints, field names and what was checked against Atlassian's
documentation: docs/jira.md. Customer accounts are looked up in `jira_customers`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from mailbot.addresses import has_no_mailbox
from mailbot.domain import Severity
from mailbot.escalate import HttpPermanentError, HttpTransientError
from mailbot.escalate.jira_customers import CustomerAccounts, CustomerUnavailable
from mailbot.escalate.jira_http import API, EXPERIMENTAL, MAX_PAGES, PAGE_LIMIT, JiraHttp
from mailbot.escalate.settings import JiraSettings

log = logging.getLogger(__name__)

SUMMARY_MAX = 255  # Jira's limit for the summary field
SEARCH = "/rest/api/3/search/jql"  # the platform's JQL search (the successor of /rest/api/3/search)
ISSUE = "/rest/api/3/issue"  # the platform's issue resource: a request is an issue (delete_issue)


@dataclass(frozen=True)
class ServiceDesk:
    id: str  # the number the servicedeskapi wants, e.g. "7"
    project_key: str  # e.g. "HELP"; JQL searches the project
    project_name: str = ""


@dataclass(frozen=True)
class CreatedRequest:
    issue_key: str  # e.g. "HELP-1"
    issue_id: str
    web_url: str | None  # the customer portal page (_links.web)
    agent_url: str | None = None  # the agent view (_links.agent)
    reporter_fallback: str | None = None  # why the request was raised as the [jira] user, not the customer


@dataclass(frozen=True)
class RequestState:
    status: str  # the workflow status name, e.g. "Waiting for support"
    category: str  # currentStatus.statusCategory: NEW, INDETERMINATE, DONE (UNDEFINED if Jira has none)
    changed_at: datetime | None
    # accountIds of the request's customers: its reporter and participants (their comments are theirs)
    customers: frozenset[str] = frozenset()
    # the request's priority name, when the request type shows it among its field values (an agent's
    # change of it corrects the severity: mailbot.escalate.follow)
    priority: str | None = None

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
    author_account: str | None = None


class JsmClient(JiraHttp):
    """One service desk and one request type of a Jira Service Management Cloud site."""

    def __init__(
        self,
        settings: JiraSettings,
        token: SecretStr | None = None,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(settings, token, transport=transport)
        self._desk: ServiceDesk | None = None
        self._me: str | None = None
        self._customers = CustomerAccounts(self)

    # --- who and where -------------------------------------------------------------------------

    def desk(self) -> ServiceDesk:
        """The configured desk, its number resolved from a project key if that is what was configured.

        The request search and the JQL search need the number and the project key respectively, so
        both are read once per client (one GET) instead of being trusted from the configuration.
        """
        if self._desk is None:
            self._desk = self._resolve_desk()
        return self._desk

    def own_account_id(self) -> str:
        """The accountId of the [jira] user: comments it wrote are ours, never relayed to the customer."""
        if self._me is None:
            what = "reading the account of the [jira] user"
            account = self._json(self._send("GET", "/rest/api/3/myself", what), what).get("accountId")
            if not account:
                raise HttpTransientError(f"Jira answered {what} without an accountId")
            self._me = str(account)
        return self._me

    def _resolve_desk(self) -> ServiceDesk:
        configured = self.settings.service_desk_id
        if not self.settings.desk_is_key:
            what = f"reading service desk {configured}"
            hints = {
                404: self.desk_hint(),
                403: f"the [jira] user must be an agent of service desk {configured}",
            }
            response = self._send("GET", f"{API}/servicedesk/{configured}", what, hints=hints)
            found = _service_desk(self._json(response, what))
            if found is None:
                raise HttpTransientError(f"Jira answered {what} without id and projectKey")
            return found
        listed = self._pages(f"{API}/servicedesk", {}, "listing service desks", {})
        desks = [d for d in map(_service_desk, listed) if d is not None]
        for desk in desks:
            if desk.project_key.upper() == configured:
                log.info("[jira] service_desk_id %s is service desk %s", configured, desk.id)
                return desk
        seen = ", ".join(f"{d.id} ({d.project_key})" for d in desks[:20]) or "none"
        raise HttpPermanentError(
            f"[jira] service_desk_id {configured!r} is not the project key of a service desk that"
            f" {self.settings.user} can see (it sees: {seen}): set service_desk_id to the desk's id"
        )

    def desk_hint(self) -> str:
        return f"service desk {self.settings.service_desk_id} does not exist: check [jira] service_desk_id"

    # --- requests ------------------------------------------------------------------------------

    def ensure_customer(self, email: str, display_name: str) -> str:
        """The customer's accountId (see jira_customers); CustomerUnavailable says why there is none."""
        return self._customers.ensure(email, display_name)

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
        start survives and `find_request_by_reference` can find the request after a crash. When the
        customer has no account that can be used (`[jira] unknown_customers = "raise_as_bot"`), the
        request is raised as the [jira] user, its description names the customer, and
        `reporter_fallback` says why.
        """
        s = self.settings
        desk = self.desk()
        fallback: str | None = None
        try:
            if has_no_mailbox(customer_email):  # a store reviewer or an erased person: no portal account
                raise CustomerUnavailable("the customer has no e-mail address (a store review, or erased)")
            account: str | None = self.ensure_customer(customer_email, customer_name or customer_email)
        except CustomerUnavailable as exc:
            if has_no_mailbox(customer_email):
                account, fallback = None, str(exc)
            elif s.unknown_customers == "fail":
                raise
            else:
                account, fallback = None, str(exc)
                sender = f"{customer_name} <{customer_email}>" if customer_name else customer_email
                description = f"E-mail from {sender}\n\n{description}"
        fields: dict[str, Any] = {"summary": _one_line(summary)[:SUMMARY_MAX], "description": description}
        priority = s.priority_for(severity)
        if priority is not None:
            fields["priority"] = {"name": priority}
        rtid = s.request_type_id
        bad_request = f"check that request type {rtid} belongs to service desk {desk.id} and has the fields"
        bad_request += f" {', '.join(fields)} on its form"
        if priority is not None:
            bad_request += f", and that Jira knows the priority {priority!r} ([jira] priorities)"
        body: dict[str, Any] = {"serviceDeskId": desk.id, "requestTypeId": rtid, "requestFieldValues": fields}
        if account is not None:
            body["raiseOnBehalfOf"] = account
        what = f"creating a request in service desk {desk.id}"
        response = self._send(
            "POST",
            f"{API}/request",
            what,
            json=body,
            hints={
                400: bad_request,
                403: f"the [jira] user must be an agent of service desk {desk.id} to raise requests on behalf"
                " of customers",
                404: f"service desk {desk.id} or request type {rtid} does not exist: check [jira]"
                " service_desk_id and request_type_id",
            },
        )
        created = replace(_created(self._json(response, what)), reporter_fallback=fallback)
        log.info("raised Jira request %s (priority %s)", created.issue_key, priority or "none")
        return created

    def find_request_by_reference(self, reference: str) -> CreatedRequest | None:
        """The request of this desk whose summary contains `reference` (idempotent escalation).

        A JQL phrase search on the summary (`summary ~ "\\"MB-1\\""`) in the desk's project, which
        needs no deprecated request-ownership filter. Jira's text search is fuzzy and indexes with
        a short delay, so hits are re-checked here and a miss within seconds of creating a request
        proves nothing; retries come minutes later.
        """
        desk = self.desk()
        jql = f'project = "{_jql_text(desk.project_key)}" AND summary ~ "\\"{_jql_text(reference)}\\""'
        exact = re.compile(rf"(?<![\w-]){re.escape(reference)}(?![\w-])")  # "MB-1" is not "MB-12"
        for issue in self._search(jql, ("summary",), f"searching requests for {reference}"):
            fields = issue.get("fields") or {}
            if not (issue.get("key") and exact.search(str(fields.get("summary") or ""))):
                continue
            item = self._request(str(issue["key"]))
            if str(item.get("serviceDeskId", desk.id)) == desk.id:
                return _created(item)
        return None

    def request_state(self, issue_key: str) -> RequestState:
        """Status, and who the request's customers are: the reporter and the participants
        (`expand=participant` adds the first page of them; more are read from their own resource)."""
        found = self._request(issue_key, expand="participant")
        status = found.get("currentStatus") or {}
        page = found.get("participants") or {}
        participants = list(page.get("values") or []) if isinstance(page, dict) else []
        if isinstance(page, dict) and page.get("isLastPage") is False:
            path = f"{API}/request/{quote(issue_key, safe='')}/participant"
            what = f"reading the participants of {issue_key}"
            participants = list(self._pages(path, {}, what, self._request_hints(issue_key)))
        people = [u for u in (found.get("reporter"), *participants) if isinstance(u, dict)]
        accounts = frozenset(str(u["accountId"]) for u in people if u.get("accountId"))
        return RequestState(
            status=str(status.get("status", "")),
            category=str(status.get("statusCategory") or "UNDEFINED"),
            changed_at=_date(status.get("statusDate")),
            customers=accounts,
            priority=_priority(found.get("requestFieldValues")),
        )

    def delete_issue(self, issue_key: str) -> bool:
        """Delete the request's issue with its subtasks (an erasure, GDPR Art. 17); False when Jira has
        no such issue: it answers 404 for an issue deleted already and for one the [jira] user may not see.

        `deleteSubtasks=true`, because Jira refuses (400) to delete an issue that has subtasks without
        it, and an agent's subtask of the request may hold the customer's data too. 403: the [jira]
        user lacks "Delete issues" (or "Browse projects") in the issue's project.
        """
        project = issue_key.rsplit("-", 1)[0]
        who = f"the [jira] user {self.settings.user}"
        response = self._send(
            "DELETE",
            f"{ISSUE}/{quote(issue_key, safe='')}",
            f"deleting issue {issue_key}",
            params={"deleteSubtasks": "true"},
            hints={
                403: f"{who} needs the project permissions 'Browse projects' and 'Delete issues' in project"
                f" {project}",
                400: f"Jira would not delete {issue_key} with its subtasks",
            },
            allow=(404,),
        )
        return response.status_code != 404

    def _request(self, issue_key: str, expand: str | None = None) -> dict[str, Any]:
        what = f"reading request {issue_key}"
        response = self._send(
            "GET",
            f"{API}/request/{quote(issue_key, safe='')}",
            what,
            params={"expand": expand} if expand else None,
            hints=self._request_hints(issue_key),
        )
        found = self._json(response, what)
        return found if isinstance(found, dict) else {}

    def _search(self, jql: str, fields: tuple[str, ...], what: str) -> Iterator[dict[str, Any]]:
        """Issues of a JQL search, page by page (`nextPageToken` until `isLast`)."""
        token: str | None = None
        hints = {400: f"Jira could not run the search {jql!r}", 403: "the [jira] user may not search issues"}
        for _ in range(MAX_PAGES):
            body: dict[str, Any] = {"jql": jql, "fields": list(fields), "maxResults": PAGE_LIMIT}
            if token:
                body["nextPageToken"] = token
            page = self._json(self._send("POST", SEARCH, what, json=body, hints=hints), what)
            yield from (i for i in page.get("issues") or [] if isinstance(i, dict))
            token = page.get("nextPageToken")
            if page.get("isLast", not token) or not token:
                return

    # --- comments and attachments --------------------------------------------------------------

    def public_comments(self, issue_key: str, since_id: int | None = None) -> list[Comment]:
        """Public comments (what the customer may read), oldest first, only those after `since_id`."""
        found = self.comments(issue_key, public=True)
        return [c for c in found if since_id is None or c.id > since_id]

    def comments(self, issue_key: str, *, public: bool) -> list[Comment]:
        """The public or the internal comments of a request, oldest first."""
        flags = {"public": "true", "internal": "false"} if public else {"public": "false", "internal": "true"}
        items = self._pages(
            f"{API}/request/{quote(issue_key, safe='')}/comment",
            flags,
            f"reading the comments of {issue_key}",
            self._request_hints(issue_key),
        )
        found = [c for c in map(_comment, items) if c is not None and c.public == public]
        return sorted(found, key=lambda c: c.id)

    def add_comment(self, issue_key: str, body: str, *, public: bool) -> Comment | None:
        """A comment by the [jira] user; `public=False` makes it internal (agents only)."""
        what = f"commenting on {issue_key}"
        hints = self._request_hints(issue_key) | {
            403: f"the [jira] user needs the Add Comments permission in the project of {issue_key}"
        }
        response = self._send(
            "POST",
            f"{API}/request/{quote(issue_key, safe='')}/comment",
            what,
            json={"body": body, "public": public},
            hints=hints,
        )
        return _comment(self._json(response, what))

    def attach_temporary_file(self, filename: str, content_type: str, data: bytes) -> str:
        """Upload one file to the desk; the returned id becomes an attachment via `add_attachments`."""
        desk = self.desk()
        what = f"uploading {filename!r} to service desk {desk.id}"
        response = self._send(
            "POST",
            f"{API}/servicedesk/{desk.id}/attachTemporaryFile",
            what,
            files={"file": (filename, data, content_type)},
            headers={"X-Atlassian-Token": "no-check", **EXPERIMENTAL},
            hints={
                403: f"the [jira] user may not add attachments in service desk {desk.id}, or attachments are"
                " switched off for it",
                404: self.desk_hint(),
            },
        )
        uploaded = self._json(response, what).get("temporaryAttachments") or []
        ids = [
            str(u["temporaryAttachmentId"])
            for u in uploaded
            if isinstance(u, dict) and u.get("temporaryAttachmentId")
        ]
        if not ids:
            raise HttpTransientError(f"Jira answered {what} without a temporaryAttachmentId")
        return ids[0]

    def add_attachments(
        self, issue_key: str, temporary_ids: list[str], comment: str, *, public: bool
    ) -> Comment | None:
        """Attach uploaded files to a request, with `comment` as the comment that carries them."""
        what = f"attaching {len(temporary_ids)} file(s) to {issue_key}"
        response = self._send(
            "POST",
            f"{API}/request/{quote(issue_key, safe='')}/attachment",
            what,
            json={
                "temporaryAttachmentIds": temporary_ids,
                "public": public,
                "additionalComment": {"body": comment},
            },
            hints=self._request_hints(issue_key),
        )
        result = self._json(response, what)
        return _comment(result.get("comment") or {}) if isinstance(result, dict) else None

    def _request_hints(self, issue_key: str) -> dict[int, str]:
        hint = f"request {issue_key} does not exist (deleted or moved?) or the [jira] user may not see it"
        return {404: hint, 403: hint}


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _jql_text(value: str) -> str:
    """A value for inside a JQL double-quoted string: backslash and quote escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


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


def _service_desk(item: Mapping[str, Any]) -> ServiceDesk | None:
    if not (item.get("id") and item.get("projectKey")):
        return None
    return ServiceDesk(str(item["id"]), str(item["projectKey"]), str(item.get("projectName") or ""))


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
        author_account=author.get("accountId") or None,
    )


def _priority(values: Any) -> str | None:
    """The priority name among a request's field values ({"fieldId": "priority", "value": {"name"}})."""
    for item in values if isinstance(values, list) else ():
        if isinstance(item, dict) and item.get("fieldId") == "priority":
            value = item.get("value")
            name = value.get("name") if isinstance(value, dict) else value
            return str(name) if name else None
    return None
