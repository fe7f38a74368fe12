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
nothing lands in the default partition. A repeat is a no-op (same readings).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import numpy as np
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


class _Batch:
    """Columns of readings waiting for one COPY."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.device: list[int] = []
        self.metric: list[int] = []
        self.value: list[float] = []

    def __len__(self) -> int:
        return len(self.ts)

    def clear(self) -> None:
        for column in (self.ts, self.device, self.metric, self.value):
            column.clear()


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
            batch = _Batch()
            for telemetry in scene_readings(model, topic_root, start, end, seed=seed):
                dkey = devices.get(telemetry.device)
                if dkey is None:
                    continue
                for reading in telemetry.readings:
                    for name, value in zip(reading.metrics, reading.values, strict=True):
                        mkey = metrics.get(name)
                        if mkey is None:
                            mkey = metrics[name] = _metric_key(conn, name)
                        batch.ts.append(reading.ts_us)
                        batch.device.append(dkey)
                        batch.metric.append(mkey)
                        batch.value.append(value)
                if len(batch) >= BATCH_ROWS:
                    written += _flush(conn, batch, plain, devices_seen)
            written += _flush(conn, batch, plain, devices_seen)
    except (psycopg.Error, db.DatabaseError) as exc:
        raise ReadingsError(f"writing the readings history: {exc}") from None
    return ReadingsWritten((end - start) / DAY_S, len(devices_seen), written, time.monotonic() - t0)


def _metric_key(conn: psycopg.Connection[tuple[object, ...]], name: str) -> int:
    conn.execute("INSERT INTO metrics (name) VALUES (%s) ON CONFLICT DO NOTHING", (name,))
    row = conn.execute("SELECT key FROM metrics WHERE name = %s", (name,)).fetchone()
    assert row is not None
    return int(str(row[0]))


def _flush(
    conn: psycopg.Connection[tuple[object, ...]], batch: _Batch, plain: bool, seen: set[int]
) -> int:
    if not batch:
        return 0
    data = readings_copy(
        np.asarray(batch.ts, dtype=np.int64),
        np.asarray(batch.device, dtype=np.int64),
        np.asarray(batch.metric, dtype=np.int32),
        np.asarray(batch.value, dtype=np.float64),
    )
    with conn.transaction():
        conn.execute(CREATE_STAGE)
        with conn.cursor().copy(COPY_STAGE) as copy:
            copy.write(data)
        rows = conn.execute(MOVE_READINGS_PLAIN if plain else MOVE_READINGS_TIMESCALE).fetchall()
    seen.update(int(str(r[0])) for r in rows)
    n = sum(int(str(r[1])) for r in rows)
    batch.clear()
    return n
