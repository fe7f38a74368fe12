"""Migrations against a real PostgreSQL: empty database, re-run, guard, partitions."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg import sql

from commtwin import db
from schemas.migrations import latest_version, shipped


def tables(conn: psycopg.Connection[tuple[object, ...]]) -> set[str]:
    rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'").fetchall()
    return {str(r[0]) for r in rows}


def test_upgrade_creates_every_table_and_records_versions(empty_database_url: str) -> None:
    report = db.upgrade(empty_database_url, prefer="plain")
    assert report.mode == "plain"  # no TimescaleDB on these machines
    # Version numbers are allotted in ranges per area, so gaps are expected.
    shipped_versions = [m.version for m in shipped("plain")]
    assert shipped_versions[-1] == latest_version()
    assert [m.version for m in report.applied] == shipped_versions
    with psycopg.connect(empty_database_url) as conn:
        names = tables(conn)
        for expected in (
            "communities",
            "buildings",
            "storeys",
            "units",
            "grids",
            "devices",
            "metrics",
            "readings",
            "device_status",
            "positions",
            "alarms",
            "incidents",
            "incident_events",
            "dead_letters",
            "change_log",
            "api_keys",
            "accounts",
            "invites",
            "sessions",
            "readings_1m",
            "readings_1h",
            "schema_migrations",
        ):
            assert expected in names, expected
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == shipped_versions


def test_second_upgrade_is_a_no_op(empty_database_url: str) -> None:
    db.upgrade(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        before = conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
    again = db.upgrade(empty_database_url)
    assert again.applied == []
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT count(*) FROM schema_migrations").fetchone() == before


def test_refuses_a_database_at_a_newer_version(empty_database_url: str) -> None:
    db.upgrade(empty_database_url)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO schema_migrations (version, name, mode) VALUES (%s, 'future', 'plain')",
            (latest_version() + 1,),
        )
    with pytest.raises(db.SchemaTooNewError, match=f"schema version {latest_version() + 1}"):
        db.upgrade(empty_database_url)


def test_unreachable_database_is_one_line() -> None:
    with pytest.raises(db.DatabaseError, match="cannot connect") as info:
        db.upgrade("postgresql://postgres@127.0.0.1:1/nowhere")
    assert "\n" not in str(info.value)


def partition_names(conn: psycopg.Connection[tuple[object, ...]], parent: str) -> list[str]:
    rows = conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = %s::regclass ORDER BY 1",
        (parent,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def test_partitions_are_created_ahead(empty_database_url: str) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    today = datetime.now(UTC).date()
    with psycopg.connect(empty_database_url) as conn:
        names = partition_names(conn, "readings")
    for offset in range(-1, 8):
        day = today + timedelta(days=offset)
        assert f"readings_p{day:%Y%m%d}" in names
    assert "readings_default" in names


def test_late_partition_takes_rows_from_default_and_retention_drops_old(
    empty_database_url: str,
) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    now = datetime.now(UTC)
    old = now - timedelta(days=30)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        # A backfilled reading older than every partition lands in the default one.
        conn.execute(
            "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, 1, 1, 1.5)",
            (old,),
        )
        assert conn.execute("SELECT count(*) FROM readings_default").fetchone() == (1,)
        # Maintenance run "as of" that day creates its partition and moves the row.
        out = [r[0] for r in conn.execute("SELECT * FROM commtwin_maintain(0, %s)", (old,))]
        assert f"created readings_p{old:%Y%m%d}" in out
        assert conn.execute("SELECT count(*) FROM readings_default").fetchone() == (0,)
        part = sql.Identifier(f"readings_p{old:%Y%m%d}")
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(part)).fetchone() == (1,)
        # With 10 days of retention the 30-day-old partition goes.
        conn.execute("SELECT commtwin_set_retention(10)")
        out = [r[0] for r in conn.execute("SELECT * FROM commtwin_maintain()")]
        assert f"dropped readings_p{old:%Y%m%d}" in out
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)
        assert f"readings_p{now:%Y%m%d}" in partition_names(conn, "readings")


def test_retention_also_cleans_the_default_partition_and_rollups(
    empty_database_url: str,
) -> None:
    db.upgrade(empty_database_url, retention_days=5, prefer="plain")
    long_ago = datetime.now(UTC) - timedelta(days=50)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, 1, 1, 2)",
            (long_ago,),
        )
        conn.execute(
            "INSERT INTO readings_1m VALUES (%s, 1, 1, 1, 2, 2, 2, %s, 2)", (long_ago, long_ago)
        )
        out = [r[0] for r in conn.execute("SELECT * FROM commtwin_maintain()")]
        assert any("deleted 1 old rows from readings_default" in line for line in out)
        assert conn.execute("SELECT count(*) FROM readings_1m").fetchone() == (0,)


def test_duplicate_reading_is_rejected_by_key(database_url: str) -> None:
    ts = datetime.now(UTC)
    with psycopg.connect(database_url, autocommit=True) as conn:
        sql = (
            "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, 99, 1, 1) "
            "ON CONFLICT DO NOTHING"
        )
        assert conn.execute(sql, (ts,)).rowcount == 1
        assert conn.execute(sql, (ts,)).rowcount == 0


def test_change_log_notifies_listeners(database_url: str) -> None:
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        psycopg.connect(database_url, autocommit=True) as writer,
    ):
        listener.execute("LISTEN commtwin_changes")
        writer.execute("INSERT INTO communities (id, name, crs) VALUES ('n1', 'N', 'local')")
        writer.execute(
            "INSERT INTO change_log (community_id, kind, ref) VALUES ('n1', 'device', 'd1')"
        )
        note = next(listener.notifies(timeout=5))
        assert note.channel == "commtwin_changes"
        assert '"kinds": ["device"]' in note.payload


def test_change_log_announces_each_commit_once_after_all_its_rows(database_url: str) -> None:
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        psycopg.connect(database_url, autocommit=True) as writer,
    ):
        listener.execute("LISTEN commtwin_changes")
        writer.execute(
            "INSERT INTO communities (id, name, crs)"
            " VALUES ('n2', 'N', 'local'), ('n3', 'N', 'local')"
        )
        with writer.transaction():
            for ref in ("d1", "d2", "d3"):
                writer.execute(
                    "INSERT INTO change_log (community_id, kind, ref) VALUES ('n2', 'device', %s)",
                    (ref,),
                )
            writer.execute(
                "INSERT INTO change_log (community_id, kind, ref) VALUES ('n2', 'alarm', '7'),"
                " ('n3', 'incident', 'r-1')"
            )
            (tx,) = writer.execute("SELECT pg_current_xact_id()::text").fetchone() or ("",)
        notes = [json.loads(n.payload) for n in listener.notifies(timeout=1)]
        rows = writer.execute(
            "SELECT community_id, count(*), max(seq) FROM change_log WHERE tx = %s::xid8"
            " GROUP BY community_id ORDER BY community_id",
            (tx,),
        ).fetchall()
    assert [(n["community"], n["rows"], n["seq"], n["tx"]) for n in notes] == [
        (c, n, s, tx) for c, n, s in rows
    ]
    assert sorted(notes[0]["kinds"]) == ["alarm", "device"]
