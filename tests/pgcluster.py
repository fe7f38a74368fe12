"""A PostgreSQL cluster of a test's own, that can really be stopped, killed and restarted.

The machine's server binaries (``/usr/lib/postgresql/15/bin`` unless
``COMMTWIN_PG_BIN`` says otherwise) run ``initdb`` and ``pg_ctl`` on a free
port in a temporary directory, removed afterwards. PostgreSQL refuses to run
as root, so when the tests run as root the cluster belongs to the ``postgres``
user (``runuser``) and its directory is handed over to it.

``kill()`` sends SIGKILL to the postmaster, as a crash would: its backends
notice and exit, and the next ``start()`` runs crash recovery from the WAL.
``fsync`` is off: a killed *process* loses nothing the OS holds (only a power
cut would), and initdb and checkpoints stay fast.

>>> PgCluster.__name__
'PgCluster'
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import psycopg

from tests.services import free_port

PG_BIN = Path(os.environ.get("COMMTWIN_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ClusterError(Exception):
    """The cluster did not start or stop as asked (its log tail says why)."""


# For tests: fast and crash-safe for a killed process (see the module doc).
TEST_SETTINGS = "-c fsync=off -c full_page_writes=off -c max_connections=200 -c shared_buffers=32MB"


class PgCluster:
    """``settings``: the server's ``-c`` options (default :data:`TEST_SETTINGS`)."""

    def __init__(self, port: int | None = None, settings: str = TEST_SETTINGS) -> None:
        self.port = port or free_port()
        self.settings = settings
        self.dir = Path(tempfile.mkdtemp(prefix="commtwin-pg-"))
        self.data = self.dir / "data"
        self.log = self.dir / "postgres.log"
        self._owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:
            self._owner = pwd.getpwnam("postgres")
            os.chown(self.dir, self._owner.pw_uid, self._owner.pw_gid)
        self._run(
            str(PG_BIN / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
            "--locale=C",
        )

    @property
    def url(self) -> str:
        return self.url_of("postgres")

    def url_of(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    # ------------------------------------------------------------- control
    def start(self, timeout: float = 30.0) -> PgCluster:
        """Start (after a kill too: waits for the killed server's backends to go)."""
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} {self.settings}"
        deadline = time.monotonic() + timeout
        while True:
            done = self._run(
                str(PG_BIN / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.log),
                "-o",
                options,
                "-w",
                "-t",
                "20",
                "start",
                check=False,
            )
            if done.returncode == 0:
                return self
            if time.monotonic() > deadline:
                raise ClusterError(f"pg_ctl start failed: {self.log_tail()}")
            time.sleep(0.3)  # e.g. the killed server's backends still hold its memory

    def stop(self, mode: str = "fast") -> None:
        """``pg_ctl stop -m fast|immediate|smart`` (immediate: crash recovery on start)."""
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False
        )

    def kill(self) -> int:
        """SIGKILL the postmaster; the pid it had (0: it was not running)."""
        pid = self.postmaster_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return 0
            _wait_gone(pid, 10.0)
        return pid

    def restart(self) -> None:
        self.stop()
        self.start()

    def postmaster_pid(self) -> int:
        try:
            first = (self.data / "postmaster.pid").read_text().splitlines()[0]
        except (OSError, IndexError):
            return 0
        pid = int(first)
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return 0
        return pid

    def running(self) -> bool:
        try:
            with psycopg.connect(self.url, connect_timeout=2) as conn:
                conn.execute("SELECT 1")
            return True
        except psycopg.OperationalError:
            return False

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        return self.url_of(name)

    def close(self) -> None:
        """Stop the server whatever its state and remove its directory."""
        if self.postmaster_pid():
            self.stop("immediate")
        if self.postmaster_pid():
            self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    # ----------------------------------------------------------- internals
    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self._owner is not None:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, cwd=self.dir, timeout=120, check=False
        )
        if check and done.returncode != 0:
            raise ClusterError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-500:]}")
        return done

    def __enter__(self) -> PgCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _wait_gone(pid: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
