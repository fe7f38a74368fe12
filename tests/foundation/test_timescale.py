"""The TimescaleDB storage path. Runs wherever the server offers the extension;
these machines have plain PostgreSQL 15 only, so here it is skipped with that
reason (the plain path's equivalents run in test_migrations.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from commtwin import db
from schemas.rollup_window import SPLIT, split_of, window_params
from tests.services import scratch_database

pytestmark = pytest.mark.timescale


@pytest.fixture
def timescale_url() -> Iterator[str]:
    with scratch_database("commtwin_ts") as url:
        with psycopg.connect(url) as conn:
            if not db.timescale_available(conn):
                pytest.skip("the timescaledb extension is not offered by this server")
        yield url


def test_upgrade_chooses_timescale_and_creates_its_objects(timescale_url: str) -> None:
    report = db.upgrade(timescale_url)
    assert report.mode == "timescale"
    info = db.info(timescale_url)
    assert {"readings", "device_status", "positions", "incident_events"} <= set(info.hypertables)
    assert {"readings_1m", "readings_1h"} <= set(info.continuous_aggregates)
    with psycopg.connect(timescale_url) as conn:
        jobs = {
            str(r[0])
            for r in conn.execute(
                "SELECT proc_name FROM timescaledb_information.jobs WHERE hypertable_name IN "
                "('readings', 'device_status', 'positions', 'readings_1m', 'readings_1h')"
            )
        }
    assert {"policy_compression", "policy_retention", "policy_refresh_continuous_aggregate"} <= jobs
    assert db.upgrade(timescale_url).applied == []


def test_real_time_aggregates_match_the_plain_rollup_columns(timescale_url: str) -> None:
    db.upgrade(timescale_url)
    ts = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=5)
    with psycopg.connect(timescale_url, autocommit=True) as conn:
        for i, value in enumerate((1.0, 5.0, 3.0)):
            conn.execute(
                "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, 1, 1, %s)",
                (ts + timedelta(seconds=10 * i), value),
            )
        row = conn.execute(
            "SELECT n, v_sum, v_min, v_max, last_value FROM readings_1m "
            "WHERE device_key = 1 AND metric_key = 1 AND bucket = %s",
            (ts,),
        ).fetchone()
        # The readers' calls (0093, 0094): the aggregates split themselves.
        split = conn.execute(SPLIT, {"source": "readings_1m"}).fetchone()
        params = window_params("readings_1m", ts, ts + timedelta(minutes=1), split_of(split))
        windowed = conn.execute(
            "SELECT n, v_sum, v_min, v_max, last_value FROM readings_1m_window("
            "%(ts_from)s, %(ts_to)s, %(rolled_to)s, %(pending_from)s) WHERE device_key = 1",
            params,
        ).fetchall()
    assert row == (3, 9.0, 1.0, 5.0, 3.0)
    assert split == (None, None)
    assert windowed == [row]


def test_retention_setting_replaces_the_policy(timescale_url: str) -> None:
    db.upgrade(timescale_url, retention_days=30)
    with psycopg.connect(timescale_url) as conn:
        row = conn.execute(
            "SELECT config->>'drop_after' FROM timescaledb_information.jobs "
            "WHERE proc_name = 'policy_retention' AND hypertable_name = 'readings'"
        ).fetchone()
    assert row is not None
    assert "30 days" in str(row[0])


def jobs(url: str, proc: str) -> dict[str, str | None]:
    """hypertable or continuous aggregate → the job's config (drop_after / compress_after)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT hypertable_name, coalesce(config->>'drop_after', config->>'compress_after')"
            " FROM timescaledb_information.jobs j WHERE proc_name = %s"
            " UNION ALL SELECT c.view_name, coalesce(j.config->>'drop_after',"
            " j.config->>'compress_after') FROM timescaledb_information.jobs j"
            " JOIN timescaledb_information.continuous_aggregates c"
            " ON c.materialization_hypertable_name = j.hypertable_name WHERE j.proc_name = %s",
            (proc, proc),
        ).fetchall()
    return {str(name): None if value is None else str(value) for name, value in rows}


def test_every_class_has_its_policies(timescale_url: str) -> None:
    db.upgrade(timescale_url, retention_days=30)
    retention = jobs(timescale_url, "policy_retention")
    for name in ("readings", "device_status", "positions", "readings_1m", "readings_1h"):
        assert "30 days" in str(retention.get(name)), (name, retention)
    assert "incident_events" not in retention  # kept for good
    compression = jobs(timescale_url, "policy_compression")
    assert {"readings", "device_status", "positions", "readings_1m", "readings_1h"} <= set(
        compression
    )
    with psycopg.connect(timescale_url) as conn:
        settings = conn.execute(
            "SELECT segmentby, orderby FROM timescaledb_information.hypertable_compression_settings"
            " WHERE hypertable = 'readings'::regclass"
        ).fetchone()
    assert settings is not None
    assert str(settings[0]).replace(" ", "") == "device_key,metric_key"
    assert "ts DESC" in str(settings[1])


def test_class_retention_replaces_or_removes_the_policies(timescale_url: str) -> None:
    db.upgrade(timescale_url)
    db.set_retention(timescale_url, {"raw": 90, "rollup_1m": 400, "rollup_1h": None})
    retention = jobs(timescale_url, "policy_retention")
    assert "90 days" in str(retention["readings"])
    assert "400 days" in str(retention["readings_1m"])
    assert "readings_1h" not in retention
    # Raw data dropped inside the aggregates' refresh window would empty their buckets.
    with pytest.raises(db.DatabaseError, match="3-day refresh window"):
        db.set_retention(timescale_url, {"raw": 3})
    assert "90 days" in str(jobs(timescale_url, "policy_retention")["readings"])


def test_the_raw_partition_width_sets_the_chunk_interval(timescale_url: str) -> None:
    db.upgrade(timescale_url)
    with pytest.raises(db.DatabaseError, match="make 9600 partitions per table"):
        db.set_raw_partition_minutes(timescale_url, 60)  # raw kept 400 days
    db.set_retention(timescale_url, {"raw": 30})
    lines = db.set_raw_partition_minutes(timescale_url, 60)
    assert "readings: new chunks of 1 hour" in lines
    with psycopg.connect(timescale_url) as conn:
        intervals = dict(
            conn.execute(
                "SELECT hypertable_name, time_interval FROM timescaledb_information.dimensions"
                " WHERE hypertable_name IN ('readings', 'device_status', 'positions')"
            ).fetchall()
        )
    raw = ("readings", "device_status", "positions")
    assert intervals == dict.fromkeys(raw, timedelta(hours=1))
    assert db.raw_partition_minutes(timescale_url) == 60
    db.set_retention(timescale_url, {"raw": 7})
    assert "positions: new chunks of 10 minutes" in db.set_raw_partition_minutes(timescale_url, 10)
