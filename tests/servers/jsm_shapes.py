"""Response shapes of the JSM stand-in, copied from the example responses of Atlassian's REST reference.

servicedeskapi: DateDTO {epochMillis, friendly, iso8601, jira}; paged {_expands, size, start, limit,
isLastPage, _links, values}; errors {errorMessage, i18nErrorMessage {i18nKey, parameters}}.
Platform (/rest/api/3): users {accountId, emailAddress (absent when the profile hides it),
displayName, active, timeZone, _links/self}; the JQL search {issues [{id, key, self, fields}],
nextPageToken, isLast}; errors {errorMessages [], errors {}}. Pages: docs/jira.md.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

API = "/rest/servicedeskapi"


def date_dto(when: datetime) -> dict[str, Any]:
    return {
        "epochMillis": int(when.timestamp() * 1000),
        "friendly": when.strftime("%A %H:%M %p"),
        "iso8601": when.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "jira": when.strftime("%Y-%m-%dT%H:%M:%S.000%z"),
    }


def sd_error(message: str, key: str = "sd.error") -> dict[str, Any]:
    """A servicedeskapi error body."""
    return {"errorMessage": message, "i18nErrorMessage": {"i18nKey": key, "parameters": []}}


def platform_error(*messages: str) -> dict[str, Any]:
    """A Jira platform (/rest/api/3) error body."""
    return {"errorMessages": list(messages), "errors": {}}


def page(
    items: list[dict[str, Any]], query: dict[str, list[str]], base: str, path: str, size: int
) -> dict[str, Any]:
    """A servicedeskapi page; Jira may return fewer than `limit` items, so `size` caps it."""
    start = int(query.get("start", ["0"])[0])
    limit = min(int(query.get("limit", ["50"])[0]), size)
    values = items[start : start + limit]
    last = start + len(values) >= len(items)
    links: dict[str, str] = {"base": f"{base}{API}", "context": "context"}
    if not last:
        links["next"] = f"{base}{path}?start={start + limit}&limit={limit}"
    if start:
        links["prev"] = f"{base}{path}?start={max(0, start - limit)}&limit={limit}"
    return {"_expands": [], "size": len(values), "start": start, "limit": limit, "isLastPage": last,
            "_links": links, "values": values}  # fmt: skip


def jql_page(issues: list[dict[str, Any]], token: str | None, size: int) -> dict[str, Any]:
    """A page of the enhanced JQL search; the continuation token is opaque to the client."""
    start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    values = issues[start : start + size]
    result: dict[str, Any] = {"issues": values, "isLast": start + len(values) >= len(issues)}
    if not result["isLast"]:
        result["nextPageToken"] = base64.urlsafe_b64encode(str(start + size).encode()).decode()
    return result


def desk_dto(base: str, desk_id: str, key: str, name: str) -> dict[str, Any]:
    return {"id": desk_id, "projectId": str(10000 + int(desk_id)), "projectName": name, "projectKey": key,
            "_links": {"self": f"{base}{API}/servicedesk/{desk_id}"}}  # fmt: skip
