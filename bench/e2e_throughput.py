"""End-to-end throughput: N mails into a real Dovecot, one `mailbot run --once`, replies into aiosmtpd.

Prints mails/s for the whole run (ingest, parse, rules, classify, decide, render, deliver) and the
peak memory of the process. Usage: .venv/bin/python bench/e2e_throughput.py [N]
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mailbot.app import build_app
from mailbot.config import load_settings
from mailbot.kb import load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from mailbot.worker import run_once
from tests.e2e.conftest import make_mail, write_config
from tests.servers import DovecotServer, SmtpSink


def question_mails(count: int, seed: int) -> list[bytes]:
    """`count` customer mails: 80 % the sample KB's own examples, 20 % questions it does not answer."""
    rng = random.Random(seed)
    kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
    questions = [(a.title, example) for a in kb.articles for example in a.examples]
    unknown = [
        ("Frage", "Wann kommt die neue Version für das Tablet raus?"),
        ("Hello", "Do you sell gift cards?"),
    ]
    mails = []
    for index in range(count):
        subject, text = rng.choice(questions if rng.random() < 0.8 else unknown)
        mails.append(
            make_mail(f"customer{index}@example.org", subject, f"Hallo,\n\n{text}\n\nGruß\nKunde {index}")
        )
    return mails


def main(count: int) -> None:
    mails = question_mails(count, seed=7)
    with DovecotServer.started() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        user = dovecot.new_user()
        config = write_config(Path(tmp) / "mailbot.toml", dovecot, user, sink)
        with dovecot.imap_client(user) as client:
            client.multiappend("INBOX", mails)
        app = build_app(load_settings(config))
        started = time.perf_counter()
        report = run_once(app)
        elapsed = time.perf_counter() - started
        app.close()
        sink.wait_for(report.delivery.sent, timeout=30)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    outcomes = dict(report.processed.by_outcome)
    print(f"mails                 {count}")
    print(f"outcomes              {outcomes}")
    print(f"mails sent            {report.delivery.sent}")
    print(f"run --once            {elapsed:.2f} s (model training excluded)")
    print(f"throughput            {count / elapsed:.1f} mails/s")
    print(f"peak memory (RSS)     {peak_mb:.0f} MB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 500)
