"""The mailbot CLI with an SQL statement counter and call timers, for `bench/throughput.py --profile`.

Why a wrapper: the statements per mail are counted inside the worker process without touching
mailbot/, by a SQLAlchemy `before_cursor_execute` listener on every engine, and the calls the issue
names (compose_reply, the TF-IDF transforms of both models, ...) are counted and timed by wrapping
them where they are looked up. At exit it writes the total, the counts per statement kind, the most
frequent statements (as text, parameters left out, so no customer data) and the timers to the JSON
file named by $MAILBOT_BENCH_SQL_OUT.
Usage: python bench/throughput_worker.py run --once --config mailbot.toml
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sklearn.pipeline import FeatureUnion

import mailbot.db.claims
import mailbot.pipeline.prepare
import mailbot.pipeline.process
import mailbot.reply.outbox
from mailbot.classify.model import Classifier
from mailbot.classify.severity import SeverityModel
from mailbot.cli import main

STATEMENTS: Counter[str] = Counter()
CALLS: Counter[str] = Counter()
SECONDS: Counter[str] = Counter()


def _timed(owner: Any, name: str, label: str) -> None:
    """Replace `owner.name` by a wrapper that counts the calls and sums their wall time."""
    original: Callable[..., Any] | None = getattr(owner, name, None)
    if original is None:  # named by an older or newer mailbot: nothing to time
        return

    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            CALLS[label] += 1
            SECONDS[label] += time.perf_counter() - started

    setattr(owner, name, timed)


for _owner, _name, _label in [
    (mailbot.reply.outbox, "compose_reply", "compose_reply"),
    (mailbot.pipeline.process, "parse_mail", "parse_mail"),
    (mailbot.pipeline.prepare, "parse_mail", "parse_mail"),
    (mailbot.pipeline.process, "prepare_batch", "prepare_batch (parse + both models, per batch)"),
    (mailbot.pipeline.process, "apply_decision", "apply_decision"),
    (mailbot.pipeline.process, "rule_context", "rule_context"),
    (mailbot.pipeline.process, "claim_inbound_batch", "claim_inbound_batch"),
    (Classifier, "predict_texts", "Classifier.predict_texts (article model)"),
    (SeverityModel, "guess_texts", "SeverityModel.guess_texts (severity model)"),
    (FeatureUnion, "transform", "FeatureUnion.transform (TF-IDF, both models)"),
]:
    _timed(_owner, _name, _label)


@event.listens_for(Engine, "before_cursor_execute")
def _count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
    STATEMENTS[" ".join(statement.split())[:160]] += 1


def _write() -> None:
    kinds: Counter[str] = Counter()
    for statement, count in STATEMENTS.items():
        kinds[statement.split(" ", 1)[0].upper()] += count
    summary = {
        "total": sum(STATEMENTS.values()),
        "kinds": dict(kinds.most_common()),
        "top": STATEMENTS.most_common(25),
        "calls": {label: [n, round(SECONDS[label] * 1000 / n, 3)] for label, n in CALLS.items()},
    }
    Path(os.environ["MAILBOT_BENCH_SQL_OUT"]).write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    if os.environ.get("MAILBOT_BENCH_SQL_OUT"):
        atexit.register(_write)
    sys.exit(main(sys.argv[1:]))
