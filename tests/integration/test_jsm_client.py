"""JsmClient against the local JSM stand-in (tests/servers/jsm.py), over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import SecretStr, ValidationError

from mailbot.domain import Severity
from mailbot.errors import ConfigError, PermanentError, TransientError
from mailbot.escalate import HttpTimeout, HttpTransientError, parse_retry_after
from mailbot.escalate.jira import JsmClient
from mailbot.escalate.settings import JiraSettings
from tests.servers.jsm import FakeJsm

CUSTOMER = "kunde@example.test"


def settings_for(fake: FakeJsm, **overrides: object) -> JiraSettings:
    values: dict[str, object] = {
        "base_url": fake.base_url,
        "user": fake.user,
        "token": SecretStr(fake.token),
        "service_desk_id": fake.service_desk_id,
        "request_type_id": fake.request_type_id,
        "timeout_seconds": 5.0,
    }
    return JiraSettings.model_validate(values | overrides)


@pytest.fixture
def jsm() -> Iterator[FakeJsm]:
    with FakeJsm(page_size=2) as fake:  # small pages, so paging is exercised everywhere
        yield fake


@pytest.fixture
def client(jsm: FakeJsm) -> Iterator[JsmClient]:
    with JsmClient(settings_for(jsm)) as c:
        yield c


# --- creating requests ---------------------------------------------------------------------------


def test_create_request_raises_on_behalf_of_a_new_customer(jsm: FakeJsm, client: JsmClient) -> None:
    created = client.create_request(
        "[MB-1] App stürzt ab", "Seit dem Update startet die App nicht.", CUSTOMER, Severity.CRITICAL,
        customer_name="Erika Muster",
    )  # fmt: skip

    assert created.issue_key == "HELP-1"
    assert created.web_url == f"{jsm.base_url}/servicedesk/customer/portal/7/HELP-1"
    assert created.agent_url == f"{jsm.base_url}/browse/HELP-1"
    (post,) = jsm.calls("POST", "/request")
    account = jsm.account_of(CUSTOMER)
    assert post.json == {
        "serviceDeskId": "7",
        "requestTypeId": "25",
        "requestFieldValues": {
            "summary": "[MB-1] App stürzt ab",
            "description": "Seit dem Update startet die App nicht.",
            "priority": {"name": "Highest"},
        },
        "raiseOnBehalfOf": account,
    }
    (created_customer,) = jsm.calls("POST", "/customer")
    assert created_customer.json == {"email": CUSTOMER, "displayName": "Erika Muster"}
    assert account in jsm.desk_customers()  # added to the desk, so it may raise requests there


@pytest.mark.parametrize(
    ("severity", "priority"),
    [(Severity.CRITICAL, "Highest"), (Severity.MAJOR, "High"), (Severity.MINOR, "Medium"),
     (Severity.COSMETIC, "Low"), (None, None)],
)  # fmt: skip
def test_severity_maps_to_priority_and_none_sends_no_priority(
    jsm: FakeJsm, client: JsmClient, severity: Severity | None, priority: str | None
) -> None:
    client.create_request("[MB-2] Frage", "Text", CUSTOMER, severity)
    fields = jsm.calls("POST", "/request")[0].json["requestFieldValues"]
    assert fields.get("priority") == ({"name": priority} if priority else None)


def test_priority_mapping_is_configurable_and_gaps_send_no_priority(jsm: FakeJsm) -> None:
    settings = settings_for(jsm, priorities={"critical": "High"})
    with JsmClient(settings) as client:
        client.create_request("[MB-3] a", "x", CUSTOMER, Severity.CRITICAL)
        client.create_request("[MB-4] b", "x", CUSTOMER, Severity.MINOR)
    first, second = (c.json["requestFieldValues"] for c in jsm.calls("POST", "/request"))
    assert first["priority"] == {"name": "High"}
    assert "priority" not in second


def test_summary_is_one_line_and_cut_to_jira_limit(jsm: FakeJsm, client: JsmClient) -> None:
    client.create_request("[MB-5] first line\r\nsecond  line " + "x" * 300, "body", CUSTOMER, None)
    summary = jsm.calls("POST", "/request")[0].json["requestFieldValues"]["summary"]
    assert summary.startswith("[MB-5] first line second line xx")
    assert len(summary) == 255


# --- customers -----------------------------------------------------------------------------------


def test_customer_on_the_desk_is_found_without_creating(jsm: FakeJsm, client: JsmClient) -> None:
    account = jsm.add_customer(CUSTOMER, "Erika Muster", on_desk=True)
    assert client.ensure_customer(CUSTOMER.upper(), "Erika") == account
    assert jsm.calls("POST", "/customer") == []
    (lookup,) = jsm.calls("GET", "/servicedesk/7/customer")
    assert lookup.query["query"] == [CUSTOMER]
    assert lookup.headers.get("x-experimentalapi") == "opt-in"


def test_existing_account_elsewhere_is_ok_and_gets_added_to_the_desk(jsm: FakeJsm, client: JsmClient) -> None:
    account = jsm.add_customer(CUSTOMER, "Erika Muster", on_desk=False)  # e.g. customer of another desk

    assert client.ensure_customer(CUSTOMER, "Erika") == account

    (create,) = jsm.calls("POST", "/customer")
    assert create.query["strictConflictStatusCode"] == ["true"]  # the fake answers 409, Jira may say 400
    assert jsm.calls("GET", "/rest/api/3/user/search")[0].query["query"] == [CUSTOMER]
    assert jsm.calls("POST", "/servicedesk/7/customer")[0].json == {"accountIds": [account]}
    assert account in jsm.desk_customers()


def test_existing_account_with_hidden_email_is_accepted_when_unambiguous(
    jsm: FakeJsm, client: JsmClient
) -> None:
    account = jsm.add_customer(CUSTOMER, "Erika Muster", on_desk=False, email_visible=False)
    assert client.ensure_customer(CUSTOMER, "Erika") == account


def test_customer_lookups_are_cached_per_client(jsm: FakeJsm, client: JsmClient) -> None:
    client.create_request("[MB-6] a", "x", CUSTOMER, None)
    client.create_request("[MB-7] b", "x", CUSTOMER, None)
    assert len(jsm.calls("GET", "/servicedesk/7/customer")) == 1
    assert len(jsm.calls("POST", "/customer")) == 1


def test_adding_to_desk_can_be_switched_off(jsm: FakeJsm) -> None:
    with JsmClient(settings_for(jsm, add_customers_to_desk=False)) as client:
        client.ensure_customer(CUSTOMER, "Erika")
    assert jsm.calls("POST", "/servicedesk/7/customer") == []


# --- idempotency: finding a request by the mailbot reference -----------------------------------


def test_find_request_by_reference_is_a_jql_phrase_search_and_matches_the_whole_reference(
    jsm: FakeJsm, client: JsmClient
) -> None:
    client.create_request("[MB-12] Andere Anfrage", "x", CUSTOMER, None)
    for n in range(3):  # hits of the fuzzy search term that are not ours, more than a page of them
        client.create_request(f"[MB-1{n}0] noise", "x", CUSTOMER, None)
    created = client.create_request("[MB-1] Login geht nicht", "x", CUSTOMER, None)

    assert client.find_request_by_reference("MB-1") == created
    assert client.find_request_by_reference("MB-999") is None
    searches = jsm.calls("POST", "/rest/api/3/search/jql")
    assert searches[0].json == {
        "jql": 'project = "HELP" AND summary ~ "\\"MB-1\\""',
        "fields": ["summary"],
        "maxResults": 50,
    }
    assert any("nextPageToken" in s.json for s in searches)  # the fake pages by 2: paging is followed
    # the deprecated requestOwnership=ALL_REQUESTS search is gone
    assert jsm.calls("GET", "/request") == []


def test_project_key_as_service_desk_id_is_resolved_to_the_desk_number(jsm: FakeJsm) -> None:
    with JsmClient(settings_for(jsm, service_desk_id="help")) as client:
        assert client.desk().id == "7"
        client.create_request("[MB-20] a", "x", CUSTOMER, None)
        assert client.find_request_by_reference("MB-20") is not None
    assert [c.json["serviceDeskId"] for c in jsm.calls("POST", "/request")] == ["7"]
    assert len(jsm.calls("GET", "/servicedesk")) == 1  # resolved once per client
    assert jsm.calls("GET", "/servicedesk/7/customer")  # desk paths use the number too


def test_numeric_service_desk_id_is_checked_and_gives_the_project_for_jql(
    jsm: FakeJsm, client: JsmClient
) -> None:
    desk = client.desk()
    assert (desk.id, desk.project_key) == ("7", "HELP")
    assert len(jsm.calls("GET", "/servicedesk/7")) == 1
    client.desk()
    assert len(jsm.calls("GET", "/servicedesk/7")) == 1


def test_unknown_project_key_is_permanent_and_lists_the_desks_that_exist(jsm: FakeJsm) -> None:
    with (
        JsmClient(settings_for(jsm, service_desk_id="NOPE")) as client,
        pytest.raises(PermanentError, match=r"'NOPE' is not the project key .*it sees: 3 \(IT\), 7 \(HELP\)"),
    ):
        client.create_request("[MB-21] a", "x", CUSTOMER, None)
    assert jsm.calls("POST", "/request") == []


def test_settings_accept_a_desk_number_or_a_project_key_and_nothing_else() -> None:
    base = {"base_url": "https://x.atlassian.net", "user": "bot@example.test", "request_type_id": "25"}
    assert JiraSettings.model_validate(base | {"service_desk_id": 7}).service_desk_id == "7"
    assert JiraSettings.model_validate(base | {"service_desk_id": "help_2"}).service_desk_id == "HELP_2"
    for bad in ("7a", "HELP DESK", "-1", ""):
        with pytest.raises(ValidationError, match="neither a service desk id"):
            JiraSettings.model_validate(base | {"service_desk_id": bad})


# --- following a request -------------------------------------------------------------------------


def test_request_state_follows_status_changes(jsm: FakeJsm, client: JsmClient) -> None:
    key = client.create_request("[MB-8] a", "x", CUSTOMER, Severity.MAJOR).issue_key
    state = client.request_state(key)
    assert (state.status, state.category, state.done) == ("Waiting for support", "NEW", False)

    jsm.set_status(key, "In progress", "INDETERMINATE")
    assert client.request_state(key).category == "INDETERMINATE"

    jsm.set_status(key, "Resolved", "DONE")
    state = client.request_state(key)
    assert (state.status, state.done) == ("Resolved", True)
    assert state.changed_at is not None
    assert abs(state.changed_at - datetime.now(UTC)) < timedelta(minutes=1)


def test_unknown_request_is_permanent_and_names_the_key(client: JsmClient) -> None:
    with pytest.raises(PermanentError, match=r"request HELP-404 does not exist"):
        client.request_state("HELP-404")


def test_public_comments_are_paged_filtered_and_resumable(jsm: FakeJsm, client: JsmClient) -> None:
    key = client.create_request("[MB-9] a", "x", CUSTOMER, None).issue_key
    ids = [jsm.add_comment(key, f"Antwort {n}") for n in range(5)]
    jsm.add_comment(key, "intern: Kunde nervt", public=False)

    comments = client.public_comments(key)

    assert [c.id for c in comments] == ids
    assert [c.body for c in comments] == [f"Antwort {n}" for n in range(5)]
    assert {(c.author, c.author_email, c.public) for c in comments} == {
        ("Agent Smith", "agent@example.test", True)
    }
    assert all(c.created is not None and c.created.tzinfo is not None for c in comments)
    gets = jsm.calls("GET", f"/request/{key}/comment")
    assert [g.query["start"] for g in gets] == [["0"], ["2"], ["4"]]  # the fake returns 2 per page
    assert {(g.query["public"][0], g.query["internal"][0]) for g in gets} == {("true", "false")}

    assert [c.id for c in client.public_comments(key, since_id=ids[2])] == ids[3:]
    assert client.public_comments(key, since_id=ids[-1]) == []


# --- failures ------------------------------------------------------------------------------------


def test_rejected_token_is_permanent_names_the_fix_and_never_shows_the_token(jsm: FakeJsm) -> None:
    wrong = "wrong-token-abcdef-123456"
    with JsmClient(settings_for(jsm, token=SecretStr(wrong))) as client:
        with pytest.raises(PermanentError) as caught:
            client.request_state("HELP-1")
        assert wrong not in repr(client)
    message = str(caught.value)
    assert "Jira rejected the API token for bot@example.test" in message
    assert "check [jira] user and token" in message
    assert caught.value.status == 401  # type: ignore[attr-defined]
    assert wrong not in message and jsm.token not in message
    assert caught.value.__cause__ is None


def test_server_error_is_transient_and_the_next_call_works(jsm: FakeJsm, client: JsmClient) -> None:
    jsm.fail_next(1, status=503)
    with pytest.raises(TransientError) as caught:
        client.ensure_customer(CUSTOMER, "Erika")
    assert caught.value.status == 503  # type: ignore[attr-defined]
    assert client.ensure_customer(CUSTOMER, "Erika")


def test_rate_limit_is_transient_with_retry_after(jsm: FakeJsm, client: JsmClient) -> None:
    jsm.fail_next(1, status=429, retry_after="30")
    with pytest.raises(HttpTransientError) as caught:
        client.request_state("HELP-1")
    assert caught.value.retry_after == 30
    assert "asks to wait 30 s" in str(caught.value)


def test_timeout_is_transient(jsm: FakeJsm) -> None:
    jsm.hang_next()
    with (
        JsmClient(settings_for(jsm, timeout_seconds=0.3)) as client,
        pytest.raises(TransientError, match="timed out"),
    ):
        client.request_state("HELP-1")


def test_a_jira_answering_byte_by_byte_is_given_up_at_the_timeout(jsm: FakeJsm) -> None:
    """Issue 11: each byte arrives within the read timeout; the call as a whole must not last longer."""
    jsm.drip_next(1, interval=0.4)
    started = time.monotonic()
    with (
        JsmClient(settings_for(jsm, timeout_seconds=1)) as client,
        pytest.raises(
            HttpTimeout, match=r"reading request HELP-1 timed out \(no complete answer within 1 s\)"
        ),
    ):
        client.request_state("HELP-1")
    assert time.monotonic() - started < 2
    with JsmClient(settings_for(jsm, timeout_seconds=1)) as client:  # the next call is answered as usual
        client.ensure_customer(CUSTOMER, "Erika")


def test_unreachable_server_is_transient(jsm: FakeJsm) -> None:
    settings = settings_for(jsm)
    jsm.stop()
    with JsmClient(settings) as client, pytest.raises(TransientError, match="failed"):
        client.request_state("HELP-1")


def test_unknown_service_desk_is_permanent_and_names_the_setting(jsm: FakeJsm) -> None:
    fix = r"service desk 8 does not exist: check \[jira\] service_desk_id"
    with (
        JsmClient(settings_for(jsm, service_desk_id="8")) as client,
        pytest.raises(PermanentError, match=fix),
    ):
        client.create_request("[MB-10] a", "x", CUSTOMER, None)


def test_unknown_request_type_is_permanent_and_names_the_setting(jsm: FakeJsm) -> None:
    fix = r"request type 99 belongs to service desk 7"
    with (
        JsmClient(settings_for(jsm, request_type_id="99")) as client,
        pytest.raises(PermanentError, match=fix),
    ):
        client.create_request("[MB-11] a", "x", CUSTOMER, None)


def test_unknown_priority_name_is_permanent_and_names_the_setting(jsm: FakeJsm) -> None:
    fix = r"priority 'Blocker' \(\[jira\] priorities\)"
    settings = settings_for(jsm, priorities={"critical": "Blocker"})
    with JsmClient(settings) as client, pytest.raises(PermanentError, match=fix):
        client.create_request("[MB-13] a", "x", CUSTOMER, Severity.CRITICAL)


# --- settings and helpers ------------------------------------------------------------------------


def test_settings_refuse_plain_http_except_loopback() -> None:
    base = {"user": "bot@example.test", "token": "t", "service_desk_id": 7, "request_type_id": "25"}
    assert (
        JiraSettings.model_validate(base | {"base_url": "http://127.0.0.1:8080/"}).base_url
        == "http://127.0.0.1:8080"
    )
    assert JiraSettings.model_validate(base | {"base_url": "https://x.atlassian.net"}).service_desk_id == "7"
    for bad in ("http://x.atlassian.net", "https://bot:secret@x.atlassian.net", "x.atlassian.net"):
        with pytest.raises(ValidationError):
            JiraSettings.model_validate(base | {"base_url": bad})
    with pytest.raises(ValidationError, match="unknown severities"):
        JiraSettings.model_validate(
            base | {"base_url": "https://x.atlassian.net", "priorities": {"urgent": "P1"}}
        )


def test_token_comes_from_the_environment_first() -> None:
    settings = JiraSettings(
        base_url="https://x.atlassian.net",
        user="bot@example.test",
        service_desk_id="7",
        request_type_id="25",
        token=SecretStr("from-file"),
        token_env="JIRA_TOKEN",
    )
    assert settings.resolve_token({"JIRA_TOKEN": "from-env"}).get_secret_value() == "from-env"
    assert settings.resolve_token({}).get_secret_value() == "from-file"
    assert "from-file" not in repr(settings)
    without = settings.model_copy(update={"token": None})
    with pytest.raises(ConfigError, match="set the environment variable JIRA_TOKEN"):
        without.resolve_token({})


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    now = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Fri, 01 May 2026 12:01:30 GMT", now) == 90
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
