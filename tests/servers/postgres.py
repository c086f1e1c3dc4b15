"""A real, throwaway PostgreSQL cluster on loopback for the test suite.

Why a real server: SQLite forgives what PostgreSQL refuses (string lengths, types, locking), so the
database code is tested on both. One cluster per test session under a temporary directory (initdb,
trust authentication, fsync off: ~1.5 s); isolate tests by database (`new_database()`), not by restart.

The server refuses to run as root, so as root the cluster belongs to the `postgres` user that Debian's
package creates; as anyone else it runs as that user. Binaries come from `pg_config --bindir` (Debian
keeps initdb/pg_ctl off PATH) or `MAILBOT_TEST_PG_BINDIR`.
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path
from types import TracebackType

from .common import LOOPBACK, PORT_ATTEMPTS, free_ports, reported_in_use, retried_while_port_taken

INSTALL_HINT = "apt-get install -y --no-install-recommends postgresql"
ENV_BINDIR = "MAILBOT_TEST_PG_BINDIR"
SUPERUSER = "postgres"


class PostgresError(RuntimeError):
    pass


def find_bindir() -> Path:
    configured = os.environ.get(ENV_BINDIR)
    if configured:
        return Path(configured)
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        bindir = Path(found.stdout.strip())
        if (bindir / "initdb").is_file():
            return bindir
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if versions:
        return versions[-1].parent
    raise PostgresError(f"PostgreSQL server binaries not found (initdb); install them: {INSTALL_HINT}")


class PostgresServer:
    def __init__(self, directory: Path, port: int, bindir: Path) -> None:
        self.directory = directory
        self.port = port
        self.bindir = bindir
        self.data = directory / "data"
        self._as_user: list[str] = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []

    @classmethod
    def started(cls) -> PostgresServer:
        bindir = find_bindir()
        directory = Path(tempfile.mkdtemp(prefix="mailbot-pg-"))
        server = cls(directory, free_ports(1)[0], bindir)

        def attempt(again: int) -> None:
            if again:  # the port was taken since it was picked: another one
                server.port = free_ports(1)[0]
            server.start()

        try:
            server._init()
            retried_while_port_taken(attempt, reported_in_use(PostgresError), PORT_ATTEMPTS)
        except BaseException:
            server.stop()
            raise
        atexit.register(server.stop)
        return server

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{LOOPBACK}:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{SUPERUSER}@{LOOPBACK}:{self.port}/{database}"

    def _run(self, *command: str) -> None:
        result = subprocess.run([*self._as_user, *command], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            log = self.directory / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise PostgresError(f"{' '.join(command)} failed: {result.stderr.strip()}\n{tail}")

    def _init(self) -> None:
        if self._as_user:
            user = pwd.getpwnam(SUPERUSER)
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "-A", "trust",
            "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
        )  # fmt: skip

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses={LOOPBACK} -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "server.log"),
            "-w", "-t", "30", "-o", options, "start",
        )  # fmt: skip

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [
                    *self._as_user,
                    str(self.bindir / "pg_ctl"),
                    "-D",
                    str(self.data),
                    "-m",
                    "fast",
                    "-w",
                    "stop",
                ],
                capture_output=True,
                check=False,
            )
        shutil.rmtree(self.directory, ignore_errors=True)

    def new_database(self) -> str:
        """A fresh, empty database; returns its SQLAlchemy URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(
            host=LOOPBACK, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __enter__(self) -> PostgresServer:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
