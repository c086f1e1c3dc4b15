"""Measures are kept once per period and followed up in the next report (real SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from mailbot.reports.measure_store import close, listing, settle
from mailbot.reports.measures import Measure
from mailbot.reports.period import month
from tests.integration.db_rows import migrated

BERLIN = ZoneInfo("Europe/Berlin")
REVISE = Measure("revise_article", "invoice", "precision_upper_bound", 0.62, 0.9, 8)
OLD = Measure("old_backlog", "all", "open_older_than_5_business_days", 3, 0, 7)


def test_measures_are_kept_once_and_followed_up(database_url: str) -> None:
    sessions = migrated(database_url)
    october, november = month("2026-10", BERLIN), month("2026-11", BERLIN)
    first = datetime(2026, 11, 1, 7, tzinfo=BERLIN)
    with sessions.begin() as session:
        report = settle(session, "a", october, [REVISE, OLD], first)
    assert [m["key"] for m in report["recommended"]] == [REVISE.key, OLD.key]  # type: ignore[index]
    assert report["followed_up"] == []
    with sessions.begin() as session:  # the same month's report again: nothing new
        again = settle(session, "a", october, [REVISE, OLD], first)
        assert len(listing(session, "a")) == 2
        assert settle(session, "b", october, [], first)["recommended"] == []  # another client: its own
    assert [m["id"] for m in again["recommended"]] == [m["id"] for m in report["recommended"]]  # type: ignore[index]

    with sessions.begin() as session:
        close(session, "a", report["recommended"][1]["id"], "done", "alle nachgefasst", first)  # type: ignore[index]
        with pytest.raises(ValueError, match="no measure"):
            close(session, "b", report["recommended"][0]["id"], "done", "", first)  # type: ignore[index]
    with sessions.begin() as session:
        followed = settle(session, "a", november, [REVISE], datetime(2026, 12, 1, 7, tzinfo=BERLIN))
        assert len(listing(session, "a")) == 2  # the open one is carried, not stored again
    by_key = {row["key"]: row for row in followed["followed_up"]}  # type: ignore[union-attr]
    assert by_key[REVISE.key]["still_triggered"] is True and by_key[REVISE.key]["status"] == "open"
    assert by_key[OLD.key]["status"] == "done" and by_key[OLD.key]["note"] == "alle nachgefasst"
    assert followed["recommended"][0]["carried"] is True  # type: ignore[index]
