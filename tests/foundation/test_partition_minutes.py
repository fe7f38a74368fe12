"""Raw partitions narrower than an hour (migrations 0095-0096, plain mode)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import psycopg

from commtwin import db
from schemas.migrations import shipped
from tests.foundation.test_partition_width import INSERT, count, ranges


def test_ten_minute_partitions_cover_four_hours_ahead_and_hold_their_rows(
    empty_database_url: str,
) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    db.set_retention(empty_database_url, {"raw": 7})
    lines = db.set_raw_partition_minutes(empty_database_url, 10)
    assert any(line.startswith("created device_status_p") for line in lines)
    now = datetime.now(UTC)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        for parent in ("readings", "device_status", "positions"):
            parts = ranges(conn, parent)
            assert all(a[2] == b[1] for a, b in itertools.pairwise(parts)), parts
            ahead = [(lo, hi) for _, lo, hi in parts if lo > now]
            assert {hi - lo for lo, hi in ahead} == {timedelta(minutes=10)}
            # 24 partitions ahead: 4 hours, and not more (0092's probes).
            assert now + timedelta(hours=3, minutes=50) <= ahead[-1][1]
            assert ahead[-1][1] <= now + timedelta(hours=4, minutes=10)
        # A row lands in its own 10 minutes, named by its start to the minute.
        ts = now.replace(second=0, microsecond=0) + timedelta(minutes=25)
        conn.execute(INSERT, (ts, 1))
        start = ts.replace(minute=ts.minute // 10 * 10)
        home = conn.execute("SELECT tableoid::regclass::text FROM readings").fetchone()
        assert home == (f"readings_p{start:%Y%m%d%H%M}",)
        # Beyond the partitions ahead a row waits in the default partition;
        # the maintenance that reaches its time moves it into its 10 minutes.
        later = now + timedelta(hours=9)
        conn.execute(INSERT, (later, 2))
        assert count(conn, "SELECT count(*) FROM readings_default") == 1
        conn.execute("SELECT * FROM commtwin_maintain(0, %s)", (later,)).fetchall()
        assert count(conn, "SELECT count(*) FROM readings_default") == 0
        moved = conn.execute(
            "SELECT tableoid::regclass::text FROM readings WHERE device_key = 2"
        ).fetchone()
        assert moved == (f"readings_p{later.replace(minute=later.minute // 10 * 10):%Y%m%d%H%M}",)
        assert count(conn, "SELECT count(*) FROM readings") == 2
    assert db.raw_partition_minutes(empty_database_url) == 10


def test_from_ten_minutes_to_hours_and_back_leaves_no_gap_and_no_clash(
    empty_database_url: str,
) -> None:
    """Slots partly covered by partitions of the other width get pieces; every
    row stays, and the pieces' names (by their start) never meet an old one."""
    db.upgrade(empty_database_url, prefer="plain")
    db.set_retention(empty_database_url, {"raw": 7})
    db.set_raw_partition_minutes(empty_database_url, 10)
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        # Rows at :20 and :40 of the next hour keep those 10-minute partitions.
        marks = [hour + timedelta(hours=1, minutes=m) for m in (20, 40)]
        for i, ts in enumerate(marks):
            conn.execute(INSERT, (ts, i))
        db.set_raw_partition_minutes(empty_database_url, 120)
        parts = ranges(conn)
        assert all(a[2] == b[1] for a, b in itertools.pairwise(parts)), parts
        around = {name: hi - lo for name, lo, hi in parts if hour < lo < hour + timedelta(hours=3)}
        # The kept 10 minutes, and the pieces of the 2-hour slot beside them.
        assert around[f"readings_p{marks[0]:%Y%m%d%H%M}"] == timedelta(minutes=10)
        assert around[f"readings_p{marks[0] + timedelta(minutes=10):%Y%m%d%H%M}"] == timedelta(
            minutes=10
        )
        assert timedelta(hours=2) in {hi - lo for _, lo, hi in parts if lo > marks[1]}
        # And back to 10 minutes: the empty pieces ahead are remade at 10 minutes.
        db.set_raw_partition_minutes(empty_database_url, 10)
        parts = ranges(conn)
        assert all(a[2] == b[1] for a, b in itertools.pairwise(parts)), parts
        assert {hi - lo for _, lo, hi in parts if lo > marks[1]} == {timedelta(minutes=10)}
        assert count(conn, "SELECT count(*) FROM readings") == 2
        assert count(conn, "SELECT count(*) FROM readings_default") == 0


def test_an_hourly_database_upgrades_to_minutes_and_keeps_its_width(
    empty_database_url: str,
) -> None:
    """0095 moves 0091's setting from hours to minutes: nothing else changes."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(db.BOOKKEEPING)
        for migration in shipped("plain"):
            if migration.version < 95:
                db._apply(conn, migration, "plain")
    db.set_retention(empty_database_url, {"raw": 30})
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM commtwin_set_raw_partition_hours(2)").fetchall()
        before = ranges(conn)
    db.upgrade(empty_database_url, prefer="plain")
    assert db.raw_partition_minutes(empty_database_url) == 120
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        assert ranges(conn) == before  # the partitions ahead were already 2-hourly
        assert (
            count(conn, "SELECT count(*) FROM storage_config WHERE key LIKE 'raw_partition%'") == 1
        )
