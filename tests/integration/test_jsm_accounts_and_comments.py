"""JsmClient against the JSM stand-in: customers Jira will not show or create, comments, attachments,
and the mapping of every documented HTTP status to TransientError or PermanentError."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from mailbot.errors import PermanentError, TransientError
from mailbot.escalate import HttpPermanentError, HttpTransientError
from mailbot.escalate.jira import JsmClient
from mailbot.escalate.jira_customers import CustomerUnavailable
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
def no_admin() -> Iterator[FakeJsm]:
    """A bot that is an agent and desk administrator, but not Jira Administrator (the usual setup)."""
    with FakeJsm(page_size=2, jira_admin=False) as fake:
        yield fake


# --- customers Jira does not show: hidden e-mail address, missing permissions --------------------


def test_hidden_email_without_jira_admin_is_found_by_the_user_search_and_raised_on_behalf(
    no_admin: FakeJsm,
) -> None:
    account = no_admin.add_customer(CUSTOMER, "Erika Muster", on_desk=False, email_visible=False)
    with JsmClient(settings_for(no_admin)) as client:
        created = client.create_request("[MB-1] a", "Text", CUSTOMER, None, customer_name="Erika Muster")

    assert created.reporter_fallback is None
    assert len(no_admin.calls("POST", "/customer")) == 1  # refused with 403 ...
    assert no_admin.calls("GET", "/rest/api/3/user/search")[0].query["query"] == [
        CUSTOMER
    ]  # ... then searched
    assert no_admin.calls("POST", "/request")[0].json["raiseOnBehalfOf"] == account
    assert account in no_admin.desk_customers()


def test_customer_nobody_can_find_or_create_is_raised_as_the_bot_naming_the_customer() -> None:
    with FakeJsm(jira_admin=False, browse_users=False) as fake:
        fake.add_customer(CUSTOMER, "Erika Muster", on_desk=False, email_visible=False)
        with JsmClient(settings_for(fake)) as client:
            created = client.create_request(
                "[MB-2] a", "Die App stürzt ab.", CUSTOMER, None, customer_name="Erika"
            )

        (post,) = fake.calls("POST", "/request")
        assert "raiseOnBehalfOf" not in post.json
        assert (
            post.json["requestFieldValues"]["description"]
            == f"E-mail from Erika <{CUSTOMER}>\n\nDie App stürzt ab."
        )
        assert fake.request(created.issue_key).reporter == fake.bot_account
    reason = created.reporter_fallback or ""
    assert "Jira Administrator" in reason and "Browse users and groups" in reason and "hidden" in reason


def test_missing_desk_administrator_role_also_falls_back_to_the_bot(jsm_no_desk_admin: FakeJsm) -> None:
    jsm_no_desk_admin.add_customer(CUSTOMER, "Erika Muster", on_desk=False)
    with JsmClient(settings_for(jsm_no_desk_admin)) as client:
        created = client.create_request("[MB-3] a", "x", CUSTOMER, None)
    assert "administrator role of service desk 7" in (created.reporter_fallback or "")
    assert "add_customers_to_desk = false" in (created.reporter_fallback or "")


@pytest.fixture
def jsm_no_desk_admin() -> Iterator[FakeJsm]:
    with FakeJsm(desk_admin=False) as fake:
        yield fake


def test_unknown_customers_fail_when_configured_so_and_jira_is_asked_once() -> None:
    with FakeJsm(jira_admin=False, browse_users=False) as fake:
        with JsmClient(settings_for(fake, unknown_customers="fail")) as client:
            for _ in range(2):
                with pytest.raises(CustomerUnavailable, match="no customer of service desk 7"):
                    client.create_request("[MB-4] a", "x", CUSTOMER, None)
        assert fake.calls("POST", "/request") == []
        assert len(fake.calls("POST", "/customer")) == 1  # the answer is kept for the client's lifetime


def test_existing_account_the_bot_cannot_see_names_the_browse_permission() -> None:
    with FakeJsm(browse_users=False) as fake:
        fake.add_customer(CUSTOMER, "Erika", on_desk=False)
        refused = pytest.raises(
            PermanentError, match=r"exists, but bot@example\.test cannot find it.*Browse users"
        )
        with JsmClient(settings_for(fake, unknown_customers="fail")) as client, refused:
            client.ensure_customer(CUSTOMER, "Erika")


# --- comments and attachments --------------------------------------------------------------------


@pytest.fixture
def jsm() -> Iterator[FakeJsm]:
    with FakeJsm(page_size=2) as fake:
        yield fake


def test_internal_comment_is_posted_with_public_false_and_authored_by_the_bot(jsm: FakeJsm) -> None:
    with JsmClient(settings_for(jsm)) as client:
        key = client.create_request("[MB-5] a", "x", CUSTOMER, None).issue_key
        comment = client.add_comment(key, "Severity guess: major", public=False)
        assert comment is not None and comment.public is False
        assert comment.author_account == client.own_account_id() == jsm.bot_account
        assert client.public_comments(key) == []
        assert [c.body for c in client.comments(key, public=False)] == ["Severity guess: major"]
    assert jsm.calls("POST", f"/request/{key}/comment")[0].json == {
        "body": "Severity guess: major",
        "public": False,
    }
    assert len(jsm.calls("GET", "/rest/api/3/myself")) == 1


def test_files_are_uploaded_to_the_desk_then_attached_with_the_comment(jsm: FakeJsm) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with JsmClient(settings_for(jsm)) as client:
        key = client.create_request("[MB-6] a", "x", CUSTOMER, None).issue_key
        first = client.attach_temporary_file("Bildschirmfoto 1.png", "image/png", png)
        second = client.attach_temporary_file("log.txt", "text/plain", "Zeile ü\n".encode())
        comment = client.add_attachments(key, [first, second], "Hier die Screenshots.", public=True)

    upload = jsm.calls("POST", "/servicedesk/7/attachTemporaryFile")[0]
    assert upload.headers["x-atlassian-token"] == "no-check"
    assert upload.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="Bildschirmfoto 1.png"' in upload.body
    assert jsm.calls("POST", f"/request/{key}/attachment")[0].json == {
        "temporaryAttachmentIds": [first, second],
        "public": True,
        "additionalComment": {"body": "Hier die Screenshots."},
    }
    stored = jsm.request(key).attachments
    assert [(a.filename, a.mime_type, a.data, a.public) for a in stored] == [
        ("Bildschirmfoto 1.png", "image/png", png, True),
        ("log.txt", "text/plain", "Zeile ü\n".encode(), True),
    ]
    assert comment is not None and comment.body.startswith("Hier die Screenshots.") and comment.public


def test_attachments_switched_off_is_permanent_and_says_so() -> None:
    refused = pytest.raises(
        PermanentError, match="may not add attachments in service desk 7, or attachments are"
    )
    with FakeJsm(attachments=False) as fake, JsmClient(settings_for(fake)) as client, refused:
        client.attach_temporary_file("a.png", "image/png", b"x")


# --- every documented status is one of the two retry words ---------------------------------------


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 415, 422])
def test_client_errors_are_permanent(jsm: FakeJsm, status: int) -> None:
    jsm.fail_next(1, status=status)
    with JsmClient(settings_for(jsm)) as client, pytest.raises(HttpPermanentError) as caught:
        client.request_state("HELP-1")
    assert caught.value.status == status
    assert not isinstance(caught.value, TransientError)


@pytest.mark.parametrize(("status", "retry_after"), [(408, None), (429, 3600.0), (500, None), (502, None),
                                                     (503, 120.0), (504, None)])  # fmt: skip
def test_timeouts_rate_limits_and_server_errors_are_transient_with_the_servers_wait(
    jsm: FakeJsm, status: int, retry_after: float | None
) -> None:
    jsm.fail_next(1, status=status, retry_after=None if retry_after is None else f"{retry_after:g}")
    with JsmClient(settings_for(jsm)) as client, pytest.raises(HttpTransientError) as caught:
        client.request_state("HELP-1")
    assert (caught.value.status, caught.value.retry_after) == (status, retry_after)
