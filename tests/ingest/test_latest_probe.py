"""The devices page's latest values (api.queries.devices) and the alarm engine's
start-up probe (ingest.alarm_engine): raw readings from the hourly rollup's split
on, the rollup's newest bucket below it (schemas.rollup_window.NEWEST). Whatever the job
has folded in or not, the answer is the newest raw reading in the look-back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from api.buckets import TimeWindow
from api.db import Conn, run_once
from api.queries.devices import latest_values, lookback
from ingest.alarm_engine import _LAST
from ingest.pipeline import Pipeline
from ingest.rollups import refresh
from schemas.rollup_window import SPLIT, newest_bounds, split_of
from tests.ingest.test_rollups import tel

# The newest raw reading of every (device, metric) in [since, until): the truth.
NEWEST = """
SELECT DISTINCT ON (d.id, m.name) d.id, m.name, r.ts, r.value
FROM readings r JOIN devices d ON d.key = r.device_key JOIN metrics m ON m.key = r.metric_key
WHERE r.ts >= %s AND r.ts < %s
ORDER BY d.id, m.name, r.ts DESC
"""

Latest = dict[tuple[str, str], tuple[datetime, float]]


def expected(conn: psycopg.Connection[Any], within: TimeWindow) -> Latest:
    rows = conn.execute(NEWEST, (within.start, within.end)).fetchall()
    return {(d, m): (ts, v) for d, m, ts, v in rows}


def answered(url: str, within: TimeWindow, devices: list[str]) -> Latest:
    """The devices page's answer; the alarm engine's start-up probe must agree."""
    found = run_once(url, lambda conn: page(conn, within, devices))
    assert engine_probe(url, within) == found
    return found


def engine_probe(url: str, within: TimeWindow) -> Latest:
    """ingest.alarm_engine's query over every pair the readings hold."""
    with psycopg.connect(url, autocommit=True) as conn:
        split = split_of(conn.execute(SPLIT, {"source": "readings_1h"}).fetchone())
        pairs = conn.execute(
            "SELECT DISTINCT device_key, metric_key FROM readings ORDER BY 1, 2"
        ).fetchall()
        names = dict(conn.execute("SELECT key, id FROM devices").fetchall())
        metrics = dict(conn.execute("SELECT key, name FROM metrics").fetchall())
        params = {"keys": [d for d, _ in pairs], "metrics": [m for _, m in pairs],
                  **newest_bounds(within.start, within.end, split)}  # fmt: skip
        rows = conn.execute(_LAST, params).fetchall()
    return {(names[d], metrics[m]): (datetime.fromtimestamp(t, UTC), v) for d, m, t, v in rows}


async def page(conn: Conn, within: TimeWindow, devices: list[str]) -> Latest:
    out: Latest = {}
    for device in devices:
        found = await latest_values(conn, "lanting", within, device=device)
        for metric, latest in found.get(device, {}).items():
            out[(device, metric)] = (latest.ts, latest.value)
    return out


@pytest.fixture
def conn(ingest_db: str) -> Any:
    with psycopg.connect(ingest_db, autocommit=True) as c:
        yield c


def test_latest_values_are_the_newest_raw_readings_before_and_after_the_job(
    ingest_db: str, conn: psycopg.Connection[Any]
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    week = lookback(now, 7)
    pipeline = Pipeline()
    pipeline.attach(conn)
    pipeline.write(
        conn,
        [
            # env-1: days back, and minutes ago (above every mark)
            tel("env-1", now - timedelta(days=3), temperature=10.0),
            tel("env-1", now - timedelta(minutes=2), temperature=21.5),
            # env-2: only days back; its humidity last reported before the look-back
            tel("env-2", now - timedelta(days=2, minutes=5), temperature=12.0),
            tel("env-2", now - timedelta(days=9), humidity=40),
            # env-3: just after the look-back's start, and in the same hour before it
            tel("env-3", week.start - timedelta(minutes=1), temperature=5.0),
            tel("env-3", week.start + timedelta(seconds=1), temperature=6.0),
            tel("env-4", week.start - timedelta(seconds=1), temperature=7.0),
        ],
    )
    devices = ["env-1", "env-2", "env-3", "env-4"]
    # Declared, so the page asks for them before any hour is rolled up.
    conn.execute("UPDATE devices SET metrics = '{temperature,humidity}' WHERE id = ANY(%s)",
                 (devices,))  # fmt: skip
    truth = expected(conn, week)
    assert truth[("env-1", "temperature")][1] == 21.5
    assert ("env-2", "humidity") not in truth
    assert ("env-4", "temperature") not in truth
    # Before the job: everything from raw readings (the split is far back).
    assert answered(ingest_db, week, devices) == truth
    refresh(conn, final=True)
    (hour_mark,) = conn.execute("SELECT hours_to FROM rollup_state").fetchone() or (None,)
    assert hour_mark is not None
    assert hour_mark > now - timedelta(hours=1)
    # After it: env-2's and env-3's come from the hourly rollup's last values.
    assert answered(ingest_db, week, devices) == truth
    # A late reading below the mark, newer than env-2's rolled one: its bucket
    # is pending, so raw readings answer for it until the job has run again.
    pipeline.write(conn, [tel("env-2", now - timedelta(days=1), temperature=13.0)])
    truth = expected(conn, week)
    assert truth[("env-2", "temperature")][1] == 13.0
    assert answered(ingest_db, week, devices) == truth
    refresh(conn, final=True)
    assert answered(ingest_db, week, devices) == truth
    # And a look-back that starts inside a rolled hour cuts inside that bucket.
    narrow = TimeWindow(now - timedelta(days=3, seconds=-1), week.end)
    assert answered(ingest_db, narrow, devices) == expected(conn, narrow)
    assert ("env-1", "temperature") in expected(conn, narrow)
