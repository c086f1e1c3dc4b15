"""The real worker (`mailbot run` as a subprocess) while the clients folder changes under it: a removed
client is no longer polled and keeps its rows, an added one is served within the reload period, a
changed client.toml is picked up, and a broken edit is logged with file and line while the client goes
on with its previous settings. MAILBOT_RELOAD_SECONDS=1 instead of the 30 s of a real installation."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from mailbot.db.schema import InboundMail, Ticket
from tests.e2e.conftest import make_mail, text_of
from tests.e2e.test_clients import PASSWORD_QUESTION, Installation, make_installation, shared_models
from tests.servers import DovecotServer, SmtpSink
from tests.servers.common import wait_until

pytestmark = pytest.mark.servers
A, B, C = "aktivo", "parkfuchs", "kuechenchef"


class Worker:
    """`mailbot run ARGS` as a subprocess, its log in `log`, with more environment `env`."""

    def __init__(
        self, installation: Installation, log: Path, *args: str, env: dict[str, str] | None = None
    ) -> None:
        self.log = log
        with log.open("w") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mailbot.cli", "run", *args, "--config", str(installation.config)],
                stdout=output,
                stderr=subprocess.STDOUT,
                env={**os.environ, "MAILBOT_RELOAD_SECONDS": "1", **(env or {})},
            )

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def wait_for_log(self, words: str, timeout: float = 60) -> None:
        wait_until(lambda: words in self.text(), timeout=timeout, what=f"worker log {words!r}")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture
def installation(
    tmp_path: Path, dovecot: DovecotServer, smtp_sink: SmtpSink, tmp_path_factory: pytest.TempPathFactory
) -> Installation:
    built = make_installation(tmp_path, dovecot, smtp_sink, model_dir=shared_models(tmp_path_factory))
    built.add(A, "AK")
    built.add(B, "PF")
    built.run_once()  # models trained (or loaded) before the worker starts: its log stays readable
    return built


@pytest.fixture
def worker(installation: Installation, tmp_path: Path) -> Iterator[Worker]:
    running = Worker(installation, tmp_path / "worker.log")
    try:
        yield running
    finally:
        running.stop()


def ask(installation: Installation, slug: str, customer: str) -> None:
    installation.deliver(slug, make_mail(customer, *PASSWORD_QUESTION, to=installation.address(slug)))


def answers(installation: Installation, slug: str) -> list:
    return installation.sent(sender=installation.address(slug))


def test_clients_added_changed_broken_and_removed_while_the_worker_runs(
    installation: Installation, worker: Worker
) -> None:
    worker.wait_for_log(f"mailbox {B}")
    ask(installation, A, "eins@customer.example.org")
    ask(installation, B, "eins@customer.example.org")
    wait_until(lambda: answers(installation, A) and answers(installation, B), timeout=30, what="both answer")

    # a new signature name for parkfuchs: the next answer is signed with it
    parkfuchs = installation.client_file(B)
    parkfuchs.write_text(parkfuchs.read_text().replace("Parkfuchs Support", "Parkfuchs Kundenservice"))
    worker.wait_for_log(f"client {B} changed")
    ask(installation, B, "zwei@customer.example.org")
    wait_until(lambda: len(answers(installation, B)) == 2, timeout=30, what="parkfuchs answers again")
    renamed = answers(installation, B)[-1]
    assert renamed["From"].addresses[0].display_name == "Parkfuchs Kundenservice"
    assert "Mit freundlichen Grüßen\nParkfuchs Kundenservice" in text_of(renamed.as_bytes())

    # a typo in aktivo's file: logged with file and line; aktivo goes on as it was
    aktivo = installation.client_file(A)
    good = aktivo.read_text()
    aktivo.write_text(good + "\n[limits]\nmax_atempts = 2\n")
    line = len((good + "\n[limits]\n").splitlines()) + 1
    worker.wait_for_log(f"client {A} has problems (still served with its previous settings)")
    assert (
        f"{aktivo}: invalid configuration\n  line {line}: [limits] max_atempts: unknown key" in worker.text()
    )
    ask(installation, A, "zwei@customer.example.org")
    wait_until(lambda: len(answers(installation, A)) == 2, timeout=30, what="aktivo still answers")
    assert "Aktivo Support" in text_of(answers(installation, A)[-1].as_bytes())

    # parkfuchs leaves: no longer polled, its rows stay
    shutil.move(parkfuchs.parent, installation.root / "parkfuchs-gone")
    worker.wait_for_log(f"client {B} removed")
    ask(installation, B, "drei@customer.example.org")

    # kuechenchef joins: served within the reload period (plus its model, when not saved yet)
    installation.add(C, "KC")
    worker.wait_for_log(f"client {C} added", timeout=120)
    ask(installation, C, "eins@customer.example.org")
    wait_until(lambda: answers(installation, C), timeout=30, what="kuechenchef answers")
    (welcome,) = answers(installation, C)
    assert "[KC-000001]" in welcome["Subject"]

    assert worker.stop() == 0
    assert "worker stopped" in worker.text()
    assert len(answers(installation, B)) == 2  # nothing after it left ...
    assert len(installation.dovecot.list_folder(installation.users[B])) == 1  # ... its new mail untouched
    assert [t.mailbox for t in installation.rows(Ticket)].count(B) == 2  # and its tickets are kept
    assert [m.mailbox for m in installation.rows(InboundMail)].count(B) == 2
