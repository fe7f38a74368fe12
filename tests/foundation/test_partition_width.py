"""Raw partitions of a settable width (migrations 0092 and 0095-0096, plain mode)."""

from __future__ import annotations

import itertools
import re
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from api.queries.devices import _LATEST, lookback
from commtwin import db
from ingest.alarm_engine import _LAST
from schemas.rollup_window import SPLIT, UNREAD, newest_bounds, split_of, window_params
from tests.foundation.test_cli import run

Conn = psycopg.Connection[tuple[object, ...]]
Params = Sequence[object] | dict[str, object]
WEEK = "SELECT * FROM readings_1h_window(%(ts_from)s, %(ts_to)s, %(rolled_to)s, %(pending_from)s)"
INSERT = "INSERT INTO readings (ts, device_key, metric_key, value) VALUES (%s, %s, 1, 1)"


def ranges(conn: Conn, parent: str = "readings") -> list[tuple[str, datetime, datetime]]:
    rows = conn.execute(
        "SELECT part::text, lo, hi FROM commtwin_partitions(%s::regclass) ORDER BY lo", (parent,)
    ).fetchall()
    return [(str(name), lo, hi) for name, lo, hi in rows]  # type: ignore[misc]


def count(conn: Conn, query: str) -> int:
    row = conn.execute(query.encode()).fetchone()
    assert row is not None
    return int(str(row[0]))


def hourly(url: str, keep_days: int = 30) -> list[str]:
    db.upgrade(url, prefer="plain")
    db.set_retention(url, {"raw": keep_days})
    return db.set_raw_partition_minutes(url, 60)


def test_hourly_partitions_cover_the_window_without_gaps_and_keep_rows(
    empty_database_url: str,
) -> None:
    now = datetime.now(UTC)
    ahead = now + timedelta(days=3)
    db.upgrade(empty_database_url, prefer="plain")
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(INSERT, (ahead, 1))  # keeps its day partition: it holds a row
    lines = hourly(empty_database_url)
    assert any(line.startswith("dropped readings_p") for line in lines)
    assert any(line.startswith("created readings_p") and len(line) == 28 for line in lines)
    day_of_ahead = ahead.replace(hour=0, minute=0, second=0, microsecond=0)
    with psycopg.connect(empty_database_url) as conn:
        for parent in ("readings", "device_status", "positions"):
            parts = ranges(conn, parent)
            near = [p for p in parts if p[1] < now + timedelta(hours=24)]
            # Contiguous from yesterday to 24 partitions ahead: nothing falls to the default.
            assert all(a[2] == b[1] for a, b in itertools.pairwise(near)), near
            assert near[0][1] <= now - timedelta(days=1)
            assert near[-1][2] >= now + timedelta(hours=24)
            assert {hi - lo for _, lo, hi in near if lo > now} == {timedelta(hours=1)}
            # Not a week of hourly ones ahead: every "newest since" query would open them.
            far = [(name, lo) for name, lo, _ in parts if lo >= now + timedelta(hours=24)]
            expected = [(f"readings_p{ahead:%Y%m%d}", day_of_ahead)] if parent == "readings" else []
            assert far == expected
        # The partition holding the present was empty: it is hourly at once.
        current = [p for p in ranges(conn) if p[1] <= now < p[2]]
        assert current[0][2] - current[0][1] == timedelta(hours=1)
        assert count(conn, "SELECT count(*) FROM readings") == 1
    assert db.raw_partition_minutes(empty_database_url) == 60
    # A second maintenance finds nothing to do.
    assert [line for line in db.maintain(empty_database_url) if "created" in line] == []


def test_a_width_change_fills_partly_covered_slots(empty_database_url: str) -> None:
    hourly(empty_database_url)
    now = datetime.now(UTC)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        # Rows in the next two hours keep those hourly partitions under any width.
        soon = now.replace(minute=30, second=0, microsecond=0) + timedelta(hours=1)
        conn.execute(INSERT, (soon, 1))
        conn.execute(INSERT, (soon + timedelta(hours=1), 1))
        db.set_raw_partition_minutes(empty_database_url, 8 * 60)
        parts = ranges(conn)
        assert all(a[2] == b[1] for a, b in itertools.pairwise(parts)), parts
        after = [hi - lo for _, lo, hi in parts if lo > soon + timedelta(hours=2)]
        assert after[-1] == timedelta(hours=8)
        assert set(after) <= {timedelta(hours=h) for h in range(1, 9)}
        assert count(conn, "SELECT count(*) FROM readings") == 2
        assert count(conn, "SELECT count(*) FROM readings_default") == 0


def test_rows_waiting_in_the_default_partition_move_to_their_hour(
    empty_database_url: str,
) -> None:
    hourly(empty_database_url)
    later = datetime.now(UTC) + timedelta(days=20)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        conn.execute(INSERT, (later, 1))
        assert count(conn, "SELECT count(*) FROM readings_default") == 1
        conn.execute("SELECT * FROM commtwin_maintain(1, %s)", (later,)).fetchall()
        assert count(conn, "SELECT count(*) FROM readings_default") == 0
        home = conn.execute(
            "SELECT tableoid::regclass::text FROM readings WHERE ts = %s", (later,)
        ).fetchone()
    assert home == (f"readings_p{later:%Y%m%d%H}",)


@pytest.mark.parametrize(
    ("minutes", "keep_days", "step", "ahead"),
    [
        (60, 2, timedelta(hours=6), timedelta(days=2, hours=25)),
        (10, 1, timedelta(minutes=20), timedelta(days=1, hours=2)),  # 0095-0096
    ],
)
def test_retention_drops_narrow_partitions_by_their_end(
    empty_database_url: str, minutes: int, keep_days: int, step: timedelta, ahead: timedelta
) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    db.set_retention(empty_database_url, {"raw": keep_days})
    db.set_raw_partition_minutes(empty_database_url, minutes)
    now = datetime.now(UTC)
    with psycopg.connect(empty_database_url, autocommit=True) as conn:
        for i in range(8):
            conn.execute(INSERT, (now + i * step, i))
        later = now + ahead
        lines = [
            str(r[0]) for r in conn.execute("SELECT * FROM commtwin_maintain(0, %s)", (later,))
        ]
        cutoff = later - timedelta(days=keep_days)
        assert any(line.startswith("dropped readings_p") for line in lines)
        assert all(hi > cutoff for _, _, hi in ranges(conn))
        # Whole partitions only: a row is kept up to a width past its retention, never less.
        kept = {int(str(r[0])) for r in conn.execute("SELECT device_key FROM readings")}
    for i in range(8):
        ts = now + i * step
        if ts >= cutoff:
            assert i in kept
        elif ts < cutoff - timedelta(minutes=minutes):
            assert i not in kept
    assert 0 < len(kept) < 8


def test_a_row_being_written_into_an_empty_partition_survives_the_width_change(
    empty_database_url: str,
) -> None:
    """The partition looks empty to the setter until the writer commits: it must wait."""
    hourly(empty_database_url)
    ts = datetime.now(UTC)  # the present hour's partition: the first the setter looks at
    result: list[object] = []
    with (
        psycopg.connect(empty_database_url) as writer,
        psycopg.connect(empty_database_url) as watch,
    ):
        writer.execute(INSERT, (ts, 7))  # open transaction: the row is not committed yet
        setter = threading.Thread(
            target=lambda: result.append(db.set_raw_partition_minutes(empty_database_url, 6 * 60))
        )
        setter.start()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            waiting = watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%commtwin_set_raw_partition_minutes%'"
            ).fetchone()
            watch.commit()
            if waiting == (1,):
                break
            time.sleep(0.05)
        else:
            pytest.fail("the width change did not wait for the writer")
        writer.commit()
        setter.join(timeout=30)
    assert result, "the width change did not finish"
    with psycopg.connect(empty_database_url) as conn:
        home = conn.execute("SELECT tableoid::regclass::text FROM readings").fetchall()
    assert home == [(f"readings_p{ts:%Y%m%d%H}",)]


@pytest.mark.parametrize(
    ("keep_days", "minutes", "message"),
    [
        (30, 5 * 60, "raw partitions of 5 hours: the width must be 10, 15, 20 or 30 minutes or 1,"),
        (30, 0, "raw partitions of 0 minutes: the width must be"),
        (30, 5, "raw partitions of 5 minutes: the width must be"),
        (30, 45, "raw partitions of 45 minutes: the width must be"),
        (30, 90, "raw partitions of 90 minutes: the width must be"),
        (None, 60, "of 1 hour with raw readings kept for good would grow without bound"),
        (400, 60, "make 9600 partitions per table, more than 2000"),
        (14, 10, "of 10 minutes over 14 days of raw retention make 2016 partitions"),
    ],
)
def test_a_width_that_would_hurt_is_one_clear_error_and_changes_nothing(
    empty_database_url: str, keep_days: int | None, minutes: int, message: str
) -> None:
    db.upgrade(empty_database_url, prefer="plain")
    db.set_retention(empty_database_url, {"raw": keep_days})
    with psycopg.connect(empty_database_url) as conn:
        before = ranges(conn)
    with pytest.raises(db.DatabaseError, match=message):
        db.set_raw_partition_minutes(empty_database_url, minutes)
    assert db.raw_partition_minutes(empty_database_url) == 24 * 60
    with psycopg.connect(empty_database_url) as conn:
        assert ranges(conn) == before


def test_raw_retention_is_checked_against_the_width(empty_database_url: str) -> None:
    hourly(empty_database_url)
    with pytest.raises(db.DatabaseError, match=r"retention of raw: .* more than 2000"):
        db.set_retention(empty_database_url, {"raw": 200})
    with pytest.raises(db.DatabaseError, match="kept for good would grow without bound"):
        db.set_retention(empty_database_url, {"raw": None})
    db.set_retention(empty_database_url, {"raw": 80})  # 1,920 partitions
    assert {c.name: c.keep_days for c in db.retention(empty_database_url)}["raw"] == 80


def test_cli_shows_and_sets_the_width(empty_database_url: str) -> None:
    env = {"COMMTWIN_DATABASE_URL": empty_database_url}
    assert run("db", "upgrade", "--storage", "plain", env=env).returncode == 0
    shown = run("db", "partitions", env=env)
    assert shown.stdout.strip() == "raw partitions: 24 hours (readings, device_status, positions)"
    for args, message in (
        (("5",), "the width must be 10, 15, 20 or 30 minutes or 1, 2, 3, 4, 6, 8, 12 or 24 hours"),
        (("1",), "over 400 days of raw retention make 9600 partitions"),
        (("10m",), "of 10 minutes over 400 days of raw retention make 57600 partitions"),
        (("hourly",), "expected a width such as 10m, 30m, 1h or 24h, got 'hourly'"),
    ):
        bad = run("db", "partitions", *args, env=env)
        assert bad.returncode == 2
        assert message in bad.stderr, bad.stderr
    assert run("db", "retention", "raw=30", env=env).returncode == 0
    out = run("db", "partitions", "6", env=env)
    assert out.returncode == 0, out.stderr
    assert "created readings_p" in out.stdout
    assert (
        out.stdout.splitlines()[-1]
        == "raw partitions: 6 hours (readings, device_status, positions)"
    )
    assert "raw partition width: 6 hours" in run("db", "info", env=env).stdout
    out = run("db", "partitions", "30m", env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[-1].startswith("raw partitions: 30 minutes (")
    # 1,440 partitions over 30 days: a read across them all locks 4,320
    # relations, which a default server's lock table (64 x 100) holds but not twice.
    with psycopg.connect(empty_database_url) as conn:
        slots = count(conn, "SELECT current_setting('max_locks_per_transaction')::int"
                            " * (current_setting('max_connections')::int"
                            " + current_setting('max_prepared_transactions')::int)")  # fmt: skip
    warned = "warning: a read across all 1440 raw partitions of 30 days" in out.stdout
    assert warned == (slots < 2 * 4320), out.stdout


def a_week_of_hourly_partitions(conn: Conn, hour: datetime) -> None:
    """What a database that has run for a while holds. Yesterday's day
    partition, made before the width was set, goes (it is empty), or a window
    in the hours after midnight would meet it."""
    for name, p_lo, p_hi in ranges(conn):
        if p_hi - p_lo == timedelta(days=1) and p_lo < hour:
            conn.execute(f"DROP TABLE {name}".encode())
    conn.execute(
        "SELECT count(*) FROM commtwin_ensure_raw_partitions('readings', %s, %s)",
        (hour - timedelta(days=8), hour),
    )


def test_reads_plan_only_the_partitions_of_their_window(empty_database_url: str) -> None:
    """Hourly partitions are many: the reads must not plan them all (0093, alarm probe)."""
    hourly(empty_database_url)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    lo, hi = hour - timedelta(hours=2), hour
    with psycopg.connect(empty_database_url) as conn:
        a_week_of_hourly_partitions(conn, hour)

        def planned(query: str, params: Params) -> tuple[set[str], str]:
            plan = "\n".join(str(r[0]) for r in conn.execute(b"EXPLAIN " + query.encode(), params))
            return set(re.findall(r"readings_p\d+", plan)), plan

        in_window, _ = planned("SELECT * FROM readings_1h_window(%s, %s)", (lo, hi))
        assert in_window == {f"readings_p{t:%Y%m%d%H}" for t in (lo, lo + timedelta(hours=1))}
        # A week's window: with the split read first (0094) only the hours above
        # the mark and those still pending below it; without, all 168 of them.
        conn.execute("UPDATE rollup_state SET minutes_to = %s, hours_to = %s", (hour, hour))
        conn.execute(
            "INSERT INTO rollup_pending (level, bucket, lo_key, hi_key) VALUES ('m', %s, 1, 9)",
            (hour - timedelta(hours=3) + timedelta(minutes=7),),
        )
        split = split_of(conn.execute(SPLIT, {"source": "readings_1h"}).fetchone())
        assert split == (hour, hour - timedelta(hours=3))
        week = window_params("readings_1h", hour - timedelta(days=7), hour + timedelta(hours=1),
                             split)  # fmt: skip
        with_split, plan = planned(WEEK, week)
        assert with_split == {
            n for n, p_lo, p_hi in ranges(conn) if p_hi > split.pending_from and p_lo <= hour
        }
        assert len(with_split) == 4
        assert "Anti Join" in plan  # rollup rows of the pending hours are left out
        # Nothing pending below the mark (the usual case): no anti-join at all.
        conn.execute("DELETE FROM rollup_pending")
        quiet = split_of(conn.execute(SPLIT, {"source": "readings_1h"}).fetchone())
        assert quiet == (hour, hour)
        _, plan = planned(WEEK, {**week, **quiet._asdict()})
        assert "Anti Join" not in plan
        unread = {**week, "rolled_to": None, "pending_from": None}
        without, _ = planned(WEEK, unread)
        assert without == {
            n for n, p_lo, p_hi in ranges(conn) if p_hi > week["ts_from"] and p_lo < week["ts_to"]
        }
        assert len(without) > 100
        through_view, _ = planned(
            "SELECT * FROM readings_1h_live WHERE bucket >= %s AND bucket < %s", (lo, hi)
        )
        assert len(through_view) > 40  # every partition: why the functions exist
        # The alarm engine's start-up probe (a day back, an hour ahead): raw
        # partitions only from the hourly rollup's split on; without a split
        # (TimescaleDB's shape) every one of the day's, newest first, and
        # never the default partition (which would force a Merge Append).
        since, until = hour - timedelta(days=1), hour + timedelta(hours=1)
        pairs = {"keys": [1, 2], "metrics": [1, 1]}
        probed, plan = planned(_LAST, {**pairs, **newest_bounds(since, until, quiet)})
        assert probed == {n for n, p_lo, p_hi in ranges(conn) if p_hi > hour and p_lo < until}
        assert len(probed) == 1
        assert "readings_default" not in plan
        probed, plan = planned(_LAST, {**pairs, **newest_bounds(since, until, UNREAD)})
        assert probed == {n for n, p_lo, p_hi in ranges(conn) if p_hi > since and p_lo < until}
        assert "Merge Append" not in plan
        assert "readings_default" not in plan
        # The devices page's probe (a week back, an hour ahead): raw partitions
        # only from the hourly rollup's split on, the rollup table below it.
        week = lookback(hour, 7)
        params = {
            "c": "c",
            "building": None,
            "device": None,
            **newest_bounds(week.start, week.end, quiet),
        }
        probed, plan = planned(_LATEST, params)
        assert probed == {n for n, p_lo, p_hi in ranges(conn) if p_hi > hour and p_lo < week.end}
        assert len(probed) == 1
        merges = re.findall(r"Merge Append.*\n\s*Sort Key: (\S+)", plan)
        assert merges == ["readings_1h.bucket"] * plan.count("Merge Append")  # the rollup's only
        assert "readings_default" not in plan
        assert "readings_1h_p" in plan


def test_a_retention_setting_the_width_refuses_is_one_line_at_upgrade(
    empty_database_url: str,
) -> None:
    hourly(empty_database_url)
    env = {"COMMTWIN_DATABASE_URL": empty_database_url, "COMMTWIN_RETENTION_DAYS": "400"}
    out = run("db", "upgrade", env=env)
    assert out.returncode == 2
    assert "more than 2000" in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert {c.name: c.keep_days for c in db.retention(empty_database_url)}["raw"] == 30
