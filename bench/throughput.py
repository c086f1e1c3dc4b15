"""Throughput of issue 13, measured: `mailbot run --once` end to end against the I/O floor of the same run.

Per size N (issue 13: 1,000 and 10,000; default 1,000 only): N realistic German/English mails
(80 % questions the shipped KB answers, 20 % faults, out-of-scope requests and auto-replies) are
appended to a real Dovecot;
`mailbot train`, then one `mailbot run --once` as a subprocess, timed until it exits (by then every
mail is decided and every reply accepted by the aiosmtpd sink: both are checked in the database and
the sink). In the same run, the I/O floor: a batched FETCH of the same mails over imapclient and the
same number of replies (the very bytes mailbot sent) over one aiosmtplib connection, no processing.
Printed: mails/s, floor, ratio, peak RSS (the largest process of the run), the scaling from the
first size to the last, for a size run more than once its median and range, and with --latency the
p50/p95 arrival→reply latency of `mailbot run` (IDLE) while mails arrive over LMTP at 20/s.

    .venv/bin/python bench/throughput.py --counts 1000,10000    # 1k and 10k (10k: about a minute here)
    .venv/bin/python bench/throughput.py --counts 10000,10000,10000   # 10k three times, and the median
    .venv/bin/python bench/throughput.py --counts 1000 --backlog 4000 --profile bench/out/prof-backlog
    .venv/bin/python bench/throughput.py --counts 0 --latency 60
`--profile DIR`: py-spy samples the worker (raw stacks + a table of self/cumulative time per function)
and the worker counts its SQL statements (bench/throughput_worker.py). `--backlog N`: N mails are run
through mailbot first (not timed), so that the measured run starts on a database holding N mails.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import json
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

import aiosmtplib
from sqlalchemy import create_engine, func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.cores import TreeSampler
from mailbot.db.schema import InboundMail, OutboxMail
from mailbot.kb import load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE
from tests.e2e import conftest
from tests.e2e.conftest import SUPPORT
from tests.servers import DovecotServer, SmtpSink
from tests.servers.smtp_sink import SinkMessage

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
MAILBOT = [str(VENV_BIN / "mailbot")]
WORKER = [sys.executable, str(Path(__file__).with_name("throughput_worker.py"))]
OUT = Path(__file__).with_name("out") / "throughput"  # the worker's log of each measured run
APPEND_CHUNK = 500
FETCH_CHUNK = 500


def compile_bytecode() -> list[Path]:
    """Compile the mailbot package(s) the measured processes import (this checkout, and one named by
    PYTHONPATH for a comparison), as installing the wheel does. A machine with PYTHONDONTWRITEBYTECODE
    (this one has it) otherwise compiles every mailbot module from source at each start of a process:
    ~0.25 s of CPU per `mailbot run`, which no installed mailbot spends (session 21)."""
    roots = [Path(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    packages = [root / "mailbot" for root in [*roots, ROOT] if (root / "mailbot").is_dir()]
    for package in packages:
        compileall.compile_dir(package, quiet=1)
    return packages


# --- the mails ------------------------------------------------------------------------------------

GIVEN = ["Anna", "Jonas", "Lea", "Lukas", "Mia", "Paul", "Sophie", "Felix", "Emma", "Ben", "Laura", "Tim"]
FAMILY = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann"]
GREETING = {
    "de": [
        "Hallo,",
        "Guten Tag,",
        "Sehr geehrte Damen und Herren,",
        "Hi,",
        "Moin,",
        "Hallo Support-Team,",
        "",
    ],
    "en": ["Hello,", "Hi,", "Dear Support,", "Hi there,", "Good morning,", ""],
}
LEAD_IN = {
    "de": [
        "",
        "",
        "ich hätte eine Frage.",
        "kurze Frage:",
        "ich nutze Ihre App seit einem Jahr.",
        "folgendes:",
    ],
    "en": ["", "", "I have a quick question.", "quick one:", "I've been using your app for a while."],
}
CLOSING = {
    "de": [
        "Viele Grüße",
        "Mit freundlichen Grüßen",
        "Danke und Gruß",
        "LG",
        "Beste Grüße",
        "Danke im Voraus!",
    ],
    "en": ["Best regards", "Thanks", "Kind regards", "Cheers", "Thanks in advance,"],
}
TRAILER = ["", "", "", "-- \nVon meinem iPhone gesendet", "-- \nSent from my Android phone"]
AUTO_REPLY = [
    ("Abwesenheitsnotiz: Ihre Anfrage", "Ich bin bis zum 14. nicht im Büro und lese keine E-Mails."),
    ("Automatische Antwort: Frage", "Vielen Dank für Ihre Nachricht. Ich bin ab Montag wieder erreichbar."),
    ("Out of Office: your request", "I am out of the office until Monday with limited access to e-mail."),
    ("Automatic reply: Question", "Thank you for your e-mail. I will reply as soon as I am back."),
]


# --long: what makes a real support mail longer than its question (bench/README.md, session 15)
DETAILS = {  # context that changes nothing about what is asked
    "de": [
        "Ich bin seit drei Jahren Kunde und eigentlich sehr zufrieden mit der App.",
        "Meine Frau nutzt die App ebenfalls, mit ihrem eigenen Konto.",
        "Mein Kundenkonto läuft auf diese E-Mail-Adresse.",
        "Auf Ihrer Website habe ich schon nachgesehen, aber nichts Passendes gefunden.",
        "Es eilt nicht, aber ich wüsste es gern bis zum Monatsende.",
        "Vielen Dank schon einmal für Ihre Mühe.",
        "Ich schreibe vom Smartphone aus, entschuldigen Sie bitte eventuelle Tippfehler.",
        "Ein Freund hat mir die App empfohlen, und ich nutze sie fast jeden Tag.",
        "Ich nutze ein iPhone 13 mit der aktuellen Version der App.",
        "Falls Sie Rückfragen haben, erreichen Sie mich am besten per E-Mail.",
    ],
    "en": [
        "I have been a customer for three years and I am actually very happy with the app.",
        "My wife uses the app as well, with her own account.",
        "My account is registered to this e-mail address.",
        "I already looked on your website but could not find anything that fits.",
        "It is not urgent, but I would like to know by the end of the month.",
        "Thank you in advance for your trouble.",
        "I am writing from my phone, so please excuse any typos.",
        "A friend recommended the app to me and I use it almost every day.",
        "I use an iPhone 13 with the current version of the app.",
        "If you have any questions, e-mail is the best way to reach me.",
    ],
}
COMPANY_SIGNATURE = (
    "-- \n{name}\nEinkauf & Logistik\nMusterfirma Handels GmbH\nMusterstraße 12, 10115 Berlin\n"
    "Tel. +49 30 1234567-{index:04d}\nFax +49 30 1234567-99\nwww.musterfirma-handel.example\n\n"
    "Geschäftsführer: Max Mustermann, Erika Musterfrau\nAmtsgericht Berlin-Charlottenburg, HRB 123456\n"
    "Diese E-Mail enthält vertrauliche Informationen. Wenn Sie nicht der richtige Adressat sind, informieren "
    "Sie bitte sofort den Absender und vernichten Sie diese E-Mail."
)
QUOTE_HEADER = {
    "de": "Am 28.11.2026 um 14:03 schrieb Support <{support}>:",
    "en": "On 28 Nov 2026, at 14:03, Support <{support}> wrote:",
}


def _long_parts(index: int, lang: str, name: str, rng: random.Random) -> tuple[list[str], str]:
    """Details before the greeting's end, and what follows the closing: a company signature, and for a
    third of the mails an earlier answer quoted below (both of which mailbot strips)."""
    details = " ".join(rng.sample(DETAILS[lang], rng.randint(3, 6)))
    tail = COMPANY_SIGNATURE.format(name=name, index=index % 10000)
    if rng.random() < 0.33:
        earlier = " ".join(rng.sample(DETAILS["de" if lang == "en" else "en"] + DETAILS[lang], 8))
        quoted = "\n".join(f"> {line}" for line in textwrap.wrap(earlier, 72))
        tail += "\n\n" + QUOTE_HEADER[lang].format(support=SUPPORT) + "\n" + quoted
    return [details], tail


def _vary(text: str, rng: random.Random) -> str:
    """Wording as customers type it: sometimes lower case, without the end mark, or with 'bitte'."""
    roll = rng.random()
    if roll < 0.15:
        text = text.lower()
    elif roll < 0.3:
        text = text.rstrip("?.!")
    elif roll < 0.4:
        text = text + " Danke!" if rng.random() < 0.5 else text + " Thanks!"
    return text


def _language(text: str) -> str:
    return "de" if re.search(r"[äöüß]|\b(ich|nicht|und|der|die|das|mein|ist|bei)\b", text, re.I) else "en"


def _mail(index: int, subject: str, body: str, html: bool, headers: dict[str, str]) -> bytes:
    name = f"{GIVEN[index % len(GIVEN)]} {FAMILY[index % len(FAMILY)]}"
    mail = EmailMessage()
    mail["From"] = f"{name} <customer{index}@example.org>"
    mail["To"] = SUPPORT
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = f"<bench-{index}@customer.example.org>"  # unique per index, as the sizes use
    for key, value in headers.items():
        mail[key] = value
    mail.set_content(body)
    if html:
        paragraphs = "".join(f"<p>{line}</p>" for line in body.split("\n\n"))
        mail.add_alternative(f"<html><body>{paragraphs}</body></html>", subtype="html")
    return mail.as_bytes(policy=policy.SMTP)


@dataclass(frozen=True)
class MailFactory:
    """Mails `index` → bytes, the same but for the Date for the same index (seeded): runs are comparable."""

    questions: list[tuple[str, str, str]]  # (title, example, language)
    faults: list[str]
    out_of_scope: list[str]
    long: bool = False  # details, a company signature, a third with a quoted earlier answer (~1.5 kB)

    @classmethod
    def from_shipped_kb(cls, *, long: bool = False) -> MailFactory:
        kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
        questions = [(a.title, example, a.language) for a in kb.articles for example in a.examples]
        faults: list[str] = []
        for level in ("critical", "major", "minor"):
            text = (SHIPPED_KNOWLEDGE_BASE / "_severity" / f"{level}.md").read_text(encoding="utf-8")
            faults += [line.strip()[2:].strip("'\"") for line in text.splitlines() if line.startswith("  - ")]
        out_of_scope = list(kb.out_of_scope.examples) if kb.out_of_scope else []
        return cls(questions, faults, out_of_scope, long)

    def kind(self, index: int) -> str:
        roll = random.Random(index * 7919).random()
        if roll < 0.8:
            return "question"
        return "fault" if roll < 0.88 else "out_of_scope" if roll < 0.95 else "auto_reply"

    def mail(self, index: int) -> bytes:
        rng = random.Random(index)
        kind = self.kind(index)
        headers: dict[str, str] = {}
        if kind == "auto_reply":
            subject, text = rng.choice(AUTO_REPLY)
            headers = {"Auto-Submitted": "auto-replied"} if rng.random() < 0.7 else {"X-Autoreply": "yes"}
            return _mail(index, subject, text, False, headers)
        if kind == "question":
            title, text, lang = rng.choice(self.questions)
            subject = rng.choice([title, title, "Frage" if lang == "de" else "Question", text[:40], ""])
        else:
            text = rng.choice(self.faults if kind == "fault" else self.out_of_scope)
            lang = _language(text)
            subject = rng.choice(
                ["Problem", "Dringend", "Anfrage", text[:30]] if lang == "de" else ["Issue", text[:30]]
            )
        name = f"{GIVEN[index % len(GIVEN)]} {FAMILY[index % len(FAMILY)]}"
        parts = [rng.choice(GREETING[lang]), rng.choice(LEAD_IN[lang]), _vary(text, rng)]
        if self.long:
            details, tail = _long_parts(index, lang, name, random.Random(-index))
            parts += [*details, rng.choice(CLOSING[lang]), tail]
        else:
            parts += [f"{rng.choice(CLOSING[lang])}\n{name}", rng.choice(TRAILER)]
        body = "\n\n".join(part for part in parts if part)
        return _mail(index, subject, body, rng.random() < 0.25, headers)


# --- processes ------------------------------------------------------------------------------------


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


@dataclass
class ChildResult:
    seconds: float
    max_rss_mb: float
    returncode: int
    cpu_seconds: float  # user + system time of the child: cpu_seconds / seconds = cores used
    started_at: float  # wall clock (epoch seconds) when the child was started
    log: list[bytes]  # the child's stderr lines (its log)
    cores: list[str]  # CPU and run-queue wait per process of the run (bench/cores.py)


def run_child(
    argv: Sequence[str], env: dict[str, str], profile_to: Path | None = None, log_to: Path | None = None
) -> ChildResult:
    """Run `argv`, wait with wait4 for its rusage: its CPU and peak RSS include the children it reaped
    (the helpers of `run --once`); bench/cores.py shows each process's own.
    `log_to`: the child's log (stderr) is written there, for a timeline of the run.

    The log goes to a file, not to a pipe this process reads: a reader thread here shares the GIL with
    the SMTP sink, and a worker whose pipe is full waits in its logging, which is this bench's cost, not
    mailbot's (session 19, 3,000 mails with --profile: the worker's log writes 4.2 % of its samples
    through the pipe, 0.5 % into a file)."""
    started, started_at = time.perf_counter(), time.time()
    with tempfile.TemporaryFile() as log_file:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log_file)
        spy = None
        if profile_to is not None:
            spy = subprocess.Popen(
                [
                    str(VENV_BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--format",
                    "raw",
                    "--nolineno",
                    "--subprocesses",
                    "--rate",
                    "200",
                    "-o",
                    str(profile_to),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        with TreeSampler(proc.pid) as cores:
            _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        log_file.seek(0)
        stderr_lines = log_file.readlines()
    if log_to is not None:
        log_to.write_bytes(b"".join(stderr_lines))
    if spy is not None:
        spy.wait(timeout=60)
    if proc.returncode != 0:
        tail = b"".join(stderr_lines[-20:]).decode(errors="replace")
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}:\n{tail}")
    return ChildResult(
        seconds,
        usage.ru_maxrss / 1024,
        proc.returncode,
        usage.ru_utime + usage.ru_stime,
        started_at,
        stderr_lines,
        cores.summary(),
    )


LOG_TIME = re.compile(rb"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) \S+ +(\S+):")


def phases(result: ChildResult) -> dict[str, float]:
    """Where the wall time of a run went, from the worker's own log (seconds after its start): the first
    and the last decision (`mailbot.pipeline.process` lines) and the last reply sent."""
    decisions: list[float] = []
    sent: list[float] = []
    for line in result.log:
        found = LOG_TIME.match(line)
        if found is None:
            continue
        at = datetime.strptime(found[1].decode(), "%Y-%m-%d %H:%M:%S,%f").timestamp() - result.started_at
        logger = found[2]
        if logger == b"mailbot.pipeline.process" and b" inbound #" in line:
            decisions.append(at)
        elif logger == b"mailbot.reply.deliver" and b" sent outbox #" in line:
            sent.append(at)
    if not decisions:
        return {}
    return {
        "first decision": decisions[0],
        "last decision": decisions[-1],
        "last sent": sent[-1] if sent else float("nan"),
        "exit": result.seconds,
    }


def append_mails(dovecot: DovecotServer, user: str, factory: MailFactory, indexes: range) -> None:
    with dovecot.imap_client(user, timeout=120) as client:
        for start in range(indexes.start, indexes.stop, APPEND_CHUNK):
            chunk = range(start, min(start + APPEND_CHUNK, indexes.stop))
            client.multiappend("INBOX", [factory.mail(i) for i in chunk])


def check_everything_decided(database: Path, sink: SmtpSink, sent_before: int = 0) -> dict[str, object]:
    """Every mail decided, every outbox row sent and accepted by the sink: or the figure means nothing."""
    engine = create_engine(f"sqlite:///{database}")
    with engine.connect() as conn:
        inbound = dict(
            conn.execute(select(InboundMail.state, func.count()).group_by(InboundMail.state)).all()
        )
        outcomes = dict(
            conn.execute(select(InboundMail.outcome, func.count()).group_by(InboundMail.outcome)).all()
        )
        outbox = dict(conn.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state)).all())
    engine.dispose()
    undecided = {state: n for state, n in inbound.items() if state not in ("done", "quarantined")}
    unsent = {state: n for state, n in outbox.items() if state != "sent"}
    sent = outbox.get("sent", 0) - sent_before  # the backlog's replies were sent before the sink was cleared
    if undecided or unsent or sent != len(sink.messages):
        raise RuntimeError(f"not finished: inbound {inbound}, outbox {outbox}, sink {len(sink.messages)}")
    return {"outcomes": outcomes, "sent": sent}


# --- the I/O floor --------------------------------------------------------------------------------


def floor_fetch(dovecot: DovecotServer, user: str, folder: str) -> tuple[int, float]:
    """Batched FETCH BODY.PEEK[] of every mail in `folder` (read-only), like an ingest with no work."""
    started = time.perf_counter()
    with dovecot.imap_client(user, timeout=120) as client:
        client.select_folder(folder, readonly=True)
        uids = sorted(client.search("ALL"))
        fetched = 0
        for start in range(0, len(uids), FETCH_CHUNK):
            fetched += len(client.fetch(uids[start : start + FETCH_CHUNK], ["BODY.PEEK[]"]))
    return fetched, time.perf_counter() - started


def floor_send(messages: list[SinkMessage]) -> float:
    """The same messages again over one aiosmtplib connection to a fresh sink, one after the other."""

    async def send(port: int) -> None:
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as client:
            for message in messages:
                await client.sendmail(message.mail_from, message.rcpt_tos, message.data)

    with SmtpSink() as floor_sink:
        started = time.perf_counter()
        asyncio.run(send(floor_sink.port))
        seconds = time.perf_counter() - started
        floor_sink.wait_for(len(messages), timeout=30)
    return seconds


# --- one size -------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    count: int
    seconds: float
    max_rss_mb: float
    sent: int
    outcomes: dict[str, object]
    fetch_seconds: float
    send_seconds: float
    load: str
    cpu_seconds: float
    phases: dict[str, float]
    sink_cpu_seconds: float = 0.0  # this process's CPU while the worker ran: the SMTP sink's share
    cores: Sequence[str] = ()  # CPU and run-queue wait per process (bench/cores.py)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def floor_rate(self) -> float:
        return self.count / (self.fetch_seconds + self.send_seconds)


def write_config(path: Path, dovecot: DovecotServer, user: str, sink: SmtpSink) -> Path:
    """The tests' configuration, with the product's default ticket numbers (random digits): the tests
    number tickets in sequence to read them easily, which costs every new ticket a look-up more. Until
    session 20 the bench measured with the tests' numbering (bench/README.md)."""
    config = conftest.write_config(path, dovecot, user, sink)
    text = config.read_text(encoding="utf-8")
    default = text.replace('ticket_numbers = "sequential"', 'ticket_numbers = "random"', 1)
    assert default != text, "the tests' configuration no longer numbers tickets in sequence"
    config.write_text(default, encoding="utf-8")
    return config


def environment(config: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MAILBOT_CONFIG"] = str(config)
    return env


def measure_size(
    factory: MailFactory, count: int, backlog: int, profile: Path | None, label: str
) -> SizeResult:
    with DovecotServer.started() as dovecot, SmtpSink() as sink, tempfile.TemporaryDirectory() as tmp:
        user = dovecot.new_user()
        config = write_config(Path(tmp) / "mailbot.toml", dovecot, user, sink)
        env = environment(config)
        sent_before = 0
        run_child([*MAILBOT, "train", "--config", str(config)], env)
        startup = run_child([*MAILBOT, "run", "--once", "--config", str(config)], env)
        print(f"  [{label}] start-up: empty run --once {startup.seconds:.2f} s, {startup.max_rss_mb:.0f} MB")
        if backlog:
            append_mails(dovecot, user, factory, range(10**6, 10**6 + backlog))
            before = run_child([*MAILBOT, "run", "--once", "--config", str(config)], env)
            print(
                f"  [{label}] backlog: {backlog} mails stored first in {before.seconds:.1f} s (not counted)"
            )
            sent_before = int(str(check_everything_decided(Path(tmp) / "mailbot.db", sink)["sent"]))
            sink.clear()
        append_mails(dovecot, user, factory, range(count))
        fetched, fetch_seconds = floor_fetch(dovecot, user, "INBOX")
        assert fetched == count, f"fetched {fetched} of {count}"
        load = load_average()
        sink_started = time.process_time()  # the sink's thread is all this process runs meanwhile
        if profile is not None:
            profile.mkdir(parents=True, exist_ok=True)
            env["MAILBOT_BENCH_SQL_OUT"] = str(profile / f"{label}-sql.json")
            result = run_child(
                [*WORKER, "run", "--once", "--config", str(config)],
                env,
                profile / f"{label}.txt",
                profile / f"{label}-worker.log",
            )
        else:
            OUT.mkdir(parents=True, exist_ok=True)
            result = run_child(
                [*MAILBOT, "run", "--once", "--config", str(config)], env, log_to=OUT / f"{label}.log"
            )
        sink_cpu = time.process_time() - sink_started
        checked = check_everything_decided(Path(tmp) / "mailbot.db", sink, sent_before)
        send_seconds = floor_send(sink.messages)
    return SizeResult(
        count,
        result.seconds,
        result.max_rss_mb,
        int(checked["sent"]),
        checked["outcomes"],  # type: ignore[arg-type]
        fetch_seconds,
        send_seconds,
        load,
        result.cpu_seconds,
        phases(result),
        sink_cpu,
        result.cores,
    )


def print_size(result: SizeResult, label: str) -> None:
    print(f"{label}: {result.count} mails, load average before the run {result.load}")
    print(f"  outcomes               {result.outcomes}, replies sent {result.sent}")
    print(f"  run --once             {result.seconds:.2f} s  ->  {result.rate:.1f} mails/s end to end")
    print(
        f"  I/O floor              FETCH {result.count / result.fetch_seconds:.0f} mails/s, "
        f"SMTP {result.sent / result.send_seconds:.0f} mails/s one connection "
        f"({result.fetch_seconds:.2f} + {result.send_seconds:.2f} s) -> {result.floor_rate:.0f} mails/s"
    )
    print(
        f"  CPU of mailbot         {result.cpu_seconds:.1f} s (the worker and its helpers)"
        f" = {result.cpu_seconds / result.seconds:.2f} cores"
    )
    if result.sink_cpu_seconds:  # on the same cores: what the machine had left for mailbot
        per_mail = (result.cpu_seconds + result.sink_cpu_seconds) / result.count * 1000
        cores = os.cpu_count() or 1
        print(
            f"  CPU of the SMTP sink   {result.sink_cpu_seconds:.1f} s (this process's aiosmtpd); with "
            f"mailbot's {per_mail:.2f} ms per mail: at most {1000 * cores / per_mail:.0f} mails/s on "
            f"{cores} cores (Dovecot not counted)"
        )
    print(f"  ratio to the floor     {result.rate / result.floor_rate:.1%}")
    if result.phases:
        at = result.phases
        deciding = at["last decision"] - at["first decision"]
        print(
            f"  phases (s after start) first decision {at['first decision']:.2f}, last decision "
            f"{at['last decision']:.2f} ({result.count / deciding:.0f} mails/s while deciding), "
            f"last reply sent {at['last sent']:.2f}, exit {at['exit']:.2f}"
        )
    print(f"  peak RSS             {result.max_rss_mb:.0f} MB (the largest process: the worker or a helper)")
    for line in result.cores:
        print(f"  cores: {line}")


def repeated_sizes(results: Sequence[SizeResult]) -> list[str]:
    """A line per size measured more than once (`--counts 10000,10000,10000`): the median and the
    range. On a shared machine one run says little: the same code gave 184-227 mails/s at 10k in runs
    minutes apart (bench/README.md, session 19)."""
    by_count: dict[int, list[SizeResult]] = {}
    for result in results:
        by_count.setdefault(result.count, []).append(result)
    lines = []
    for count, runs in by_count.items():
        if len(runs) < 2:
            continue
        rates = [run.rate for run in runs]
        ratios = [run.rate / run.floor_rate for run in runs]
        lines.append(
            f"{count} mails, {len(runs)} runs: {statistics.median(rates):.1f} mails/s end to end (median; "
            f"{min(rates):.1f}-{max(rates):.1f}), ratio to the floor {statistics.median(ratios):.1%} "
            f"(median), peak RSS {max(run.max_rss_mb for run in runs):.0f} MB (the largest)"
        )
    return lines


# --- profile summary ------------------------------------------------------------------------------


def summarise_profile(raw: Path, top: int = 25) -> str:
    """py-spy raw stacks -> self and cumulative share per function (frames 'function (file)')."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, samples = line.rpartition(" ")
        if not stack or not samples.isdigit():
            continue
        count = int(samples)
        frames = [
            re.sub(r" \(/.*?/(site-packages|lib/python3\.\d+|wt-[^/]+)/", " (", f) for f in stack.split(";")
        ]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            cumulative[frame] += count
    lines = [f"samples: {total}", "", "| self % | function |", "|---:|---|"]
    lines += [f"| {n / total:.1%} | `{frame}` |" for frame, n in own.most_common(top)]
    lines += ["", "| cumulative % | function |", "|---:|---|"]
    lines += [f"| {n / total:.1%} | `{frame}` |" for frame, n in cumulative.most_common(top + 15)]
    return "\n".join(lines)


# --- latency --------------------------------------------------------------------------------------


class StampingSink(SmtpSink):
    """The test sink, noting when each message was accepted (monotonic clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.accepted_at: dict[str, float] = {}

    def _record(self, message: SinkMessage) -> None:
        for rcpt in message.rcpt_tos:
            self.accepted_at.setdefault(rcpt, time.monotonic())
        super()._record(message)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure_latency(factory: MailFactory, seconds: float, rate: float) -> None:
    with DovecotServer.started() as dovecot, StampingSink() as sink, tempfile.TemporaryDirectory() as tmp:
        user = dovecot.new_user()
        config = write_config(Path(tmp) / "mailbot.toml", dovecot, user, sink)
        env = environment(config)
        run_child([*MAILBOT, "train", "--config", str(config)], env)
        worker = subprocess.Popen(
            [*MAILBOT, "run", "--config", str(config)], env=env, stderr=subprocess.DEVNULL
        )
        try:
            # warm-up: the first question answered means the worker is up and idling on IDLE
            warm = next(i for i in range(10**6, 10**7) if factory.kind(i) == "question")
            dovecot.deliver_lmtp(user, factory.mail(warm))
            sink.wait_for(1, timeout=120)
            time.sleep(2)
            arrived: dict[str, float] = {}
            count = int(seconds * rate)
            load = load_average()
            started = time.monotonic()
            for index in range(count):
                time.sleep(max(0.0, started + index / rate - time.monotonic()))
                dovecot.deliver_lmtp(user, factory.mail(index))
                arrived[f"customer{index}@example.org"] = time.monotonic()
            feed_seconds = time.monotonic() - started
            expected = {a for i, a in enumerate(arrived) if factory.kind(i) != "auto_reply"}
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not expected <= sink.accepted_at.keys():
                time.sleep(0.2)
        finally:
            worker.send_signal(signal.SIGTERM)
            _pid, _status, usage = os.wait4(worker.pid, 0)
            worker.returncode = 0
    latencies = [sink.accepted_at[a] - arrived[a] for a in expected if a in sink.accepted_at]
    print(
        f"latency: `mailbot run` on IDLE, {count} mails over LMTP in {feed_seconds:.1f} s "
        f"({count / feed_seconds:.1f}/s), load average before {load}"
    )
    print(f"  replies to customers   {len(latencies)} of {len(expected)} expected (auto-replies get none)")
    if latencies:
        print(
            f"  arrival -> reply       p50 {statistics.median(latencies):.2f} s, "
            f"p95 {percentile(latencies, 0.95):.2f} s, max {max(latencies):.2f} s"
        )
    print(f"  peak RSS             {usage.ru_maxrss / 1024:.0f} MB (the largest process of `mailbot run`)")


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--counts",
        default="1000",
        help="comma-separated sizes (1000,10000); a size given again is run again, with its median; 0: none",
    )
    parser.add_argument("--backlog", type=int, default=0, help="mails stored before each measured run")
    parser.add_argument("--profile", type=Path, help="py-spy + SQL counts into this folder")
    parser.add_argument("--latency", type=float, default=0, help="seconds of arrivals at --rate for `run`")
    parser.add_argument("--rate", type=float, default=20.0, help="arrivals per second for --latency")
    parser.add_argument(
        "--long", action="store_true", help="mails of real length: details, signature, quoted answer"
    )
    args = parser.parse_args(argv)
    compile_bytecode()
    factory = MailFactory.from_shipped_kb(long=args.long)
    kinds = Counter(factory.kind(i) for i in range(1000))
    size = statistics.median(len(factory.mail(i)) for i in range(200))
    print(f"mail mix (first 1000): {dict(kinds)}, median {size:.0f} bytes; {os.cpu_count()} CPUs")
    results: list[SizeResult] = []
    for number, count in enumerate(int(c) for c in args.counts.split(",") if int(c) > 0):
        label = f"run{number + 1}-{count}" + (f"-on-{args.backlog}" if args.backlog else "")
        result = measure_size(factory, count, args.backlog, args.profile, label)
        print_size(result, label)
        results.append(result)
        if args.profile is not None:
            table = summarise_profile(args.profile / f"{label}.txt")
            (args.profile / f"{label}-table.md").write_text(table + "\n", encoding="utf-8")
            sql = json.loads((args.profile / f"{label}-sql.json").read_text(encoding="utf-8"))
            print(
                f"  SQL statements         {sql['total']} ({sql['total'] / count:.1f} per mail)",
                sql["kinds"],
            )
            for call, (calls, ms) in sql["calls"].items():
                print(f"  {calls:6d} x {ms:6.2f} ms   {call}")
            print(f"  profile                {args.profile / (label + '-table.md')}")
    for line in repeated_sizes(results):
        print(line)
    if len(results) > 1 and results[-1].count != results[0].count:
        first, last = results[0], results[-1]
        print(
            f"scaling {first.count} -> {last.count}: time x{last.seconds / first.seconds:.1f} for "
            f"x{last.count / first.count:.0f} mails ({first.rate:.1f} -> {last.rate:.1f} mails/s), "
            f"peak RSS {first.max_rss_mb:.0f} -> {last.max_rss_mb:.0f} MB"
        )
    if args.latency:
        measure_latency(factory, args.latency, args.rate)


if __name__ == "__main__":
    main()
