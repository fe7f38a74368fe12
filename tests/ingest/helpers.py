"""Test helpers for ingest: the ingestor as a real process, a cuttable TCP proxy, waits."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit, urlunsplit

import psycopg

from tests.services import ROOT

LANTING_CRS = (
    "+proj=tmerc +lat_0=30.27 +lon_0=120.15 +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"
)


def add_community(
    url: str, cid: str = "lanting", offset: tuple[float, float, float] = (0, 0, 0)
) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO communities (id, name, crs, offset_x, offset_y, offset_z) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (cid, cid.title(), LANTING_CRS, *offset),
        )


def scalar(url: str, query: str, params: tuple[Any, ...] = ()) -> Any:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(query.encode(), params).fetchone()  # type: ignore[arg-type]
        return row[0] if row else None


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


def wait_for_value(fetch: Callable[[], Any], expected: Any, timeout: float) -> Any:
    """Poll until ``fetch()`` returns ``expected`` (or time runs out); return the last value."""
    value = fetch()
    deadline = time.monotonic() + timeout
    while value != expected and time.monotonic() < deadline:
        time.sleep(0.2)
        value = fetch()
    return value


class IngestProcess:
    """``python -m commtwin ingest`` as a separate process, logs to a file."""

    running: ClassVar[list[IngestProcess]] = []  # reaped after each test (conftest)

    def __init__(
        self,
        database_url: str,
        mqtt_url: str,
        log_dir: Path,
        *,
        client_id: str,
        root: str = "commtwin/v1",
        extra: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        safe = client_id.replace("/", "_")
        self.log_path = log_dir / f"ingest-{safe}-{time.monotonic_ns()}.log"
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("COMMTWIN_")}
        full_env.update(
            COMMTWIN_DATABASE_URL=database_url,
            COMMTWIN_MQTT_URL=mqtt_url,
            COMMTWIN_TOPIC_ROOT=root,
            COMMTWIN_METRICS_PORT="0",
            COMMTWIN_LOG_LEVEL="INFO",
        )
        full_env.update(env or {})
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "commtwin", "ingest", "--client-id", client_id, *extra],
            env=full_env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        IngestProcess.running.append(self)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_connected(self, timeout: float = 20.0) -> None:
        # Subscribed, not merely connected: a message published before the
        # broker registered a new session's subscription would not be queued.
        if not wait_for(
            lambda: "mqtt subscribed" in self.log or self.proc.poll() is not None, timeout
        ):
            raise TimeoutError(f"ingestor did not connect:\n{self.log}")
        if self.proc.poll() is not None:
            raise RuntimeError(f"ingestor exited {self.proc.returncode}:\n{self.log}")

    def terminate(self, timeout: float = 60.0) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._log.close()
        return code

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        self._log.close()

    @classmethod
    def reap(cls) -> None:
        """Kill what a failed test left running (no leaked processes or files)."""
        for p in cls.running:
            if p.proc.poll() is None:
                p.kill()
            p._log.close()
        cls.running.clear()

    def committed(self) -> int:
        """From the final log line ``stopped: committed=N ...``."""
        for line in self.log.splitlines():
            if "stopped: committed=" in line:
                return int(line.split("committed=")[1].split()[0])
        raise LookupError(f"no summary line in:\n{self.log}")


class TcpProxy:
    """A forwarding proxy that can be cut (connections reset, new ones refused) and restored.

    Used to make PostgreSQL unreachable for one ingestor without touching the
    shared server other tests use.
    """

    def __init__(self, target_url: str) -> None:
        parts = urlsplit(target_url)
        self._target = (parts.hostname or "127.0.0.1", parts.port or 5432)
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        netloc = parts.netloc.rsplit("@", 1)
        user = netloc[0] + "@" if len(netloc) == 2 else ""
        self.url = urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{self.port}"))
        self._up = threading.Event()
        self._up.set()
        self._closed = False
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up.is_set():
                client.close()  # refused while cut
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        socks = [a, b]
        try:
            while True:
                readable, _, _ = select.select(socks, [], [], 0.5)
                for s in readable:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        except (OSError, ValueError):
            # cut() closes the sockets under us: select() then sees fd -1 (ValueError).
            return
        finally:
            for s in socks:
                s.close()

    def cut(self) -> None:
        """Reset every open connection and refuse new ones."""
        self._up.clear()
        with self._lock:
            pairs, self._pairs = self._pairs, []
        for a, b in pairs:
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()

    def restore(self) -> None:
        self._up.set()

    def close(self) -> None:
        self._closed = True
        self.cut()
        self._listener.close()
