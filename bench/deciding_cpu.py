"""CPU per mail of deciding a stored backlog, by process, with no mail server in the measurement.

bench/throughput.py measures the whole `run --once`; on this 2-core machine every process of it (the
worker, its parsing and composing children, delivery, the SMTP sink, Dovecot) competes for the same
two cores, so a saving in one process shows in mails/s only as its share of the total, inside the
machine's noise. This script measures what one change to the deciding code saves: N mails (the mix
of bench/throughput.py) are fetched from a real Dovecot into a database once; then each run decides
a fresh copy of that database as `run --once` does (`process_pending` with its second processes) and
prints the CPU time of the worker's deciding (`_decide_batch`, the thread's own time) per mail and
the CPU of the parsing and composing children. Nothing is sent (delivery is not part of deciding).

    .venv/bin/python bench/deciding_cpu.py --count 1000 --runs 3
    .venv/bin/python bench/deciding_cpu.py --runs 4 --compare /work/wt-base   # alternated with a checkout
    .venv/bin/python bench/deciding_cpu.py --count 2000 --long               # mails of real length

`--compare DIR`: every run is followed by one of the code in DIR (a checkout of another commit, put
first on PYTHONPATH), on the same stored mails, so the two are measured in one sitting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, os.environ.get("MAILBOT_BENCH_CODE", str(ROOT)))  # --compare: the other checkout


def prepare(state: Path, count: int, long: bool = False) -> None:
    """Config, trained model and a database holding `count` fetched, undecided mails, in `state`."""
    sys.path.insert(0, str(HERE))
    import throughput

    from tests.servers import DovecotServer, SmtpSink

    with DovecotServer.started() as dovecot, SmtpSink() as sink:
        user = dovecot.new_user()
        config = throughput.write_config(state / "mailbot.toml", dovecot, user, sink)
        env = throughput.environment(config)
        throughput.run_child([*throughput.MAILBOT, "train", "--config", str(config)], env)
        factory = throughput.MailFactory.from_shipped_kb(long=long)
        throughput.append_mails(dovecot, user, factory, range(count))
        subprocess.run([sys.executable, __file__, "--fetch", str(config)], check=True, env=env)


def fetch(config: Path) -> None:
    from mailbot.app import build_app
    from mailbot.config import load_settings

    app = build_app(load_settings(config))
    source = app.make_source()
    try:
        source.fetch_new()
    finally:
        source.close()
        app.close()


def measure(state: Path, scratch: Path) -> dict[str, float]:
    """Decide a copy of `state`'s database in this process; the figures of that one run."""
    import logging

    import mailbot.pipeline.process as process
    from mailbot.app import build_app
    from mailbot.config import load_settings

    shutil.copytree(state, scratch)
    config = scratch / "mailbot.toml"
    config.write_text(config.read_text().replace(str(state), str(scratch)))
    logging.basicConfig(level=logging.INFO, filename=str(scratch / "mailbot.log"))  # as a worker logs
    app = build_app(load_settings(config))
    deciding = [0.0]
    decide_batch = process._decide_batch

    def timed(*args: object, **kwargs: object) -> object:
        started = time.thread_time()
        try:
            return decide_batch(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            deciding[0] += time.thread_time() - started

    process._decide_batch = timed  # type: ignore[assignment]
    started = time.perf_counter()
    report = process.process_pending(app, second_process=True)
    seconds = time.perf_counter() - started
    app.close()
    if report.failures or report.waiting:  # a figure of a run that did not decide everything is none
        raise SystemExit(f"{report.failures} failed, {report.waiting} waiting: see {scratch / 'mailbot.log'}")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "decided": report.decided,
        "seconds": seconds,
        "deciding_ms": deciding[0] / report.decided * 1000,
        "children_ms": (children.ru_utime + children.ru_stime) / report.decided * 1000,
    }


def run_one(state: Path, code: Path) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONPATH=str(code), MAILBOT_BENCH_CODE=str(code))
        out = subprocess.run(
            [sys.executable, __file__, "--measure", str(state), str(Path(tmp) / "run")],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="a checkout to alternate with")
    parser.add_argument("--long", action="store_true", help="mails of real length (bench/throughput.py)")
    parser.add_argument("--fetch", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fetch:
        fetch(args.fetch)
        return
    if args.measure:
        print(json.dumps(measure(*args.measure)))
        return
    codes = [ROOT] + ([args.compare.resolve()] if args.compare else [])
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp) / "state"
        state.mkdir()
        prepare(state, args.count, args.long)
        results: dict[Path, list[dict[str, float]]] = {code: [] for code in codes}
        for number in range(1, args.runs + 1):
            for code in codes:
                result = run_one(state, code)
                results[code].append(result)
                print(
                    f"run {number} {code}: {result['decided']:.0f} decided in {result['seconds']:.2f} s; "
                    f"deciding {result['deciding_ms']:.2f} ms/mail, "
                    f"children {result['children_ms']:.2f} ms/mail"
                )
    for code, runs in results.items():
        median = {key: statistics.median(run[key] for run in runs) for key in ("deciding_ms", "children_ms")}
        print(
            f"median of {len(runs)} {code}: deciding {median['deciding_ms']:.2f} ms/mail "
            f"(worker thread CPU), children {median['children_ms']:.2f} ms/mail (parse + compose)"
        )


if __name__ == "__main__":
    main()
