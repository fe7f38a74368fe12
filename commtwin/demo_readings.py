"""The demo's month before, in readings: the scene devices' history, written with COPY.

The cockpit's scene tabs show 24 h and 30 d trends (energy per hour and per
day, PV, parking, gates, chargers) from the readings rollups. A fresh demo
has only the feed's last hour, so on the first run the demo writes the month
before the feed for the devices those trends read, generated straight from
the simulator's behaviour models as arrays (:mod:`simulators.backfill`: no
MQTT messages, no JSON, no parsing). The last :data:`FULL_RESOLUTION_S` come
at the devices' own intervals (what device charts read at minute
resolution); older days at one sample per :data:`COARSE_S`, which the 30 d
trends cannot tell apart (they read hourly rollups, and cumulative counters
grow by the same kWh per hour however often they are sampled).

Writing: one binary COPY per part (the recent one first, so the 24 h trends
fill at once, then the older days) into the ingestor's staging table, then
the writer's SQL for backfills (:mod:`ingest.sql`): the raw rows go in with ``ON
CONFLICT DO NOTHING`` and, on plain PostgreSQL, ``readings_1m`` and
``readings_1h`` are folded set-based from exactly the rows inserted (one
grouped upsert per rollup for the whole part). On TimescaleDB the continuous
aggregates are refreshed over the window afterwards, since their policies
look back only hours or days. The day partitions of the window are made
first (``commtwin_ensure_partition``), so nothing lands in the default
partition. Counters are re-based to run into the live feed's first values
(:func:`rebase_counters`). A repeat is a no-op (the same readings).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
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
from ingest.sql import COPY_STAGE, CREATE_STAGE, FOLD_READINGS_PLAIN, MOVE_READINGS_TIMESCALE
from simulators.actions import Publish
from simulators.backfill import history_series
from simulators.model_view import load_view
from simulators.scenario import FeedOptions, feed
from simulators.wire import Wire

# The kinds the scene trends read (api/queries/scenes.py: energy, traffic).
SCENE_KINDS: Final = frozenset({"power_meter", "pv_inverter", "parking", "ev_charger", "gate"})
# Cumulative counters of those kinds (simulators/behaviour_building.py, _site.py).
COUNTERS: Final = frozenset({"energy_kwh", "export_kwh", "sessions", "entries", "exits"})
DAY_S: Final = 86400
# At the devices' own intervals: the last day and a bit (the 24 h trend reads
# one hour in front of its grid; device charts read minutes).
FULL_RESOLUTION_S: Final = 26 * 3600
COARSE_S: Final = 1800.0  # before that, one sample per device and half hour


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


def history_table(
    model: Path,
    topic_root: str,
    start: float,
    end: float,
    *,
    seed: int,
    devices: dict[str, int],
    metric_key: Callable[[str], int],
) -> npt.NDArray[np.void]:
    """The window's readings of the scene devices known in ``devices`` (id → key),
    counters re-based, newest first."""
    view = load_view(model)
    full_from = end - FULL_RESOLUTION_S
    parts: list[npt.NDArray[np.void]] = []
    counters: set[int] = set()
    for series in history_series(
        view, topic_root, SCENE_KINDS, start, end, seed=seed, full_from=full_from,
        coarse_s=COARSE_S,
    ):  # fmt: skip
        dkey = devices.get(series.device)
        if dkey is None:
            continue
        mkey = metric_key(series.metric)
        if series.metric in COUNTERS:
            counters.add(mkey)
        part = np.empty(len(series.ts_us), dtype=_ROW)
        part["ts"], part["device"], part["metric"] = series.ts_us, dkey, mkey
        part["value"] = series.values
        parts.append(part)
    table = np.concatenate(parts) if parts else np.empty(0, dtype=_ROW)
    rebase_counters(table, frozenset(counters))
    return table[np.argsort(-table["ts"], kind="stable")]


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

            def metric_key(name: str) -> int:
                if name not in metrics:
                    metrics[name] = _metric_key(conn, name)
                return metrics[name]

            table = history_table(
                model, topic_root, start, end, seed=seed, devices=devices, metric_key=metric_key
            )
            # The recent part first: the 24 h trends are full after one short transaction.
            recent = int(np.searchsorted(-table["ts"], -int((end - FULL_RESOLUTION_S) * 1e6)))
            for part in (table[:recent], table[recent:]):
                written += _flush(conn, part, plain, devices_seen)
        if not plain and written:
            _refresh_aggregates(url, start, end)
    except (psycopg.Error, db.DatabaseError) as exc:
        raise ReadingsError(f"writing the readings history: {exc}") from None
    return ReadingsWritten((end - start) / DAY_S, len(devices_seen), written, time.monotonic() - t0)


def _refresh_aggregates(url: str, start: float, end: float) -> None:
    """TimescaleDB: materialize the window in the continuous aggregates.

    Their policies refresh only the last 3 hours (``readings_1m``) and 3 days
    (``readings_1h``), so older history would stay out of them once the
    watermark passes it. ``refresh_continuous_aggregate`` is a procedure that
    cannot run inside a transaction block (hence autocommit); it refreshes
    only buckets entirely inside the window, so the window is widened to
    whole buckets at the start and cut at the last whole bucket before
    ``end`` (the live feed's bucket stays with the policy and real-time
    aggregation; never NULL, which would put the watermark in the future).
    """
    with psycopg.connect(url, autocommit=True) as conn:
        for view, bucket_s in (("readings_1h", 3600), ("readings_1m", 60)):
            lo = datetime.fromtimestamp(start // bucket_s * bucket_s, UTC)
            hi = datetime.fromtimestamp(end // bucket_s * bucket_s, UTC)
            conn.execute(
                "CALL refresh_continuous_aggregate(%s::regclass, %s::timestamptz, %s::timestamptz)",
                (view, lo, hi),
            )


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
    if rows.size == 0:
        return 0
    data = readings_copy(rows["ts"], rows["device"], rows["metric"], rows["value"])
    with conn.transaction():
        conn.execute(CREATE_STAGE)
        with conn.cursor().copy(COPY_STAGE) as copy:
            copy.write(data)
        counts = conn.execute(FOLD_READINGS_PLAIN if plain else MOVE_READINGS_TIMESCALE).fetchall()
    seen.update(int(str(r[0])) for r in counts)
    return sum(int(str(r[1])) for r in counts)
