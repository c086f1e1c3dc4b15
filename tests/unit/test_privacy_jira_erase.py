"""The pure parts of mailbot.privacy.jira_erase: which Jira requests mailbot deletes, what the CLI says."""

from __future__ import annotations

import pytest

from mailbot.privacy.jira_erase import JiraErasure, jira_erasure_lines, plan_jira_erasures


def test_delete_with_jira_configured_queues_every_key_once() -> None:
    plan = plan_jira_erasures("delete", True, ["HELP-1", "HELP-3", "HELP-1", ""])
    assert plan == JiraErasure(queued=("HELP-1", "HELP-3"))


@pytest.mark.parametrize(
    ("mode", "configured", "why"),
    [
        ("list", True, '[privacy] jira_erasure = "list"'),
        ("list", False, '[privacy] jira_erasure = "list"'),
        ("delete", False, "[jira] is not configured for this client"),
    ],
)
def test_anything_but_delete_through_a_configured_jira_goes_to_a_person(
    mode: str, configured: bool, why: str
) -> None:
    plan = plan_jira_erasures(mode, configured, ["HELP-2"])
    assert plan == JiraErasure(by_hand=("HELP-2",), why_by_hand=why)


def test_no_keys_no_plan_but_unknown_requests_are_still_named() -> None:
    assert plan_jira_erasures("delete", True, []).empty
    plan = plan_jira_erasures("list", True, [], ["MB-000007", "MB-000007"])
    assert plan == JiraErasure(unknown=("MB-000007",)) and not plan.empty


def test_lines_say_what_was_queued_or_what_to_do_by_hand() -> None:
    (queued,) = jira_erasure_lines(JiraErasure(queued=("HELP-1", "HELP-3")))
    assert queued.startswith("Jira requests queued for deletion (with their subtasks): HELP-1, HELP-3;")
    (dry,) = jira_erasure_lines(JiraErasure(queued=("HELP-1",)), dry_run=True)
    assert dry.startswith("Jira requests would be queued for deletion")

    listed = jira_erasure_lines(plan_jira_erasures("list", True, ["HELP-2"]))
    assert listed[0] == (
        "Jira requests that still hold the person's data: HELP-2; erase them in Jira"
        " ([privacy] jira_erasure = \"list\"; docs/privacy.md, 'Jira'):"
    )
    assert listed[1].startswith("  open each request in Jira and delete it")
    (unknown,) = jira_erasure_lines(JiraErasure(unknown=("MB-000007",)))
    assert "MB-000007; search Jira for each reference" in unknown
    assert jira_erasure_lines(JiraErasure()) == []
