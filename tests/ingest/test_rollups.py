"""Rollups after the fact in plain mode (issue 25): the writer logs the minutes it
touched, ``commtwin_refresh_rollups`` recomputes them; late and redelivered readings
never double, the *_live views see every committed reading before the job has run,
and concurrent jobs take turns."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest

from ingest import sql
from ingest.pipeline import Pipeline
from ingest.rollups import refresh
from schemas.rollup_window import SPLIT, Split, split_of

ROOT = "commtwin/v1"
LOCK = "SELECT pg_advisory_lock(hashtext('commtwin_refresh_rollups'))"
# What the rollups must hold: the aggregate of the raw rows, per minute and hour.
EXPECTED = """
SELECT date_trunc(%s, ts, 'UTC'), device_key, metric_key, count(*), sum(value),
       min(value), max(value), max(ts), (array_agg(value ORDER BY ts DESC))[1]
FROM readings GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
"""
STORED = """
SELECT bucket, device_key, metric_key, n, v_sum, v_min, v_max, last_ts, last_value
FROM {} ORDER BY 1, 2, 3
"""

# Windows of whole buckets: everything, and each bucket that holds readings
# alone and with its neighbours (the edges of a window cut through the data).
WINDOWS = """
SELECT '2000-01-01 00:00+00'::timestamptz, '2100-01-01 00:00+00'::timestamptz
UNION ALL
SELECT DISTINCT date_bin(w, ts, 'epoch') + e.lo * w, date_bin(w, ts, 'epoch') + e.hi * w
FROM readings, (VALUES (%s::interval)) AS x(w), (VALUES (-1, 2), (0, 1)) AS e(lo, hi)
"""


def tel(device: str, ts: datetime, **values: Any) -> tuple[str, bytes, int]:
    payload = orjson.dumps({"ts": int(ts.timestamp() * 1000), "values": values})
    return (f"{ROOT}/lanting/devices/{device}/telemetry", payload, int(time.time() * 1e6))


@pytest.fixture
def conn(ingest_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(ingest_db, autocommit=True) as c:
        yield c


@pytest.fixture
def pipeline(conn: psycopg.Connection[Any]) -> Pipeline:
    p = Pipeline()
    p.attach(conn)
    return p


def rows(conn: psycopg.Connection[Any], query: str, *params: Any) -> list[tuple[Any, ...]]:
    return conn.execute(query.encode(), params or None).fetchall()  # type: ignore[arg-type]


Splits = dict[str, Split]


def assert_rollups_whole(
    conn: psycopg.Connection[Any], table: str = "readings_{}", earlier: Splits | None = None
) -> None:
    for unit, suffix in (("minute", "1m"), ("hour", "1h")):
        assert rows(conn, STORED.format(table.format(suffix))) == rows(conn, EXPECTED, unit)
        if table.endswith("_live"):
            assert_windows_match_the_view(conn, suffix, *([earlier[suffix]] if earlier else []))


def splits(conn: psycopg.Connection[Any]) -> Splits:
    """The split of each level, as readers read it first (schemas.rollup_window)."""
    return {
        suffix: split_of(conn.execute(SPLIT, {"source": f"readings_{suffix}"}).fetchone())
        for suffix in ("1m", "1h")
    }


def assert_windows_match_the_view(
    conn: psycopg.Connection[Any], suffix: str, *earlier: Split
) -> None:
    """readings_*_window (0093, 0094) answers as the view does, for any window of whole
    buckets: reading the split itself, given the split read just before, and given a
    split read ``earlier`` (before the job moved the mark on)."""
    view, window = f"readings_{suffix}_live", f"readings_{suffix}_window"
    width = "1 minute" if suffix == "1m" else "1 hour"
    now = splits(conn)[suffix]
    for lo, hi in rows(conn, WINDOWS, width):
        cut = f"(SELECT * FROM {view} WHERE bucket >= %s AND bucket < %s) v"  # noqa: S608
        expected = rows(conn, STORED.format(cut), lo, hi)
        assert rows(conn, STORED.format(f"{window}(%s, %s)"), lo, hi) == expected
        for split in (now, *earlier):
            given = STORED.format(f"{window}(%s, %s, %s, %s)")
            assert rows(conn, given, lo, hi, *split) == expected, (lo, hi, split)


def test_late_and_redelivered_readings_are_recomputed_not_added(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    t = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    batch = [tel("env-1", t + timedelta(seconds=s), temperature=20.0 + s) for s in (1, 2, 70)]
    batch.append(tel("door-1", t, open=True))
    pipeline.write(conn, batch)
    # The writer logged minutes (a row per minute of the batch), not readings.
    assert rows(conn, "SELECT count(*) FROM rollup_pending") == [(2,)]
    assert rows(conn, "SELECT count(*) FROM readings_1m") == [(0,)]
    # Minutes still being logged wait for quiet (grace), however old they are.
    assert refresh(conn) == {}
    done = refresh(conn, grace_s=0)
    assert done["minute"][0] == 2
    assert done["hour"][0] >= 1
    assert_rollups_whole(conn)
    # A redelivery plus one late reading in the first minute, and one an hour back.
    pipeline.write(
        conn,
        [
            *batch,
            tel("env-1", t + timedelta(seconds=3), temperature=99.0),
            tel("env-2", t - timedelta(hours=1), temperature=5.0),
        ],
    )
    assert rows(conn, "SELECT count(*) FROM rollup_pending") == [(2,)]
    refresh(conn, grace_s=0)
    assert_rollups_whole(conn)
    assert rows(conn, "SELECT sum(n)::int FROM readings_1h") == [(6,)]
    assert rows(conn, "SELECT count(*) FROM rollup_pending") == [(0,)]
    # A run with nothing to do changes nothing.
    assert refresh(conn, grace_s=0) == {}
    assert_rollups_whole(conn)


def test_the_split_of_an_unknown_rollup_is_a_clear_error(conn: psycopg.Connection[Any]) -> None:
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="not readings_1m or"):
        conn.execute(SPLIT, {"source": "readings"})


def test_live_views_count_readings_before_the_job_runs(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    now = datetime.now(UTC)
    # Marks of a database running for a while (the migration set them to now).
    conn.execute(
        "UPDATE rollup_state SET minutes_to = %s, hours_to = %s",
        (now - timedelta(minutes=10), now - timedelta(hours=2)),
    )
    pipeline.write(
        conn,
        [
            tel("env-1", now - timedelta(minutes=3), temperature=21.0),
            tel("env-1", now - timedelta(seconds=1), temperature=22.0),
            tel("env-2", now, temperature=23.0, humidity=40),
        ],
    )
    assert rows(conn, "SELECT count(*) FROM readings_1m") == [(0,)]
    assert_rollups_whole(conn, "readings_{}_live")
    refresh(conn)  # the closed minutes
    assert_rollups_whole(conn, "readings_{}_live")
    refresh(conn, final=True)  # the open ones too, as at a clean shutdown
    assert_rollups_whole(conn)
    assert_rollups_whole(conn, "readings_{}_live")
    # The marks cover only closed buckets: the open minute is still read raw.
    (mark,) = rows(conn, "SELECT minutes_to FROM rollup_state")[0]
    assert mark <= now.replace(second=0, microsecond=0)


def test_late_readings_below_the_marks_count_at_once_in_the_live_views(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    """A device's history sent late (care baselines need 14 days of it) is read
    before the job has folded it in: the views sum pending buckets from raw rows."""
    now = datetime.now(UTC)
    pipeline.write(conn, [tel("env-1", now - timedelta(days=1), temperature=20.0)])
    refresh(conn, final=True)
    assert_rollups_whole(conn)
    (m_mark, h_mark) = rows(conn, "SELECT minutes_to, hours_to FROM rollup_state")[0]
    late = [
        # into a minute and an hour already materialized, and into new old ones
        tel("env-1", now - timedelta(days=1) + timedelta(seconds=1), temperature=30.0),
        tel("env-1", now - timedelta(days=3), temperature=10.0),
        tel("env-2", now - timedelta(hours=5), temperature=12.0, humidity=55),
    ]
    pipeline.write(conn, late)
    assert rows(conn, "SELECT minutes_to, hours_to FROM rollup_state")[0] == (m_mark, h_mark)
    assert all(ts < h_mark for ts in (now - timedelta(days=3), now - timedelta(hours=5)))
    # Readers read the split first: the oldest pending bucket bounds the raw arm.
    before = splits(conn)
    three_days = now - timedelta(days=3)
    assert before["1h"] == (h_mark, three_days.replace(minute=0, second=0, microsecond=0))
    assert before["1m"] == (m_mark, three_days.replace(second=0, microsecond=0))
    assert_rollups_whole(conn, "readings_{}_live")
    refresh(conn, final=True)
    assert_rollups_whole(conn)
    # The job moved the marks on and emptied the pending list: a reader that
    # read the split before still gets the same rows.
    assert splits(conn)["1m"] != before["1m"]
    assert_rollups_whole(conn, "readings_{}_live", earlier=before)


def test_a_backlog_is_materialized_behind_the_writers_frontier(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    """Data an hour ahead of the wall clock stands in for a backlog: the
    minutes behind the newest one written close, the newest stays open."""
    frontier = datetime.now(UTC).replace(second=0, microsecond=0) + timedelta(hours=1)
    # The writer's own statement (the parser refuses readings from the future).
    with conn.transaction():
        conn.execute(
            "INSERT INTO ingest_stage_readings SELECT %s - make_interval(mins => m), 1, 1, m"
            " FROM generate_series(0, 3) m",
            (frontier,),
        )
        conn.execute(sql.MOVE_READINGS_PLAIN)
    time.sleep(1.1)  # quiet for the grace below
    later = frontier + timedelta(minutes=30)
    done = {
        r[0]: r[1]
        for r in rows(
            conn,
            "SELECT level, count(*) FROM commtwin_refresh_rollups(false, %s, '1 second')"
            " GROUP BY 1",
            later,
        )
    }
    assert done["minute"] == 3
    assert rows(conn, "SELECT minutes_to FROM rollup_state") == [(frontier,)]
    assert rows(conn, "SELECT bucket FROM rollup_pending WHERE level = 'm'") == [(frontier,)]
    assert_rollups_whole(conn, "readings_{}_live")


def test_periodic_runs_skip_while_one_runs_and_final_waits(
    conn: psycopg.Connection[Any], pipeline: Pipeline, ingest_db: str
) -> None:
    t = datetime.now(UTC) - timedelta(minutes=10)
    pipeline.write(conn, [tel("env-1", t, temperature=20.0)])
    with psycopg.connect(ingest_db, autocommit=True) as other:
        other.execute(LOCK)
        assert refresh(conn, grace_s=0) == {}  # busy elsewhere: this turn is skipped
        assert rows(conn, "SELECT count(*) FROM rollup_pending") == [(1,)]
        finished = threading.Event()

        def final() -> None:
            with psycopg.connect(ingest_db, autocommit=True) as c:
                refresh(c, final=True)
            finished.set()

        waiter = threading.Thread(target=final)
        waiter.start()
        assert not finished.wait(1.0)  # the final run waits for the lock
        other.execute("SELECT pg_advisory_unlock_all()")
        waiter.join(30)
    assert finished.is_set()
    assert_rollups_whole(conn)
