"""bench/throughput.py: the mails it measures with and the profile table it writes are what they claim."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from bench.throughput import MailFactory, SizeResult, percentile, repeated_sizes, summarise_profile
from mailbot.parse import parse_mail


def test_the_mix_is_80_percent_questions_and_the_same_mail_every_time() -> None:
    factory = MailFactory.from_shipped_kb()
    kinds = Counter(factory.kind(i) for i in range(2000))
    assert 0.77 < kinds["question"] / 2000 < 0.83
    assert {"fault", "out_of_scope", "auto_reply"} <= kinds.keys()
    assert without_date(factory.mail(17)) == without_date(factory.mail(17))
    assert without_date(factory.mail(17)) != without_date(factory.mail(18))


def without_date(raw: bytes) -> bytes:
    return b"".join(line for line in raw.splitlines(keepends=True) if not line.startswith(b"Date:"))


def test_every_kind_of_mail_parses_and_questions_quote_a_kb_example() -> None:
    factory = MailFactory.from_shipped_kb()
    examples = {example.lower().rstrip("?.!") for _title, example, _lang in factory.questions}
    seen: set[str] = set()
    for index in range(200):
        mail = parse_mail(factory.mail(index), default_language="de")
        kind = factory.kind(index)
        seen.add(kind)
        if kind == "question":
            assert any(example in mail.body.lower() for example in examples), mail.body
        if kind == "auto_reply":
            assert mail.headers.get("auto-submitted") or mail.headers.get("x-autoreply")
    assert seen == {"question", "fault", "out_of_scope", "auto_reply"}


def test_profile_table_counts_self_and_cumulative_time_per_function(tmp_path: Path) -> None:
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "main (/x/wt-a/cli.py);work (/x/wt-a/w.py);sql (/x/site-packages/db.py) 3\n"
        "main (/x/wt-a/cli.py);work (/x/wt-a/w.py) 1\n"
        "main (/x/wt-a/cli.py);recurse (r.py);recurse (r.py) 4\n"
    )
    table = summarise_profile(raw)
    assert "samples: 8" in table
    assert "| 50.0% | `recurse (r.py)` |" in table  # self: 4 of 8; a recursive frame counts once
    assert "| 100.0% | `main (cli.py)` |" in table
    assert "| 37.5% | `sql (db.py)` |" in table
    assert "| 50.0% | `work (w.py)` |" in table  # cumulative: 3 + 1


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.95) == 96.0
    assert percentile([2.0], 0.95) == 2.0


def test_long_mails_carry_context_a_signature_and_sometimes_a_quote_that_parsing_strips() -> None:
    long = MailFactory.from_shipped_kb(long=True)
    examples = {example.lower().rstrip("?.!") for _title, example, _lang in long.questions}
    quoted = 0
    for index in range(120):
        raw = long.mail(index)
        if long.kind(index) != "question":
            continue
        assert len(raw) > 900  # a short one without HTML has at most ~600 bytes
        mail = parse_mail(raw, default_language="de")
        assert any(example in mail.body.lower() for example in examples), mail.body
        assert "HRB 123456" not in mail.body and "Musterstraße" not in mail.body  # the signature is gone
        assert "\n>" not in mail.body  # so is the quoted answer
        quoted += b"schrieb Support" in raw or b"Support <" in raw
    assert quoted > 20


def a_run(count: int, seconds: float) -> SizeResult:
    return SizeResult(
        count=count, seconds=seconds, max_rss_mb=270 + seconds, sent=count, outcomes={},
        fetch_seconds=count / 4000, send_seconds=count / 800, load="0.5", cpu_seconds=seconds, phases={},
    )  # fmt: skip


def test_a_size_run_more_than_once_is_summed_up_by_its_median_and_range() -> None:
    runs = [a_run(10_000, 50.0), a_run(1_000, 8.0), a_run(10_000, 40.0), a_run(10_000, 44.0)]
    (line,) = repeated_sizes(runs)  # 1,000 ran once: nothing to sum up
    assert line.startswith("10000 mails, 3 runs: 227.3 mails/s end to end (median; 200.0-250.0)")
    assert "ratio to the floor 34.1% (median)" in line  # floor 10,000 / 15 s = 666.7 mails/s
    assert line.endswith("peak RSS 320 MB (the largest)")
