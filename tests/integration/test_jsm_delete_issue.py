"""JsmClient.delete_issue against the JSM stand-in over real HTTP: what an erasure (issue 15) relies on.

Jira Cloud's DELETE /rest/api/3/issue/{issueIdOrKey}: 204 deleted; 400 when the issue has subtasks and
deleteSubtasks is not true; 403 without the "Delete issues" permission; 404 when the issue does not
exist or the caller may not see it; 401 with a wrong token.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from mailbot.domain import Severity
from mailbot.escalate import HttpPermanentError, HttpTransientError
from mailbot.escalate.jira import JsmClient
from tests.integration.test_jsm_client import CUSTOMER, settings_for
from tests.servers.jsm import FakeJsm


@pytest.fixture
def jsm() -> Iterator[FakeJsm]:
    with FakeJsm() as fake:
        yield fake


def raise_one(client: JsmClient) -> str:
    created = client.create_request(
        "[MB-1] App stürzt ab", "Text", CUSTOMER, Severity.MAJOR, customer_name="E"
    )
    return created.issue_key


def test_delete_removes_the_request_with_its_subtasks_and_a_second_delete_is_not_an_error(
    jsm: FakeJsm,
) -> None:
    with JsmClient(settings_for(jsm)) as client:
        key = raise_one(client)
        jsm.add_subtask(key)
        assert client.delete_issue(key) is True
        assert jsm.requests() == []
        (call,) = jsm.calls("DELETE", f"/rest/api/3/issue/{key}")
        assert call.query == {"deleteSubtasks": ["true"]}
        assert client.delete_issue(key) is False  # 404: gone already
        assert raise_one(client) != key  # Jira never gives a deleted key again


def test_the_stand_in_refuses_an_issue_with_subtasks_without_delete_subtasks(jsm: FakeJsm) -> None:
    with JsmClient(settings_for(jsm)) as client:
        key = raise_one(client)
    jsm.add_subtask(key)
    auth = (jsm.user, jsm.token)
    url = f"{jsm.base_url}/rest/api/3/issue/{key}"
    refused = httpx.delete(url, auth=auth)
    assert refused.status_code == 400 and "deleteSubtasks" in refused.json()["errorMessages"][0]
    assert httpx.delete(url, auth=("bot@example.test", "wrong-token")).status_code == 401
    assert [r.key for r in jsm.requests()] == [key]  # neither deleted it
    by_id = httpx.delete(
        f"{jsm.base_url}/rest/api/3/issue/{10001}", params={"deleteSubtasks": "true"}, auth=auth
    )
    assert by_id.status_code == 204 and jsm.requests() == []  # the id works as the key does


def test_missing_delete_permission_is_permanent_and_names_the_permission(jsm: FakeJsm) -> None:
    with FakeJsm(delete_issues=False) as strict, JsmClient(settings_for(strict)) as client:
        key = raise_one(client)
        with pytest.raises(HttpPermanentError) as refused:
            client.delete_issue(key)
        assert refused.value.status == 403
        assert "'Delete issues'" in str(refused.value) and "project HELP" in str(refused.value)
        assert [r.key for r in strict.requests()] == [key]


def test_wrong_token_is_permanent_and_an_outage_transient(jsm: FakeJsm) -> None:
    with JsmClient(settings_for(jsm, token=SecretStr("wrong-token"))) as client:
        with pytest.raises(HttpPermanentError) as refused:
            client.delete_issue("HELP-1")
        assert refused.value.status == 401 and "wrong-token" not in str(refused.value)
    with JsmClient(settings_for(jsm)) as client:
        key = raise_one(client)
        jsm.fail_next(1, 503, method="DELETE", path=f"/rest/api/3/issue/{key}")
        with pytest.raises(HttpTransientError):
            client.delete_issue(key)
        assert client.delete_issue(key) is True
