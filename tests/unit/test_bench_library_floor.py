"""bench/library_floor.py's arithmetic: from the stages' CPU to the most mails/s and the aims' budgets."""

from __future__ import annotations

from bench.library_floor import Stage, report


def test_report_sums_the_stages_and_divides_the_cores_by_them() -> None:
    stages = [Stage("parse", 1.5, ""), Stage("send", 2.5, "")]
    text = report(stages, floor=500.0, start_up=2.0, cores=2)
    assert "sum                                        4.000" in text
    assert "at most 500 mails/s on 2 cores" in text
    # 250 mails/s on 2 cores: 8 ms per mail, 4 of them taken by the libraries
    assert "aim 250 mails/s: 8.00 ms CPU per mail on 2 cores, +4.00 ms left" in text
    # 70 % of a 500 mails/s floor is 350 mails/s: 5.71 ms per mail
    assert "aim 70 % of the floor (500 mails/s here): 5.71 ms CPU per mail on 2 cores, +1.71 ms left" in text


def test_report_takes_the_start_up_off_a_fresh_run() -> None:
    text = report([Stage("all", 3.0, "")], floor=600.0, start_up=3.5, cores=2)
    # 1,000 mails at 250/s: 4 s, 0.5 s of it after the start-up: 1 ms per mail on 2 cores
    assert "aim 250 mails/s at 1000: 4.0 s in all, 0.50 s after the libraries' start-up -> 1.00 ms" in text
    assert "-2.00 ms left" in text
    # a start-up longer than the whole allowance leaves nothing
    late = report([Stage("all", 3.0, "")], floor=600.0, start_up=5.0, cores=2)
    assert "-1.00 s after the libraries' start-up -> 0.00 ms CPU per mail" in late
