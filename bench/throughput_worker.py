"""The mailbot CLI with an SQL statement counter, for `bench/throughput.py --profile`.

Why a wrapper: the statements per mail are counted inside the worker process without touching
mailbot/, by a SQLAlchemy `before_cursor_execute` listener on every engine. At exit it writes the
total, the counts per statement kind and the most frequent statements (as text, parameters left out,
so no customer data) to the JSON file named by $MAILBOT_BENCH_SQL_OUT.
Usage: python bench/throughput_worker.py run --once --config mailbot.toml
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailbot.cli import main

STATEMENTS: Counter[str] = Counter()


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
    }
    Path(os.environ["MAILBOT_BENCH_SQL_OUT"]).write_text(json.dumps(summary, indent=1), encoding="utf-8")


if __name__ == "__main__":
    if os.environ.get("MAILBOT_BENCH_SQL_OUT"):
        atexit.register(_write)
    sys.exit(main(sys.argv[1:]))
