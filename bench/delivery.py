"""Outbox delivery alone: sends/s over `[smtp] connections` = 1, 3, ... against the aiosmtpd sink.

    .venv/bin/python bench/delivery.py [--count 1241] [--connections 1,3] [--size 6000] [--rounds 2]

For each pool size and round: a fresh SQLite database (migrated as mailbot's) with `count` pending
outbox rows of about `size` bytes each (a reply's size: text + HTML), a fresh sink in a child process
(so that the sink does not share this interpreter's GIL with the deliverer), then one
`Deliverer.deliver_due()` timed from the first claim to the last row marked sent. Printed: sends/s,
SQL statements per message (counted by a cursor listener), the sink's sessions, and a check that
every row is `sent` and the sink got each message exactly once. 1,241 is the number of replies of the
1k throughput run (bench/throughput.py).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import event, func, select

ROOT = Path(__file__).resolve().parents[1]
# MAILBOT_BENCH_CODE=/work/main measures another checkout's mailbot (e.g. the delivery before the pool)
CODE = Path(os.environ.get("MAILBOT_BENCH_CODE", ROOT))
sys.path.insert(0, str(CODE))

from mailbot.config import SmtpSettings  # noqa: E402
from mailbot.db.engine import make_session_factory, open_engine  # noqa: E402
from mailbot.db.schema import OutboxMail, OutboxState  # noqa: E402
from mailbot.reply.deliver import Deliverer  # noqa: E402

SINK_CHILD = """
import json, sys
from collections import Counter
from email import message_from_bytes
sys.path.insert(0, sys.argv[1])
from tests.servers import SmtpSink
with SmtpSink() as sink:
    print(sink.port, flush=True)
    sys.stdin.read()  # until the parent closes it
    ids = Counter(str(message_from_bytes(m.data)["Message-ID"]) for m in sink.messages)
    print(json.dumps({"messages": len(sink.messages), "distinct": len(ids),
                      "twice": sum(1 for n in ids.values() if n > 1), "sessions": sink.session_count}))
"""


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def queue(sessions, count: int, size: int) -> None:
    now = datetime.now(UTC)
    text = ("Sehr geehrte Kundin, sehr geehrter Kunde, hier ist die Antwort auf Ihre Frage. " * 100)[:size]
    filler = "\r\n".join(text[start : start + 76] for start in range(0, len(text), 76))
    with sessions.begin() as session:
        for number in range(count):
            raw = (
                f"From: support@example.com\r\nTo: kunde{number}@example.org\r\nSubject: Antwort {number}\r\n"
                f"Message-ID: <bench{number}@example.com>\r\nMIME-Version: 1.0\r\n"
                f"Content-Type: text/plain; charset=utf-8\r\n\r\n{filler}\r\n"
            ).encode()
            session.add(
                OutboxMail(
                    mailbox="default", kind="answer", to_customer=True, ticket_id=None, inbound_id=None,
                    message_id=f"<bench{number}@example.com>", mail_from="support@example.com",
                    recipient=f"kunde{number}@example.org", subject=f"Antwort {number}", raw=raw,
                    state=OutboxState.PENDING, attempts=0, next_attempt_at=now, created_at=now,
                    dedup_key=f"bench:{number}",
                )
            )  # fmt: skip


def measure(count: int, connections: int, size: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        sessions = make_session_factory(engine)
        queue(sessions, count, size)
        sink = subprocess.Popen(
            [sys.executable, "-c", SINK_CHILD, str(ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert sink.stdout is not None and sink.stdin is not None
        port = int(sink.stdout.readline())
        statements = [0]

        def count_statement(*_args: object) -> None:
            statements[0] += 1

        event.listen(engine, "before_cursor_execute", count_statement)
        pool = {"connections": connections} if "connections" in SmtpSettings.model_fields else {}
        settings = SmtpSettings(host="127.0.0.1", port=port, security="none", **pool)
        deliverer = Deliverer(settings, "default", sessions, lambda: datetime.now(UTC))
        started = time.perf_counter()
        report = deliverer.deliver_due()
        seconds = time.perf_counter() - started
        event.remove(engine, "before_cursor_execute", count_statement)
        sink.stdin.close()
        received = json.loads(sink.stdout.read().strip().splitlines()[-1])
        sink.wait(timeout=30)
        with sessions() as session:
            states = Counter(
                dict(session.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state)).all())
            )
        engine.dispose()
    ok = states == Counter({"sent": count}) and received["distinct"] == count and received["twice"] == 0
    return {
        "connections": connections,
        "seconds": seconds,
        "rate": count / seconds,
        "statements_per_message": statements[0] / count,
        "sessions": received["sessions"],
        "errors": report.errors,
        "ok": ok,
        "received": received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=1241)
    parser.add_argument("--connections", default="1,3", help="comma-separated pool sizes")
    parser.add_argument("--size", type=int, default=6000, help="bytes of each message's body")
    parser.add_argument("--rounds", type=int, default=2, help="each pool size this often, interleaved")
    args = parser.parse_args()
    sizes = [int(value) for value in args.connections.split(",")]
    print(f"mailbot from {CODE}: {args.count} messages of ~{args.size} bytes, load average {load_average()}")
    print("| connections | round | s | sends/s | SQL statements/message | sink sessions | all sent once |")
    print("|---:|---:|---:|---:|---:|---:|---|")
    for round_number in range(1, args.rounds + 1):
        for connections in sizes:
            result = measure(args.count, connections, args.size)
            print(
                f"| {connections} | {round_number} | {result['seconds']:.2f} | {result['rate']:.0f} | "
                f"{result['statements_per_message']:.2f} | {result['sessions']} | {result['ok']} |",
                flush=True,
            )
            if not result["ok"]:
                print(f"  NOT ALL SENT ONCE: {result}", flush=True)
    print(f"load average after {load_average()}")


if __name__ == "__main__":
    main()
