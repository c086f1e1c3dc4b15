"""The pure parts of deleting mail-server copies (issue 15): the policy table, what is searched where,
and errors that carry neither an address nor a Message-ID."""

from __future__ import annotations

import hashlib

import pytest

from mailbot.config import ImapSettings
from mailbot.parse.core import derived_message_id, message_id_of
from mailbot.privacy.folder_copies import (
    derived_message_id_for,
    folders_to_search,
    safe_error,
    search_criteria,
)
from mailbot.privacy.folders import queues_folder_copy

SHA = hashlib.sha256(b"whatever").hexdigest()


@pytest.mark.parametrize(
    ("policy", "erasure", "retention"),
    [("delete", True, True), ("leave", True, False), ("keep", False, False)],
)
def test_the_policy_decides_which_reasons_queue_the_server_copies(
    policy: str, erasure: bool, retention: bool
) -> None:
    assert queues_folder_copy(policy, "erasure") is erasure
    assert queues_folder_copy(policy, "retention") is retention


def test_an_unknown_policy_or_reason_is_refused_not_taken_for_keep() -> None:
    with pytest.raises(ValueError, match="delete, leave, keep"):
        queues_folder_copy("remove", "erasure")
    with pytest.raises(ValueError, match="erasure, retention"):
        queues_folder_copy("delete", "request")


def test_a_message_id_is_searched_without_its_brackets() -> None:
    assert search_criteria("<abc.123@customer.example.org>", SHA) == [
        "HEADER",
        "Message-ID",
        "abc.123@customer.example.org",
    ]


def test_a_message_id_with_characters_a_search_string_cannot_carry_is_searched_by_its_longest_piece() -> None:
    assert search_criteria('<a"b\\c-longest-piece@ex ample>', SHA) == [
        "HEADER",
        "Message-ID",
        "c-longest-piece@ex",
    ]
    assert search_criteria("<schöne-grüße-aus-köln@example.org>", SHA)[2] == "ln@example.org"
    assert search_criteria("<äöü>", SHA) == ["ALL"]  # nothing plain to search by: the hash decides alone


def test_a_mail_without_message_id_is_looked_for_among_mails_without_one() -> None:
    raw = b"From: a@example.org\r\nSubject: no id\r\n\r\nhello\r\n"
    stored_id, sha = message_id_of(raw), hashlib.sha256(raw).hexdigest()
    assert stored_id == derived_message_id(raw) == derived_message_id_for(sha)
    assert search_criteria(stored_id, sha) == ["NOT", "HEADER", "Message-ID", "@"]
    # an id that merely looks derived but belongs to other bytes is an ordinary id
    assert search_criteria(stored_id, SHA)[0] == "HEADER"


def test_processed_quarantine_and_the_inbox_are_searched_once_each() -> None:
    settings = ImapSettings(
        host="imap.example", folder="INBOX", processed_folder="Done", quarantine_folder="Q"
    )
    assert folders_to_search(settings) == ["Done", "Q", "INBOX"]


def test_an_error_kept_on_the_row_names_no_message_id_and_no_address() -> None:
    text = safe_error(
        'IMAP SEARCH in Processed refused: BAD "4711.x@mail.erika.example" from erika.muster@example.org',
        "<4711.x@mail.erika.example>",
    )
    assert "4711" not in text and "erika.muster" not in text
    assert text.startswith("IMAP SEARCH in Processed refused: BAD")
