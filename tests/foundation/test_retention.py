"""Retention per metric class and partitioned rollups (migration 0089, plain mode)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from commtwin import db
from schemas.migrations import shipped
from tests.foundation.test_cli import run
from tests.foundation.test_migrations import partition_names

Conn = psycopg.Connection[tuple[object, ...]]
ROLLUP_ROW = "INSERT INTO {} VALUES (%s, %s, 1, 1, 2, 2, 2, %s, 2)"


def count(conn: Conn, query: str) -> int:
    row = conn.execute(query.encode()).fetchone()
    assert row is not None
    return int(str(row[0]))


def classes(url: str) -> dict[str, int | None]:
    return {c.name: c.keep_days for c in db.retention(url)}


def add_rollup(conn: Conn, table: str, bucket: datetime, device: int = 1) -> None:
    conn.execute(ROLLUP_ROW.format(table).encode(), (bucket, device, bucket))


def test_classes_start_from_the_one_retention_setting_and_rollups_are_partitioned(
    empty_database_url: str,
) -> None:
    db.upgrade(empty_database_url, retention_days=30, prefer="plain")
    assert classes(empty_database_url) == {
        "raw": 30, "rollup_1h": 30, "rollup_1m": 30, "incidents": None,
    }  # fmt: skip
    now = datetime.now(UTC)
    with psycopg.connect(empty_database_url) as conn:
        kinds = dict(
            conn.execute(
                "SELECT relname, relkind::text FROM pg_class"
                " WHERE relname IN ('readings_1m', 'readings_1h')"
            ).fetchall()
        )
        assert kinds == {"readings_1m": "p", "readings_1h": "p"}
        minutes = partition_names(conn, "readings_1m")
        hours = partition_names(conn, "readings_1h")
        fill = conn.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", (f"readings_1m_p{now:%Y%m%d}",)
        ).fetchone()
    assert {f"readings_1m_p{now:%Y%m%d}", "readings_1m_default"} <= set(minutes)
    assert {f"readings_1h_p{now:%Y%m}", "readings_1h_default"} <= set(hours)
    assert "readings_1m_legacy" not in minutes  # the table was empty: replaced
    assert fill == (["fillfactor=70"],)  # 0010's setting carried over


def test_each_class_drops_its_own_partitions(empty_database_url: str) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    now = datetime.now(UTC)
    old = now - timedelta(days=40)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("SELECT * FROM commtwin_maintain(0, %s)", (old,)).fetchall()
        conn.execute(
            "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, 1, 1, 1)", (old,)
        )
        add_rollup(conn, "readings_1m", old.replace(second=0, microsecond=0))
        add_rollup(conn, "readings_1h", old.replace(minute=0, second=0, microsecond=0))
        assert f"readings_1m_p{old:%Y%m%d}" in partition_names(conn, "readings_1m")
        assert count(conn, "SELECT count(*) FROM readings_1m_default") == 0
    lines = db.set_retention(empty_database_url, {"raw": 10, "rollup_1m": None, "rollup_1h": 20})
    assert f"dropped readings_p{old:%Y%m%d}" in lines
    month_end = (old.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
                 + timedelta(days=32)).replace(day=1)  # fmt: skip
    # A month partition goes once all of it is older than the 20 days.
    assert (f"dropped readings_1h_p{old:%Y%m}" in lines) == (month_end <= now - timedelta(20))
    assert not any("readings_1m" in line for line in lines if line.startswith("dropped"))
    with psycopg.connect(empty_database_url) as conn:
        assert count(conn, "SELECT count(*) FROM readings") == 0
        assert count(conn, "SELECT count(*) FROM readings_1m") == 1  # kept for good
    assert classes(empty_database_url)["rollup_1m"] is None


def test_the_old_single_setting_still_sets_every_time_series_class(
    empty_database_url: str,
) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    db.set_retention(empty_database_url, {"rollup_1h": None})
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute("SELECT commtwin_set_retention(12)")
        setting = "SELECT value FROM storage_config WHERE key = 'retention_days'"
        assert conn.execute(setting).fetchone() == ("12",)
    assert classes(empty_database_url) == {
        "raw": 12, "rollup_1h": 12, "rollup_1m": 12, "incidents": None,
    }  # fmt: skip
    # An upgrade without a retention setting leaves the classes alone.
    db.set_retention(empty_database_url, {"rollup_1h": None})
    db.upgrade(empty_database_url)
    assert classes(empty_database_url)["rollup_1h"] is None


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"incidents": 30}, "the incidents class is kept for good"),
        ({"readings": 30}, "unknown metric class 'readings': expected one of raw, rollup_1h"),
        ({"raw": 0}, "retention of raw: 0 days is out of range"),
    ],
)
def test_bad_retention_is_one_clear_error_and_changes_nothing(
    database_url: str, changes: dict[str, int | None], message: str
) -> None:
    before = classes(database_url)
    with pytest.raises(db.DatabaseError, match=message) as info:
        db.set_retention(database_url, {"rollup_1m": 5, **changes})
    assert "\n" not in str(info.value)
    assert classes(database_url) == before  # one transaction: rollup_1m unchanged


def test_existing_rollups_become_the_legacy_partition_without_a_copy(
    empty_database_url: str,
) -> None:
    """A database migrated before 0089 with rollups in it: the table is attached
    as one partition, reads see every row, new days get partitions after it,
    and retention deletes from it, then drops it once it is wholly old."""
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(db.BOOKKEEPING)
        for migration in shipped("plain"):
            if migration.version < 89:
                db._apply(conn, migration, "plain")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        for days in (0, 3, 60):
            add_rollup(conn, "readings_1m", now - timedelta(days=days))
            add_rollup(conn, "readings_1h", now.replace(minute=0) - timedelta(days=days))
        oid = count(conn, "SELECT 'readings_1m'::regclass::oid")
    db.upgrade(empty_database_url, prefer="plain")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        assert count(conn, "SELECT oid FROM pg_class WHERE relname = 'readings_1m_legacy'") == oid
        assert count(conn, "SELECT count(*) FROM readings_1m") == 3
        assert count(conn, "SELECT count(*) FROM readings_1h") == 3
        minutes = partition_names(conn, "readings_1m")
        assert f"readings_1m_p{now + timedelta(days=1):%Y%m%d}" in minutes
        assert f"readings_1m_p{now:%Y%m%d}" not in minutes  # today is in the legacy one
        # Today's writer upserts land in the legacy partition, as before.
        conn.execute(
            (ROLLUP_ROW.format("readings_1m") + " ON CONFLICT (device_key, metric_key, bucket)"
             " DO UPDATE SET n = readings_1m.n + 1").encode(),
            (now, 1, now),
        )  # fmt: skip
        n = conn.execute(
            "SELECT n FROM readings_1m_legacy WHERE device_key = 1 AND bucket = %s", (now,)
        ).fetchone()
        assert n == (2,)
    lines = db.set_retention(empty_database_url, {"rollup_1m": 30})
    assert "deleted 1 old rows from readings_1m_legacy" in lines
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        later = now + timedelta(days=45)
        out = [str(r[0]) for r in conn.execute("SELECT * FROM commtwin_maintain(0, %s)", (later,))]
        assert "dropped readings_1m_legacy" in out
        assert count(conn, "SELECT count(*) FROM readings_1m") == 0
        assert (
            conn.execute(
                "SELECT 1 FROM storage_config WHERE key = 'legacy_until:readings_1m'"
            ).fetchone()
            is None
        )
        assert count(conn, "SELECT count(*) FROM readings_1h") == 3  # its own class


def test_cli_shows_and_sets_retention_in_one_line_errors(empty_database_url: str) -> None:
    env = {"COMMTWIN_DATABASE_URL": empty_database_url}
    assert run("db", "upgrade", "--storage", "plain", env=env).returncode == 0
    out = run("db", "retention", "raw=90", "rollup_1h=forever", env=env)
    assert out.returncode == 0, out.stderr
    assert "raw        90 days" in out.stdout
    assert "rollup_1h  kept for good" in out.stdout
    assert "incidents  kept for good  incident_events" in out.stdout
    for args, message in (
        (("raw=ninety",), "days must be a whole number from 1 to 36500, or forever"),
        (("raw",), "expected CLASS=DAYS or CLASS=forever"),
        (("incidents=5",), "the incidents class is kept for good"),
    ):
        bad = run("db", "retention", *args, env=env)
        assert bad.returncode == 2
        assert message in bad.stderr
        assert bad.stderr.count("\n") == 1, bad.stderr
    info = run("db", "info", env=env)
    assert "retention:           raw: 90 days (readings, device_status, positions)" in info.stdout
