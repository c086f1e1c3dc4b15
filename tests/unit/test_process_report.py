"""A pass's report keeps counts, not one entry per mail (issue 13: "stream the backlog, never hold it").

`run --once` over a backlog returns one report for the whole pass; it kept an (id, outcome, summary)
tuple per mail decided, which nothing read but its length.
"""

from __future__ import annotations

import tracemalloc

from mailbot.db.schema import Outcome
from mailbot.pipeline.process import ProcessReport


def test_a_long_pass_is_reported_in_counts_of_a_fixed_size():
    report = ProcessReport()
    tracemalloc.start()
    try:
        for number in range(10_000):
            report.count_decided(Outcome.ANSWERED if number % 4 else Outcome.ESCALATED)
        held, _peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.decided == 10_000
    assert report.by_outcome == {"answered": 7_500, "escalated": 2_500}
    assert held < 2_000, f"{held} bytes held for 10,000 decisions"


def test_reports_of_several_passes_add_up():
    first, second = ProcessReport(failures=1), ProcessReport(waiting=2)
    first.count_decided(Outcome.ANSWERED)
    second.count_decided(Outcome.IGNORED)
    second.count_decided(Outcome.ANSWERED)
    first.add(second)
    assert (first.decided, first.failures, first.waiting) == (3, 1, 2)
    assert first.by_outcome == {"answered": 2, "ignored": 1}
