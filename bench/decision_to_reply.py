"""How long a decided mail's reply waits: decision committed -> reply accepted by the sink, run --once.

    .venv/bin/python bench/decision_to_reply.py [N]          # default 300 mails, 80 % KB questions
    MAILBOT_BENCH_CODE=/work/main .venv/bin/python bench/decision_to_reply.py [N]   # another checkout

N mails into a real Dovecot, one in-process `run_once` (model training excluded) with replies into
the aiosmtpd sink; per reply to a customer: the sink's acceptance time minus its inbound mail's
`processed_at` (same wall clock, UTC). Printed: p50/p95/max of that wait, the time from the first
decision to the first acceptance, and the tail (last acceptance - last decision), i.e. what delivery
adds after processing is done.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from datetime import UTC
from email import message_from_bytes
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CODE = Path(os.environ.get("MAILBOT_BENCH_CODE", ROOT))
sys.path.insert(0, str(CODE))

from sqlalchemy import select  # noqa: E402

from mailbot.app import build_app  # noqa: E402
from mailbot.config import load_settings  # noqa: E402
from mailbot.db.schema import InboundMail  # noqa: E402
from mailbot.worker import run_once  # noqa: E402

sys.path.insert(0, str(ROOT))  # this checkout's test servers (the sink's acceptance times)
for name in [name for name in sys.modules if name == "tests" or name.startswith("tests.")]:
    del sys.modules[name]
from e2e_throughput import question_mails  # noqa: E402  (bench/ is on sys.path when run as a script)

from tests.e2e.conftest import write_config  # noqa: E402
from tests.servers import DovecotServer, SmtpSink  # noqa: E402


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main(count: int) -> None:
    mails = question_mails(count, seed=13)
    with DovecotServer.started() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        user = dovecot.new_user()
        config = write_config(Path(tmp) / "mailbot.toml", dovecot, user, sink)
        app = build_app(load_settings(config))
        run_once(app)  # an empty pass: models loaded (or trained) before the clock starts
        with dovecot.imap_client(user) as client:
            client.multiappend("INBOX", mails)
        load = " ".join(f"{value:.2f}" for value in os.getloadavg())
        started = time.perf_counter()
        report = run_once(app)
        elapsed = time.perf_counter() - started
        sink.wait_for(report.delivery.sent, timeout=60)
        with app.sessions() as session:
            decided = {
                row.from_addr: row.processed_at.replace(tzinfo=UTC)
                for row in session.execute(select(InboundMail.from_addr, InboundMail.processed_at))
            }
        app.close()
        accepted = {}
        for message, when in zip(sink.messages, sink.acceptance_times, strict=True):
            to = str(message_from_bytes(message.data)["To"])
            if to in decided:
                accepted.setdefault(to, when)
    waits = [(accepted[a] - decided[a]).total_seconds() for a in accepted]
    print(f"mailbot from {CODE}: {count} mails, run --once {elapsed:.1f} s, load average before {load}")
    print(f"  replies to customers         {len(waits)} (of {report.delivery.sent} mails sent)")
    print(
        f"  decision -> reply accepted   p50 {statistics.median(waits):.3f} s, "
        f"p95 {percentile(waits, 0.95):.3f} s, max {max(waits):.3f} s"
    )
    first = (min(accepted.values()) - min(decided.values())).total_seconds()
    tail = (max(accepted.values()) - max(decided.values())).total_seconds()
    print(f"  first decision -> first reply {first:.3f} s; last decision -> last reply {tail:.3f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
