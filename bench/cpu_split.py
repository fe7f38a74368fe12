"""Where the CPU goes during a bench run: seconds per component, from /proc.

On 2 cores every part of the district runs on the same CPUs (broker, feeder,
ingestor, the database's backends, the API, wrk), so "where the time goes"
(issue 25) is a split of CPU seconds by component. :class:`CpuSplit`
samples every process's ``utime + stime`` every few seconds and adds up the
growth per component; PostgreSQL backends are told apart by their
``application_name`` (the ingestor's three connections)
and ``backend_type`` in ``pg_stat_activity``.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

import psycopg

TICKS = os.sysconf("SC_CLK_TCK")
_BY_COMMAND = (
    ("commtwin ingest", "ingestor"),
    ("bench.district_feed", "feeder"),
    ("mosquitto", "broker"),
    ("commtwin api", "api"),
    ("wrk", "wrk"),
)

# The ingestor's connections by application_name (ingest/committer.py,
# rollups.py, ticker.py): batches, the plain-mode rollup job, the clocks.
_INGEST_BACKENDS = {
    "commtwin-ingest": "db: ingestor batches",
    "commtwin-ingest-rollups": "db: ingestor rollup job",
    "commtwin-ingest-ticker": "db: ingestor clocks",
}


def component(command: str, backend: tuple[str, str] | None) -> str:
    """The component a process belongs to; ``backend``: its (backend_type,
    application_name) if it is a PostgreSQL backend that pg_stat_activity lists.

    >>> component("postgres: 15/main: postgres db 127.0.0.1(5) idle",
    ...           ("client backend", "commtwin-ingest-rollups"))
    'db: ingestor rollup job'
    >>> component("postgres: 15/main: postgres db 127.0.0.1(6) idle", ("client backend", ""))
    'db: api and others'
    >>> component("postgres: 15/main: checkpointer ", None)
    'db: background'
    >>> component("/usr/sbin/mosquitto -c /tmp/m.conf", None)
    'broker'
    >>> component("/usr/bin/python -m commtwin ingest --client-id x", None)
    'ingestor'
    """
    if command.startswith("postgres"):
        if backend is None or backend[0] != "client backend":
            return "db: background"  # checkpointer, WAL writer, autovacuum, ...
        return _INGEST_BACKENDS.get(backend[1], "db: api and others")
    for needle, name in _BY_COMMAND:
        if needle in command:
            return name
    return "other"


def ticks_of(pid: int) -> int:
    """One process's CPU so far (user + system, clock ticks); OSError once it is gone."""
    with open(f"/proc/{pid}/stat") as f:
        # The command name (2nd field) may hold spaces: split after its ')'.
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def cpu_ticks() -> dict[int, int]:
    """Every process's CPU so far (clock ticks)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = ticks_of(int(entry.name))
            except (OSError, IndexError):
                continue  # ended meanwhile
    return found


_BACKENDS = "SELECT pid, backend_type, coalesce(application_name, '') FROM pg_stat_activity"


def command_of(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace")


class CpuSplit(threading.Thread):
    """CPU seconds per component between :meth:`start` and :meth:`finish`."""

    def __init__(self, database_url: str, every_s: float = 2.0) -> None:
        super().__init__(daemon=True, name="cpu-split")
        self.database_url, self.every_s = database_url, every_s
        self.seconds: dict[str, float] = {}
        self._done = threading.Event()
        self._known: dict[int, str] = {}
        self._error: Exception | None = None

    def _add(
        self, before: dict[int, int], after: dict[int, int], backends: Mapping[int, tuple[str, str]]
    ) -> None:
        for pid, ticks in after.items():
            grown = ticks - before.get(pid, 0)
            if grown > 0:
                key = self._component_of(pid, backends)
                self.seconds[key] = self.seconds.get(key, 0.0) + grown / TICKS

    def _component_of(self, pid: int, backends: Mapping[int, tuple[str, str]]) -> str:
        if pid in self._known:
            return self._known[pid]
        command = command_of(pid)
        found = component(command, backends.get(pid))
        # A backend forked since the last look may not be listed yet: named
        # again at the next sample rather than kept as background for good.
        if pid in backends or not command.startswith("postgres"):
            self._known[pid] = found
        return found

    def run(self) -> None:
        try:
            with psycopg.connect(self.database_url, autocommit=True) as conn:
                before = cpu_ticks()
                while True:
                    last = self._done.wait(self.every_s)
                    rows = conn.execute(_BACKENDS).fetchall()
                    backends = {int(pid): (str(kind), str(app)) for pid, kind, app in rows}
                    after = cpu_ticks()
                    # A process first seen now started in the window: all its CPU counts.
                    self._add(before, after, backends)
                    before = after
                    if last:
                        return
        except Exception as exc:  # raised again in finish(), on the caller's thread
            self._error = exc

    def begin(self) -> CpuSplit:
        self.start()
        return self

    def finish(self) -> dict[str, float]:
        """Stop sampling; CPU seconds per component, largest first."""
        self._done.set()
        self.join()
        if self._error is not None:
            raise RuntimeError("the CPU split stopped") from self._error
        return dict(sorted(self.seconds.items(), key=lambda kv: -kv[1]))
