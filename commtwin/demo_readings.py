"""The demo's month before, in readings: the scene devices' history, written with COPY.

The cockpit's scene tabs show 24 h and 30 d trends (energy per hour and per
day, PV, parking, gates, chargers) from the readings rollups. A fresh demo
has only the feed's last hour, so on the first run the demo writes the month
before the feed for the devices those trends read: the same readings the
simulator would have published (:func:`simulators.scenario.feed`, parsed by
the ingestor's parser), in binary COPY batches through the ingestor's own
staging table and SQL (:mod:`ingest.sql`): the raw rows go in with ``ON
CONFLICT DO NOTHING`` and, on plain PostgreSQL, ``readings_1m`` and
``readings_1h`` are folded from exactly the rows inserted, as the writer
does; TimescaleDB's continuous aggregates follow by themselves. The day
partitions of the window are made first (``commtwin_ensure_partition``), so
nothing lands in the default partition; the newest day goes in first, so the
24 h trends fill within seconds. Counters are re-based to run into the live
feed's first values (:func:`rebase_counters`). A repeat is a no-op.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt
import psycopg

from commtwin import db
from ingest.copy_binary import readings_copy
from ingest.messages import Telemetry
from ingest.parse import parse
from ingest.sql import COPY_STAGE, CREATE_STAGE, MOVE_READINGS_PLAIN, MOVE_READINGS_TIMESCALE
from simulators.actions import Publish
from simulators.model_view import load_view
from simulators.scenario import FeedOptions, feed
from simulators.wire import Wire

# The kinds the scene trends read (api/queries/scenes.py: energy, traffic).
SCENE_KINDS: Final = frozenset({"power_meter", "pv_inverter", "parking", "ev_charger", "gate"})
# Cumulative counters of those kinds (simulators/behaviour_building.py, _site.py).
COUNTERS: Final = frozenset({"energy_kwh", "export_kwh", "sessions", "entries", "exits"})
BATCH_ROWS: Final = 200_000  # readings per COPY and transaction
DAY_S: Final = 86400


class ReadingsError(Exception):
    """The readings history could not be written (the message says why)."""


@dataclass(frozen=True, slots=True)
class ReadingsWritten:
    days: float
    devices: int
    readings: int
    seconds: float

    def text(self) -> str:
        """The line the demo prints.

        >>> print(ReadingsWritten(30.0, 62, 1250000, 41.5).text())
        readings history: 1250000 readings of 62 scene devices over 30.0 days \
(COPY, written in 41.5 s)
        """
        return (
            f"readings history: {self.readings} readings of {self.devices} scene devices "
            f"over {self.days:.1f} days (COPY, written in {self.seconds:.1f} s)"
        )


def scene_readings(
    model: Path, topic_root: str, start: float, end: float, *, seed: int
) -> Iterator[Telemetry]:
    """The scene devices' telemetry of ``[start, end)``, parsed as the ingestor would."""
    view = load_view(model)
    options = FeedOptions(
        seed=seed, kinds=SCENE_KINDS, outages=False, offline=False, incidents_per_day=0.0
    )
    now_us = int(time.time() * 1e6)
    for action in feed(view, Wire(topic_root, view.id), start, end, options):
        if isinstance(action, Publish) and action.category == "telemetry":
            parsed = parse(action.topic, action.payload, now_us, topic_root)
            if isinstance(parsed, Telemetry):
                yield parsed


def day_partitions(start: float, end: float) -> list[str]:
    """UTC days ``[start, end]`` touches, as ISO dates.

    >>> day_partitions(0.0, 86400.0 * 1.5)
    ['1970-01-01', '1970-01-02']
    """
    first, last = int(start // DAY_S), int((end - 1e-6) // DAY_S)
    return [
        datetime.fromtimestamp(d * DAY_S, UTC).date().isoformat() for d in range(first, last + 1)
    ]


class _Columns:
    """Readings gathered as numpy chunks (the whole window is held: ~28 bytes a row)."""

    def __init__(self) -> None:
        self.rows: list[tuple[int, int, int, float]] = []
        self.chunks: list[npt.NDArray[np.void]] = []

    def add(self, ts_us: int, device: int, metric: int, value: float) -> None:
        self.rows.append((ts_us, device, metric, value))
        if len(self.rows) >= BATCH_ROWS:
            self._pack()

    def _pack(self) -> None:
        if self.rows:
            self.chunks.append(np.array(self.rows, dtype=_ROW))
            self.rows = []

    def table(self) -> npt.NDArray[np.void]:
        self._pack()
        return np.concatenate(self.chunks) if self.chunks else np.empty(0, dtype=_ROW)


_ROW = np.dtype(
    [("ts", np.int64), ("device", np.int64), ("metric", np.int32), ("value", np.float64)]
)


def rebase_counters(table: npt.NDArray[np.void], counters: frozenset[int]) -> None:
    """Make each cumulative counter of ``table`` end where it began, in place.

    The simulator starts every device's counters at the same value whatever
    the start time, so the live feed's first reading is the history's first
    one. Each counter series is rewritten as that start value minus the usage
    still to come (increments, a drop counted as a restart from zero), so it
    rises steadily into the live feed's first value: no false jump at the
    join (a meter restart inside the history is folded into one counter).

    >>> t = np.array([(1, 7, 1, 100.0), (2, 7, 1, 110.0), (3, 7, 1, 4.0), (4, 7, 1, 9.0),
    ...               (1, 7, 2, 5.0)], dtype=_ROW)
    >>> rebase_counters(t, frozenset({1}))
    >>> t["value"].tolist()
    [81.0, 91.0, 95.0, 100.0, 5.0]
    """
    if not counters or table.size == 0:
        return
    idx = np.flatnonzero(np.isin(table["metric"], np.array(sorted(counters), dtype=np.int32)))
    if idx.size == 0:
        return
    sub = table[idx]
    rows = idx[np.lexsort((sub["ts"], sub["metric"], sub["device"]))]
    v = table["value"][rows]
    dev, met = table["device"][rows], table["metric"][rows]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (dev[1:] != dev[:-1]) | (met[1:] != met[:-1])
    step = np.zeros_like(v)
    step[1:] = np.where(v[1:] >= v[:-1], v[1:] - v[:-1], np.maximum(v[1:], 0.0))
    step[first] = 0.0
    group = np.cumsum(first) - 1
    done = np.cumsum(step)
    done -= done[first][group]  # usage since the group's first reading
    total = np.zeros(int(group[-1]) + 1)
    np.maximum.at(total, group, done)
    table["value"][rows] = v[first][group] - (total[group] - done)


def write_readings(
    url: str, model: Path, topic_root: str, start: float, end: float, *, seed: int
) -> ReadingsWritten:
    """Write the scene devices' readings of ``[start, end)`` (idempotent)."""
    t0 = time.monotonic()
    written = 0
    devices_seen: set[int] = set()
    try:
        with db.connect(url) as conn:
            mode = conn.execute("SELECT value FROM storage_config WHERE key = 'mode'").fetchone()
            plain = mode is None or mode[0] == "plain"
            if plain:
                for day in day_partitions(start, end):
                    conn.execute("SELECT commtwin_ensure_partition('readings', %s::date)", (day,))
            community = load_view(model).id
            devices: dict[str, int] = {
                str(did): int(str(key))
                for did, key in conn.execute(
                    "SELECT id, key FROM devices WHERE community_id = %s", (community,)
                ).fetchall()
            }
            metrics: dict[str, int] = {}
            columns = _Columns()
            for telemetry in scene_readings(model, topic_root, start, end, seed=seed):
                dkey = devices.get(telemetry.device)
                if dkey is None:
                    continue
                for reading in telemetry.readings:
                    for name, value in zip(reading.metrics, reading.values, strict=True):
                        mkey = metrics.get(name)
                        if mkey is None:
                            mkey = metrics[name] = _metric_key(conn, name)
                        columns.add(reading.ts_us, dkey, mkey, value)
            table = columns.table()
            rebase_counters(table, frozenset(k for n, k in metrics.items() if n in COUNTERS))
            # Newest first: the last day (the 24 h trends) is in after the first batches.
            table = table[np.argsort(-table["ts"], kind="stable")]
            for lo in range(0, len(table), BATCH_ROWS):
                written += _flush(conn, table[lo : lo + BATCH_ROWS], plain, devices_seen)
    except (psycopg.Error, db.DatabaseError) as exc:
        raise ReadingsError(f"writing the readings history: {exc}") from None
    return ReadingsWritten((end - start) / DAY_S, len(devices_seen), written, time.monotonic() - t0)


def _metric_key(conn: psycopg.Connection[tuple[object, ...]], name: str) -> int:
    conn.execute("INSERT INTO metrics (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))
    row = conn.execute("SELECT key FROM metrics WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return int(str(row[0]))


def _flush(
    conn: psycopg.Connection[tuple[object, ...]],
    rows: npt.NDArray[np.void],
    plain: bool,
    seen: set[int],
) -> int:
    data = readings_copy(rows["ts"], rows["device"], rows["metric"], rows["value"])
    with conn.transaction():
        conn.execute(CREATE_STAGE)
        with conn.cursor().copy(COPY_STAGE) as copy:
            copy.write(data)
        counts = conn.execute(MOVE_READINGS_PLAIN if plain else MOVE_READINGS_TIMESCALE).fetchall()
    seen.update(int(str(r[0])) for r in counts)
    return sum(int(str(r[1])) for r in counts)
