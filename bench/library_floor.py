"""The CPU the chosen libraries alone need per mail: the most mails/s any design on them could reach here.

Issue 13 asks `run --once` for >= 250 mails/s and >= 70 % of the I/O floor on a 2-core machine.
bench/throughput.py measures what mailbot reaches and prints its CPU per mail over all processes;
this script measures the other side, what no design built on the chosen libraries can do without.
On N mails of bench/throughput.py's mix in a real Dovecot, one stage at a time and nothing else:

- IMAP: a batched FETCH over imapclient (Dovecot's own CPU not counted);
- mail-parser: `parse_from_bytes` of every mail (mailbot's parse does more: reply and signature
  stripping, charsets, defects);
- lingua: one confidence computation on each mail's text (mailbot may need two);
- scikit-learn: the shipped knowledge base's article model on the texts, 32 per call (the severity
  model, asked for likely escalations, not counted);
- reply: the shipped templates rendered and composed into bytes (Jinja2 and the stdlib's email, through
  mailbot's tuned `compose_outgoing`), the cheapest kind (an answer), per reply;
- SMTP: the replies over one aiosmtplib connection (the client's CPU) into aiosmtpd (the sink's CPU,
  which a real relay on the same machine would spend too);
- SQL: SQLAlchemy Core on SQLite with mailbot's pragmas, the least an exactly-once pipeline writes:
  per mail its row stored, its outcome updated and its replies queued, one transaction per 32 mails.

Replies per mail: 1.24, as in throughput.py's runs (an answer, or an acknowledgement and a team
notice per escalation). The sum is a lower bound of the CPU per mail; the cores divided by it the
upper bound of mails/s, with perfect overlap and no code of our own. Printed beside it: what the
aims of issue 13 allow per mail on these cores (250 mails/s; 70 % of the floor measured here).

    .venv/bin/python bench/library_floor.py            # 1,000 mails
    .venv/bin/python bench/library_floor.py --count 3000
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import mailparser
from sqlalchemy import Column, Integer, LargeBinary, MetaData, String, Table, bindparam, insert, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compose_speed import SENDER, answer
from bench.throughput import FETCH_CHUNK, MailFactory, append_mails, floor_send
from mailbot.classify.model import Classifier, decision_scores, train
from mailbot.classify.normalise import classification_text
from mailbot.classify.store import save
from mailbot.config import ClassifierSettings
from mailbot.db.engine import make_engine
from mailbot.kb import KnowledgeBase, load_knowledge_base
from mailbot.parse.language import detector
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE, SHIPPED_TEMPLATES
from mailbot.reply.outbox import compose_outgoing
from mailbot.reply.render import TemplateRenderer
from tests.servers import DovecotServer
from tests.servers.smtp_sink import SinkMessage

REPLIES_PER_MAIL = 1.24  # throughput.py: 1,242 replies for 1,000 mails, 3,715 for 3,000
BATCH = 32
AIM_MAILS_PER_SECOND = 250
AIM_FLOOR_SHARE = 0.70
NOW = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Stage:
    name: str
    ms_per_mail: float
    note: str


START_UP = """
import lingua, imapclient, mailparser, jinja2, aiosmtplib, sqlalchemy, email.policy
import sys, pathlib
from mailbot.classify.store import load
from mailbot.parse.language import detector
detector()
model = load(pathlib.Path(sys.argv[1]), sys.argv[2], float(sys.argv[3]))
assert model is not None, "the saved model was not read"
"""


def start_up_seconds(classifier: Classifier, kb: KnowledgeBase, runs: int = 3) -> float:
    """Wall time of a fresh interpreter that imports the libraries and reads the shipped KB's models
    (the language detector and the article model: what the first decision waits for); the best of
    `runs`, the model saved once."""
    precision = str(ClassifierSettings().target_precision)  # what `train` was given: the default
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    seconds = []
    with tempfile.TemporaryDirectory() as tmp:
        save(classifier, Path(tmp), kb.digest, kb)
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", START_UP, tmp, kb.digest, precision], check=True, env=env)
            seconds.append(time.perf_counter() - started)
    return min(seconds)


def thread_cpu(work: Callable[[], object]) -> float:
    """CPU seconds of this thread while `work` runs (other threads, e.g. the SMTP sink's, excluded)."""
    started = time.thread_time()
    work()
    return time.thread_time() - started


def fetch_all(dovecot: DovecotServer, user: str) -> tuple[list[bytes], float, float]:
    """Every mail's bytes, the client's CPU and the wall time of the batched FETCH."""
    raws: list[bytes] = []
    with dovecot.imap_client(user, timeout=120) as client:
        client.select_folder("INBOX", readonly=True)
        uids = sorted(client.search("ALL"))

        def fetch() -> None:
            for start in range(0, len(uids), FETCH_CHUNK):
                answers = client.fetch(uids[start : start + FETCH_CHUNK], ["BODY.PEEK[]"])
                raws.extend(answers[uid][b"BODY[]"] for uid in sorted(answers))

        wall = time.perf_counter()
        cpu = thread_cpu(fetch)
        wall = time.perf_counter() - wall
    return raws, cpu, wall


def texts_of(raws: Sequence[bytes]) -> tuple[list[str], float]:
    """Each mail's subject and first text (for the models), and the CPU of parsing them."""
    texts: list[str] = []

    def parse() -> None:
        for raw in raws:
            parsed = mailparser.parse_from_bytes(raw)
            body = (parsed.text_plain or parsed.text_html or [""])[0]
            texts.append(classification_text(parsed.subject or "", body))

    return texts, thread_cpu(parse)


def language_cpu(texts: Sequence[str]) -> float:
    languages = detector()  # mailbot's: German and English, its models read at once
    return thread_cpu(lambda: [languages.compute_language_confidence_values(text[:2000]) for text in texts])


def classify_cpu(classifier: Classifier, texts: Sequence[str]) -> float:
    assert classifier.pipeline is not None, "the shipped knowledge base has several articles"
    pipeline = classifier.pipeline
    decision_scores(pipeline, texts[:BATCH])  # the first call's one-time work is not per mail
    batches = [texts[start : start + BATCH] for start in range(0, len(texts), BATCH)]
    return thread_cpu(lambda: [decision_scores(pipeline, batch) for batch in batches])


def compose_replies(count: int) -> tuple[list[bytes], float]:
    renderer = TemplateRenderer(SHIPPED_TEMPLATES)
    items = [answer(number) for number in range(count)]
    compose_outgoing(renderer, SENDER, items[0], "<mb.warm@example.com>", NOW, to=True)
    replies: list[bytes] = []

    def compose() -> None:
        for number, item in enumerate(items):
            _, raw = compose_outgoing(renderer, SENDER, item, f"<mb.{number:08d}@example.com>", NOW, to=True)
            replies.append(raw)

    return replies, thread_cpu(compose)


def send_replies(replies: Sequence[bytes]) -> tuple[float, float, float]:
    """The replies over one aiosmtplib connection into a fresh aiosmtpd, as throughput.py's floor sends
    them (`floor_send`): the client's CPU (this thread, starting and stopping the sink included), the
    sink's (the rest of this process meanwhile) and the floor's wall time."""
    messages = [
        SinkMessage(SENDER.address, [f"kunde{number}@example.org"], raw) for number, raw in enumerate(replies)
    ]
    process, thread = time.process_time(), time.thread_time()
    wall = floor_send(messages)
    client = time.thread_time() - thread
    return client, time.process_time() - process - client, wall


def sql_cpu(raws: Sequence[bytes], folder: Path) -> float:
    """The writes any exactly-once pipeline makes per mail, as plain Core statements on two narrow tables."""
    engine = make_engine(f"sqlite:///{folder / 'floor.db'}")
    tables = MetaData()
    inbound = Table(
        "inbound", tables,
        Column("id", Integer, primary_key=True),
        Column("source_key", String(400), unique=True, nullable=False),
        Column("raw", LargeBinary, nullable=False),
        Column("outcome", String(20)),
    )  # fmt: skip
    outbox = Table(
        "outbox", tables,
        Column("id", Integer, primary_key=True),
        Column("inbound_id", Integer, nullable=False),
        Column("raw", LargeBinary, nullable=False),
    )  # fmt: skip
    tables.create_all(engine)
    store = insert(inbound).returning(inbound.c.id)
    decide = update(inbound).where(inbound.c.id == bindparam("row")).values(outcome=bindparam("outcome"))
    queue = insert(outbox)

    def write() -> None:
        queued = 0.0
        for start in range(0, len(raws), BATCH):
            with engine.begin() as connection:
                for number in range(start, min(start + BATCH, len(raws))):
                    raw = raws[number]
                    row = connection.execute(store, {"source_key": f"k{number}", "raw": raw}).scalar_one()
                    connection.execute(decide, {"row": row, "outcome": "answered"})
                    queued += REPLIES_PER_MAIL
                    while queued >= 1:
                        connection.execute(queue, {"inbound_id": row, "raw": raw})
                        queued -= 1

    cpu = thread_cpu(write)
    engine.dispose()
    return cpu


def measure(count: int, classifier: Classifier) -> tuple[list[Stage], float]:
    """The stages' CPU per mail, and the I/O floor in mails/s measured on the way (FETCH + SMTP wall)."""
    factory = MailFactory.from_shipped_kb()
    replies_count = round(count * REPLIES_PER_MAIL)
    with DovecotServer.started() as dovecot, tempfile.TemporaryDirectory() as tmp:
        user = dovecot.new_user()
        append_mails(dovecot, user, factory, range(count))
        raws, fetch, fetch_wall = fetch_all(dovecot, user)
        assert len(raws) == count, f"fetched {len(raws)} of {count}"
        texts, parse = texts_of(raws)
        language = language_cpu(texts)
        classify = classify_cpu(classifier, texts)
        replies, compose = compose_replies(replies_count)
        client, sink, send_wall = send_replies(replies)
        sql = sql_cpu(raws, Path(tmp))
    per_mail = 1000 / count
    stages = [
        Stage("IMAP FETCH (imapclient)", fetch * per_mail, "batched, 500 per command; Dovecot not counted"),
        Stage("parse (mail-parser)", parse * per_mail, "parse_from_bytes only"),
        Stage("language (lingua)", language * per_mail, "one confidence computation"),
        Stage("article model (scikit-learn)", classify * per_mail, f"{BATCH} texts per call"),
        Stage("reply: templates + MIME", compose * per_mail, f"{REPLIES_PER_MAIL} answers per mail"),
        Stage("SMTP client (aiosmtplib)", client * per_mail, "one connection"),
        Stage("SMTP server (aiosmtpd)", sink * per_mail, "the receiving side on the same cores"),
        Stage("SQL (SQLAlchemy Core, SQLite)", sql * per_mail, "store, outcome, outbox; 32 per commit"),
    ]
    floor = count / (fetch_wall + send_wall)
    return stages, floor


def report(stages: Sequence[Stage], floor: float, start_up: float, cores: int) -> str:
    total = sum(stage.ms_per_mail for stage in stages)
    lines = [f"{'stage':<32} {'ms CPU per mail':>15}  what"]
    lines += [f"{stage.name:<32} {stage.ms_per_mail:>15.3f}  {stage.note}" for stage in stages]
    lines.append(f"{'sum':<32} {total:>15.3f}")
    lines.append(
        f"at most {cores * 1000 / total:.0f} mails/s on {cores} cores with these libraries alone "
        "(perfect overlap, no code of our own)"
    )
    aims = {
        f"{AIM_MAILS_PER_SECOND} mails/s": AIM_MAILS_PER_SECOND,
        f"70 % of the floor ({floor:.0f} mails/s here)": AIM_FLOOR_SHARE * floor,
    }
    for name, rate in aims.items():
        budget = cores * 1000 / rate
        lines.append(
            f"aim {name}: {budget:.2f} ms CPU per mail on {cores} cores, "
            f"{budget - total:+.2f} ms left for everything else"
        )
    for count in (1000, 10000):  # a fresh `run --once`: nothing is decided before the start-up
        left = count / AIM_MAILS_PER_SECOND - start_up
        budget = cores * 1000 * left / count if left > 0 else 0.0
        lines.append(
            f"aim {AIM_MAILS_PER_SECOND} mails/s at {count}: {count / AIM_MAILS_PER_SECOND:.1f} s in all, "
            f"{left:.2f} s after the libraries' start-up -> {budget:.2f} ms CPU per mail, "
            f"{budget - total:+.2f} ms left for everything else"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    print(f"{args.count} mails (bench/throughput.py's mix), {cores} CPUs")
    kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
    classifier = train(kb)  # the shipped KB's article model, trained once for both uses
    start_up = start_up_seconds(classifier, kb)
    print(f"start-up: the libraries imported and the models read in a fresh interpreter, {start_up:.2f} s")
    stages, floor = measure(args.count, classifier)
    print(report(stages, floor, start_up, cores))


if __name__ == "__main__":
    main()
