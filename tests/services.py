"""Real services for tests: throwaway PostgreSQL databases and Mosquitto brokers.

Nothing here is mocked: databases are created on the server named by
``COMMTWIN_TEST_DATABASE_URL`` and dropped afterwards; brokers are real
``mosquitto`` processes started with the project's config on a free port.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit, urlunsplit

import psycopg

ROOT = Path(__file__).resolve().parent.parent
MOSQUITTO_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_url() -> str:
    return os.environ.get("COMMTWIN_TEST_DATABASE_URL", DEFAULT_SERVER_URL)


def _with_dbname(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def scratch_database(prefix: str = "commtwin_test") -> Iterator[str]:
    """Create an empty database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    admin = server_url()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    try:
        yield _with_dbname(admin, name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


class Broker:
    """A private Mosquitto running the project's config on a free port."""

    def __init__(self, conf: Path = MOSQUITTO_CONF, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self._dir = Path(tempfile.mkdtemp(prefix="commtwin-mosquitto-"))
        # Mosquitto started as root drops to its own user, which must be able
        # to write the persistence file here (else restart() loses sessions).
        self._dir.chmod(0o777)
        self._conf = self._dir / "mosquitto.conf"
        self._conf.write_text(
            conf.read_text()
            + f"\nlistener {self.port} 127.0.0.1\n"
            + f"persistence true\npersistence_location {self._dir}/\n"
        )
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self) -> Broker:
        binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        # Kept and closed in stop(): a dropped handle is a ResourceWarning (an error here).
        self._log = open(self._dir / "mosquitto.log", "ab")  # noqa: SIM115 - lives with the process
        self._proc = subprocess.Popen(
            [binary, "-c", str(self._conf)],
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=10)
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def log_path(self) -> Path:
        return self._dir / "mosquitto.log"

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)
