"""Helpers of bench/torture.py: the worker as a separate process, a read-only view of its database,
a sink with time-window failures, an IMAP proxy that cuts connections mid-FETCH, a relay with a
header-less auto-responder, a corpus of mails built from the shipped knowledge base, and the
analysis of what the SMTP side received.

Nothing here imports mailbot's internals beyond the schema models (read-only), the KB loader and
the shipped paths; the worker under test is always `python -m mailbot.cli run` in its own process.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import random
import re
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from mailbot.classify.severity import load_severity_examples
from mailbot.db.schema import InboundMail, OutboxMail, Ticket
from mailbot.kb import load_knowledge_base
from mailbot.paths import SHIPPED_KNOWLEDGE_BASE, SHIPPED_TEMPLATES
from tests.servers import DovecotServer, Rejection, SmtpSink
from tests.servers.common import LOOPBACK, free_ports

REPO = Path(__file__).resolve().parents[1]
TERMINAL = ("done", "quarantined")


def now_utc() -> datetime:
    return datetime.now(UTC)


# --- configuration -------------------------------------------------------------------------------


def write_config(
    path: Path,
    *,
    imap_port: int,
    user: str,
    smtp_port: int,
    model_dir: Path,
    support: str = "support@example.com",
    team: str = "team@example.com",
    name: str = "Aktivo Support",
    cafile: Path | None = None,
    poll_seconds: float = 1,
    extra: str = "",
) -> Path:
    """A config like tests/e2e/conftest.py's write_config: always open, shipped KB and templates,
    its own SQLite file next to the config; one classifier model directory shared by all bots."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"""
[support]
address = "{support}"
name = "{name}"
ticket_prefix = "MB"
[team]
address = "{team}"
language = "de"
[imap]
host = "{LOOPBACK}"
port = {imap_port}
security = "none"
{f'cafile = "{cafile}"' if cafile else ""}
username = "{user}"
password = "secret"
poll_seconds = {poll_seconds}
[smtp]
host = "{LOOPBACK}"
port = {smtp_port}
security = "none"
[database]
url = "sqlite:///{path.parent / "mailbot.db"}"
[knowledge_base]
path = "{SHIPPED_KNOWLEDGE_BASE}"
[templates]
path = "{SHIPPED_TEMPLATES}"
[classifier]
model_dir = "{model_dir}"
[business_hours]
always_open = true
{extra}
""",
        encoding="utf-8",
    )
    return path


def train_model(config: Path, log: Path) -> float:
    """`mailbot train` once, so that every worker start loads the model instead of training it."""
    started = time.monotonic()
    with log.open("ab") as out:
        subprocess.run(
            [sys.executable, "-m", "mailbot.cli", "train", "--config", str(config)],
            stdout=out, stderr=subprocess.STDOUT, check=True, cwd=REPO, env=worker_env(), timeout=600,
        )  # fmt: skip
    return time.monotonic() - started


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILBOT_")}
    env["MAILBOT_LOG_LEVEL"] = "INFO"
    env["PYTHONUNBUFFERED"] = "1"
    return env


# --- the worker process --------------------------------------------------------------------------


class Worker:
    """`python -m mailbot.cli run --config X` in its own process (and session), log appended to a file.
    `args` go after `run` (bench/chaos.py: `--fleet`), `env` on top of worker_env(); `ready` is the
    log line of a started worker."""

    def __init__(
        self,
        config: Path,
        log: Path,
        name: str = "worker",
        args: Sequence[str] = (),
        env: dict[str, str] | None = None,
        ready: str = "worker started",
    ) -> None:
        self.config, self.log, self.name = config, log, name
        self.args, self.env, self.ready = list(args), dict(env or {}), ready
        self.proc: subprocess.Popen[bytes] | None = None
        self._offset = 0
        self.starts = 0
        self.kills = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            out.write(
                f"\n===== torture: start #{self.starts + 1} of {self.name} at {now_utc()} =====\n".encode()
            )
            out.flush()
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "mailbot.cli", "run", *self.args, "--config", str(self.config)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=REPO,
                env={**worker_env(), **self.env}, start_new_session=True,
            )  # fmt: skip
        self.starts += 1

    def new_log(self) -> str:
        """What the current run wrote so far."""
        with self.log.open("rb") as f:
            f.seek(self._offset)
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Until the log says `ready` ("worker started"); returns the seconds it took."""
        started = time.monotonic()
        while self.ready not in self.new_log():
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early; log:\n{self.new_log()[-3000:]}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(f"{self.name} not started within {timeout} s")
            time.sleep(0.05)
        return time.monotonic() - started

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL, like a power cut of the process: no cleanup of any kind."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.kills += 1

    def pause(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM and wait (the worker finishes its current step); SIGKILL after `timeout` s."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return None

    def log_lines(self, *needles: str) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if any(n in line for n in needles)]


# --- the database, read-only ---------------------------------------------------------------------


class Db:
    """Read-only SQLAlchemy view of one bot's SQLite file (mailbot.db.schema models)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sessions: sessionmaker[Session] | None = None

    def session(self) -> Session:
        if self._sessions is None:
            engine = create_engine(
                f"sqlite:///file:{self.path}?mode=ro&uri=true", connect_args={"timeout": 30}
            )
            self._sessions = sessionmaker(engine, expire_on_commit=False)
        return self._sessions()

    def exists(self) -> bool:
        return self.path.exists()

    def counts(self) -> dict[str, Any]:
        """Rows per state: inbound, outbox (pending split into due/deferred), tickets."""
        if not self.exists():
            return {"inbound": {}, "outbox": {}, "tickets": 0}
        for attempt in range(20):
            try:
                with self.session() as s:
                    inbound = dict(
                        s.execute(select(InboundMail.state, func.count()).group_by(InboundMail.state)).all()
                    )
                    outbox = dict(
                        s.execute(select(OutboxMail.state, func.count()).group_by(OutboxMail.state)).all()
                    )
                    tickets = s.scalar(select(func.count(Ticket.id))) or 0
                return {"inbound": inbound, "outbox": outbox, "tickets": int(tickets)}
            except Exception:  # the schema is being created, a lock: try again
                if attempt == 19:
                    raise
                time.sleep(0.1)
        raise AssertionError("unreachable")

    def inbound(self) -> list[InboundMail]:
        with self.session() as s:
            return list(s.scalars(select(InboundMail).order_by(InboundMail.id)))

    def outbox(self) -> list[OutboxMail]:
        with self.session() as s:
            return list(s.scalars(select(OutboxMail).order_by(OutboxMail.id)))

    def tickets(self) -> list[Ticket]:
        with self.session() as s:
            return list(s.scalars(select(Ticket).order_by(Ticket.id)))

    def drained(self, expected_message_ids: Iterable[str] = ()) -> bool:
        """Every expected mail stored, every stored mail terminal, nothing waiting in the outbox."""
        c = self.counts()
        if any(state not in TERMINAL for state in c["inbound"]):
            return False
        if c["outbox"].get("pending", 0) or c["outbox"].get("sending", 0):
            return False
        wanted = {bare_id(m) for m in expected_message_ids}
        if wanted:
            with self.session() as s:
                have = {bare_id(m) for m in s.scalars(select(InboundMail.message_id))}
            return wanted <= have
        return True


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.5) -> tuple[bool, float]:
    """Poll until true or timeout; (reached, seconds waited)."""
    started = time.monotonic()
    while True:
        if predicate():
            return True, time.monotonic() - started
        if time.monotonic() - started >= timeout:
            return False, time.monotonic() - started
        time.sleep(interval)


# --- mail ----------------------------------------------------------------------------------------


def bare_id(message_id: str | None) -> str:
    return (message_id or "").strip().strip("<>").strip()


def make_mail(
    sender: str,
    subject: str,
    body: str,
    *,
    to: str = "support@example.com",
    cc: str | None = None,
    headers: dict[str, str] | None = None,
    attachment: bytes | None = None,
    domain: str = "customer.example.org",
) -> tuple[str, bytes]:
    """(Message-ID, CRLF bytes) of a plain customer mail."""
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(datetime.now().astimezone())
    message_id = make_msgid(domain=domain)
    mail["Message-ID"] = message_id
    for key, value in (headers or {}).items():
        mail[key] = value
    mail.set_content(body)
    if attachment is not None:
        mail.add_attachment(attachment, maintype="application", subtype="octet-stream", filename="log.bin")
    return message_id, mail.as_bytes(policy=policy.SMTP)


@dataclass(frozen=True)
class Sample:
    kind: str  # question | unknown | fault | autoreply
    subject: str
    text: str
    expected: str | None  # article id for questions


class Corpus:
    """Texts from the shipped knowledge base: article examples (questions), `_out_of_scope.md` and a
    few invented topics (unknown), `_severity/` examples of real faults (faults), plus auto-replies."""

    INVENTED = (
        ("Frage", "Wann kommt die neue Version für das Tablet raus?"),
        ("Hello", "Do you sell gift cards?"),
        ("Anfrage", "Bieten Sie auch Firmenkonditionen für 40 Mitarbeiter an?"),
        ("Question", "Is there a student discount for the yearly plan?"),
    )

    def __init__(self) -> None:
        kb = load_knowledge_base(SHIPPED_KNOWLEDGE_BASE)
        self.questions = [
            Sample("question", a.title, ex, a.id)
            for a in kb.articles
            if a.action == "answer"
            for ex in a.examples
        ]
        oos = list(kb.out_of_scope.examples) if kb.out_of_scope else []
        self.unknown = [Sample("unknown", "Frage", t, None) for t in oos] + [
            Sample("unknown", s, t, None) for s, t in self.INVENTED
        ]
        self.faults = [
            Sample("fault", "Störung", e.text, None)
            for e in load_severity_examples(SHIPPED_KNOWLEDGE_BASE)
            if e.label != "none"
        ]

    def pick(self, rng: random.Random, mix: Sequence[tuple[str, float]]) -> Sample:
        kind = rng.choices([k for k, _ in mix], weights=[w for _, w in mix])[0]
        if kind == "autoreply":
            return Sample(
                "autoreply", "Automatische Antwort: Ihre Anfrage", "Ich bin bis Montag nicht im Büro.", None
            )
        return rng.choice({"question": self.questions, "unknown": self.unknown, "fault": self.faults}[kind])

    def mail(
        self, rng: random.Random, sender: str, mix: Sequence[tuple[str, float]], **kwargs: Any
    ) -> tuple[str, bytes, Sample]:
        sample = self.pick(rng, mix)
        headers = {"Auto-Submitted": "auto-replied"} if sample.kind == "autoreply" else None
        body = f"Hallo,\n\n{sample.text}\n\nViele Grüße\n{sender.split('@')[0]}"
        message_id, raw = make_mail(sender, sample.subject, body, headers=headers, **kwargs)
        return message_id, raw, sample


def lmtp_deliver(dovecot: DovecotServer, user: str, raws: Sequence[bytes], mail_from: str = "") -> int:
    """Deliver over one LMTP connection, like an MTA with a queue of mail for the mailbox."""
    if not raws:
        return 0
    with smtplib.LMTP(dovecot.host, dovecot.lmtp_port, timeout=30) as lmtp:
        for raw in raws:
            sender = mail_from or parseaddr(BytesHeaderParser().parsebytes(raw).get("From", ""))[1]
            refused = lmtp.sendmail(sender or "sender@example.test", [user], raw)
            if refused:
                raise RuntimeError(f"LMTP refused {refused}")
    return len(raws)


def maildir_of(dovecot: DovecotServer, user: str) -> Path:
    local, _, domain = user.partition("@")
    return dovecot.directory / "mail" / domain / local / "Maildir"


# --- SMTP side: a sink with time-window failures ---------------------------------------------------


class FlakySink(SmtpSink):
    """SmtpSink plus `fail_all(code, stage)` until `heal()`: a server answering 4xx for a while."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._all: tuple[str, str] | None = None  # (stage, reply)
        self.received_at: list[float] = []

    def fail_all(self, code: int = 451, stage: str = "RCPT", message: str | None = None) -> None:
        with self._lock:
            self._all = (stage, f"{code} {message or '4.7.1 Greylisted, please try again later'}")

    def heal(self) -> None:
        with self._lock:
            self._all = None

    def _take_failure(self, stage: Any, mail_from: str, rcpts: list[str]) -> str | None:
        with self._lock:
            blanket = self._all
            bad = stage == "RCPT" and bool(rcpts) and rcpts[0].lower() in self._bad_rcpts
            if blanket is not None and blanket[0] == stage and not bad:
                self._rejections.append(Rejection(stage, mail_from, rcpts, blanket[1]))
                return blanket[1]
        return super()._take_failure(stage, mail_from, rcpts)

    def _record(self, message: Any) -> None:
        with self._lock:
            self.received_at.append(time.time())
        super()._record(message)


# --- IMAP side: a proxy that cuts the connection mid-FETCH -------------------------------------------


class ImapProxy:
    """A TCP proxy in front of Dovecot's IMAP port. `arm(after_bytes, action)` makes the next
    `UID FETCH ... BODY.PEEK[]` response be cut after `after_bytes` bytes have reached the client:
    action "cut" resets both sockets; any callable is run instead (e.g. a Dovecot restart)."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.port = free_ports(1)[0]
        self._listener = socket.create_server((LOOPBACK, self.port))
        self._armed: tuple[int, Any] | None = None
        self._lock = threading.Lock()
        self.events: list[dict[str, Any]] = []
        self.fetches_seen = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True, name="imap-proxy").start()

    def arm(self, after_bytes: int, action: Any = "cut") -> None:
        with self._lock:
            self._armed = (after_bytes, action)

    def close(self) -> None:
        self._stop = True
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection((LOOPBACK, self.upstream), timeout=10)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            conn = {"fetching": False, "sent": 0, "plan": None, "done": False}
            threading.Thread(target=self._up, args=(client, upstream, conn), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, client, conn), daemon=True).start()

    def _up(self, client: socket.socket, upstream: socket.socket, conn: dict[str, Any]) -> None:
        try:
            while data := client.recv(65536):
                if b"FETCH" in data.upper() and b"BODY.PEEK[]" in data.upper():
                    with self._lock:
                        self.fetches_seen += 1
                        conn["fetching"], conn["sent"] = True, 0
                        if self._armed is not None and conn["plan"] is None:
                            conn["plan"], self._armed = self._armed, None
                upstream.sendall(data)
        except OSError:
            pass
        finally:
            _reset(upstream)
            _reset(client)

    def _down(self, upstream: socket.socket, client: socket.socket, conn: dict[str, Any]) -> None:
        try:
            while data := upstream.recv(65536):
                plan = conn["plan"]
                if conn["done"] == "stall":
                    continue  # swallow everything: the client sees a connection that went silent
                if plan is not None and conn["fetching"] and not conn["done"]:
                    limit, action = plan
                    if conn["sent"] + len(data) >= limit:
                        head = data[: max(0, limit - conn["sent"])]
                        client.sendall(head)
                        conn["sent"] += len(head)
                        name = action if isinstance(action, str) else getattr(action, "__name__", "call")
                        conn["done"] = name
                        self.events.append({"at": time.time(), "bytes_through": conn["sent"], "action": name})
                        if action == "cut":
                            return
                        if action == "stall":
                            continue
                        threading.Thread(target=action, daemon=True).start()
                        data = data[len(head) :]
                conn["sent"] += len(data)
                client.sendall(data)
        except OSError:
            pass
        finally:
            _reset(client)
            _reset(upstream)


def _reset(sock: socket.socket) -> None:
    """Tear the connection down now, with RST where possible (SO_LINGER 0); shutdown() first, so
    that a recv() blocked in the other pump thread returns."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def pids_where(matches: Callable[[bytes], bool]) -> list[int]:
    """The processes running now whose command line (or process title) `matches`."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if matches(cmdline):
            pids.append(int(proc.name))
    return pids


def dovecot_pids(dovecot: DovecotServer) -> list[int]:
    """The master and every child process of this one Dovecot instance (found by its unique
    instance name in the process titles, or its config path on the master's command line)."""
    text = dovecot.config_path.read_text()
    instance = re.search(r"^instance_name = (\S+)", text, re.MULTILINE)
    assert instance is not None
    title, config = f"{instance.group(1)}/".encode(), str(dovecot.config_path).encode()
    return pids_where(lambda cmdline: title in cmdline or (b"dovecot" in cmdline and config in cmdline))


def crash_dovecot(dovecot: DovecotServer) -> int:
    """SIGKILL every process of this Dovecot (master and the IMAP sessions): a server crash. A plain
    SIGTERM to the master, as DovecotServer.stop() does, leaves logged-in IMAP sessions running."""
    pids = dovecot_pids(dovecot)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    dovecot.stop()  # the master is gone; waits until the ports are closed
    return len(pids)


@contextlib.contextmanager
def dovecot_instance(directory: Path | None = None) -> Iterator[DovecotServer]:
    """DovecotServer.started(), and on exit no process of this instance left behind (sessions that
    survived a graceful stop included), each ended by its pid."""
    server = DovecotServer.started(directory)
    try:
        yield server
    finally:
        leftovers = dovecot_pids(server)
        server.close()
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def crash_restart_dovecot(dovecot: DovecotServer) -> None:
    crash_dovecot(dovecot)
    dovecot.start()


def restore_inbox_with_new_uidvalidity(
    dovecot: DovecotServer, user: str, from_folder: str = "Processed"
) -> int:
    """With Dovecot stopped: copy the mails of `from_folder` back into INBOX and drop INBOX's
    dovecot-uidlist and index files, so that INBOX comes back with a new UIDVALIDITY and new UIDs
    (what a restore from backup or a lost index does). Returns how many mails were copied."""
    root = maildir_of(dovecot, user)
    copied = 0
    for src in sorted((root / f".{from_folder}" / "cur").glob("*")) + sorted(
        (root / f".{from_folder}" / "new").glob("*")
    ):
        base = src.name.split(":2,")[0]
        dst = root / "cur" / f"{base}.restored:2,S"
        shutil.copyfile(src, dst)
        shutil.chown(dst, *_owner(root))
        copied += 1
    for name in (
        "dovecot-uidlist",
        "dovecot.index",
        "dovecot.index.log",
        "dovecot.index.cache",
        "dovecot.index.log.2",
    ):
        (root / name).unlink(missing_ok=True)
    return copied


def _owner(path: Path) -> tuple[str, str]:
    import grp
    import pwd

    st = path.stat()
    return pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name


# --- loops: a relay with a header-less auto-responder -------------------------------------------------


@dataclass
class RelayMessage:
    at: float
    mail_from: str
    rcpt: str
    subject: str
    message_id: str
    kind: str  # "smtp" (sent to the relay) or "responder" (the responder's own reply)
    auto_headers: list[str] = field(default_factory=list)


LOOP_GUARD_HEADERS = ("auto-submitted", "precedence", "x-loop", "x-auto-response-suppress")


class Relay:
    """aiosmtpd on loopback standing in for the Internet between two mailbots and a responder.

    - mail for an address in `mailboxes` is delivered into that Dovecot user over LMTP (an MTA);
      between two addresses listed in `strip_between`, the RFC 3834 loop-guard headers are removed
      first (a gateway that drops them);
    - mail for an address in `responders` gets a "Thank you for your message" reply, as FreeScout's
      auto-reply does: no Auto-Submitted, no Precedence, no X-Autoreply; mode "threaded" answers
      "Re: <subject>" with In-Reply-To/References, mode "fresh" with a fixed subject and no threading;
    - anything else (team addresses) is only recorded.
    """

    def __init__(
        self,
        dovecot: DovecotServer,
        mailboxes: dict[str, str],
        responders: dict[str, str],
        strip_between: frozenset[str] = frozenset(),
    ) -> None:
        self.dovecot = dovecot
        self.mailboxes = {k.lower(): v for k, v in mailboxes.items()}
        self.responders = {k.lower(): v for k, v in responders.items()}
        self.strip_between = frozenset(a.lower() for a in strip_between)
        self.port = free_ports(1)[0]
        self.log: list[RelayMessage] = []
        self.errors: list[str] = []
        self._queue: queue.Queue[tuple[str, list[str], bytes] | None] = queue.Queue()
        self._lock = threading.Lock()
        self.last_activity = time.monotonic()
        self._controller = Controller(
            self, hostname=LOOPBACK, port=self.port, server_hostname="relay.example.test", ready_timeout=10
        )
        self._thread = threading.Thread(target=self._work, daemon=True, name="relay")

    def start(self) -> None:
        self._controller.start()
        self._thread.start()

    def stop(self) -> None:
        self._controller.stop()
        self._queue.put(None)
        self._thread.join(timeout=10)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data = envelope.original_content or envelope.content or b""
        self._queue.put((envelope.mail_from or "", list(envelope.rcpt_tos), bytes(data)))
        return "250 queued"

    def submit(self, mail_from: str, rcpts: list[str], raw: bytes) -> None:
        """Inject a mail as if it had been sent to the relay (the kick-off)."""
        self._queue.put((mail_from, rcpts, raw))

    def idle_for(self) -> float:
        return time.monotonic() - self.last_activity if self._queue.empty() else 0.0

    def _record(self, mail_from: str, rcpt: str, raw: bytes, kind: str) -> None:
        head = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        autos = [f"{k}: {v}" for k, v in head.items() if k.lower() in LOOP_GUARD_HEADERS]
        with self._lock:
            self.log.append(
                RelayMessage(
                    time.time(),
                    mail_from.lower(),
                    rcpt.lower(),
                    str(head.get("Subject", "")),
                    bare_id(head.get("Message-ID")),
                    kind,
                    autos,
                )
            )

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            mail_from, rcpts, raw = item
            try:
                for rcpt in rcpts:
                    rcpt_l = rcpt.lower()
                    data = raw
                    if mail_from.lower() in self.strip_between and rcpt_l in self.strip_between:
                        data = strip_headers(raw, LOOP_GUARD_HEADERS)
                    self._record(mail_from, rcpt, data, "smtp")  # as the recipient gets it
                    self._route(mail_from, rcpt_l, data)
            except Exception as exc:  # keep relaying; the figure shows it
                self.errors.append(f"{type(exc).__name__}: {exc}")
            self.last_activity = time.monotonic()

    def _route(self, mail_from: str, rcpt: str, raw: bytes) -> None:
        if rcpt in self.mailboxes:
            self.dovecot.deliver_lmtp(self.mailboxes[rcpt], raw, mail_from=mail_from or "<>")
        elif rcpt in self.responders:
            reply_to, reply = responder_reply(rcpt, raw, self.responders[rcpt])
            if reply_to:
                self._record(rcpt, reply_to, reply, "responder")
                if reply_to.lower() in self.mailboxes:
                    self.dovecot.deliver_lmtp(self.mailboxes[reply_to.lower()], reply, mail_from=rcpt)


def strip_headers(raw: bytes, names: Sequence[str]) -> bytes:
    head, sep, body = raw.partition(b"\r\n\r\n")
    kept: list[bytes] = []
    skipping = False
    for line in head.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                kept.append(line)
            continue
        name = line.split(b":", 1)[0].decode("ascii", "replace").strip().lower()
        skipping = name in names
        if not skipping:
            kept.append(line)
    return b"\r\n".join(kept) + sep + body


def responder_reply(address: str, raw: bytes, mode: str) -> tuple[str, bytes]:
    """FreeScout-like auto-reply: plain mail, no RFC 3834 header of any kind."""
    original = message_from_bytes(raw, policy=policy.default)
    to = parseaddr(str(original.get("Reply-To") or original.get("From") or ""))[1]
    if not to:
        return "", b""
    mail = EmailMessage()
    mail["From"] = address
    mail["To"] = to
    subject = str(original.get("Subject", ""))
    mail["Subject"] = f"Re: {subject}" if mode == "threaded" else "Thank you for your message"
    mail["Date"] = format_datetime(datetime.now().astimezone())
    mail["Message-ID"] = make_msgid(domain="responder.example.net")
    if mode == "threaded" and original.get("Message-ID"):
        mail["In-Reply-To"] = str(original["Message-ID"])
        mail["References"] = f"{original.get('References', '')} {original['Message-ID']}".strip()
    mail.set_content(
        "Thank you for your message. We have received it and will get back to you as soon as possible.\n\n"
        "Your Helpdesk Team\n"
    )
    return to, mail.as_bytes(policy=policy.SMTP)


# --- what the SMTP side received ---------------------------------------------------------------------


@dataclass
class Received:
    rcpt: str
    message_id: str
    in_reply_to: str
    subject: str
    digest: str
    data: bytes


def received(messages: Iterable[Any]) -> list[Received]:
    out = []
    for m in messages:
        head = BytesHeaderParser(policy=policy.compat32).parsebytes(m.data)
        for rcpt in m.rcpt_tos:
            out.append(
                Received(
                    rcpt.lower(),
                    bare_id(head.get("Message-ID")),
                    bare_id(head.get("In-Reply-To")),
                    str(head.get("Subject", "")),
                    hashlib.sha256(m.data).hexdigest(),
                    m.data,
                )
            )
    return out


def sink_figures(messages: Iterable[Any], team: Iterable[str]) -> dict[str, Any]:
    """Customer-bound mail grouped by In-Reply-To (two different answers to one mail?), and the
    same Message-ID received more than once (byte-identical re-sends: the at-least-once window)."""
    team_l = {t.lower() for t in team}
    rows = received(messages)
    by_id: dict[str, list[Received]] = defaultdict(list)
    for r in rows:
        by_id[r.message_id].append(r)
    resent = {mid: rs for mid, rs in by_id.items() if len(rs) > 1}
    resent_identical = sum(1 for rs in resent.values() if len({r.digest for r in rs}) == 1)
    customer = [r for r in rows if r.rcpt not in team_l]
    answers: dict[str, set[str]] = defaultdict(set)
    bodies: dict[str, set[str]] = defaultdict(set)
    for r in customer:
        if r.in_reply_to:
            answers[r.in_reply_to].add(r.message_id)
            bodies[r.in_reply_to].add(_body_digest(r.data))
    doubled = {irt: sorted(mids) for irt, mids in answers.items() if len(mids) > 1}
    return {
        "received": len(rows),
        "to_customers": len(customer),
        "to_team": len(rows) - len(customer),
        "distinct_message_ids": len(by_id),
        "resent_message_ids": len(resent),
        "resent_extra_copies": sum(len(rs) - 1 for rs in resent.values()),
        "resent_byte_identical": resent_identical,
        "resent_ids": sorted(resent),
        "inbound_with_two_different_answers": len(doubled),
        "double_answer_examples": dict(list(doubled.items())[:5]),
        "distinct_bodies_max": max((len(b) for b in bodies.values()), default=0),
        "answered_inbound_ids": sorted(answers),
    }


def _body_digest(raw: bytes) -> str:
    _head, _sep, body = raw.partition(b"\r\n\r\n")
    return hashlib.sha256(body).hexdigest()


def outcome_counts(rows: Iterable[InboundMail]) -> dict[str, int]:
    return dict(Counter(str(r.outcome or r.state) for r in rows))


def rule_hit_counts(rows: Iterable[InboundMail]) -> dict[str, int]:
    hits: Counter[str] = Counter()
    for r in rows:
        for hit in (r.decision or {}).get("rule_hits", []):
            hits[hit["name"]] += 1
    return dict(hits)
