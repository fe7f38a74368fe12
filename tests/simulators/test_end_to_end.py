"""Simulators through the real ingestor into the real database.

* a generated community imports cleanly with `commtwin community import`;
* every bad-input message lands in dead_letters with the reason it promised;
* a replay of a recorded feed gives the same database content as the feed.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from commtwin import db
from simulators.bad_input import BAD_KINDS
from simulators.broker import BrokerConfig
from simulators.community_gen import CommunitySpec, generate_community
from simulators.realistic import RealisticRun, run_realistic_async
from simulators.recording import record, replay
from simulators.scenario import FeedOptions
from tests.ingest.helpers import IngestProcess, wait_for
from tests.services import Broker, scratch_database
from tests.simulators.helpers import (
    ingest_lacks_alarm_rules,
    ingest_lacks_state_machine,
    ingest_refuses_satisfaction,
    run_cli,
    yesterday_morning,
)
from twin.rules.defaults import DEFAULT_RULES


@pytest.fixture
def fresh_db() -> Iterator[str]:
    with scratch_database("commtwin_sim") as url:
        db.upgrade(url, prefer="plain")
        yield url


def _import(url: str, model: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(model, ensure_ascii=False))
    out = run_cli("community", "import", str(path), env={"COMMTWIN_DATABASE_URL": url})
    assert out.returncode == 0, out.stderr


def _rows(url: str, query: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(query.encode(), params).fetchall()


def _count(url: str, table: str) -> int:
    return int(_rows(url, f"SELECT count(*) FROM {table}")[0][0])  # noqa: S608 - fixed names


def test_generated_community_imports_cleanly(fresh_db: str, tmp_path: Path) -> None:
    model = generate_community(CommunitySpec())
    _import(fresh_db, model, tmp_path / "lanting.json")
    assert _count(fresh_db, "buildings") == len(model["buildings"])
    assert _count(fresh_db, "units") == sum(len(b.get("units", [])) for b in model["buildings"])
    assert _count(fresh_db, "grids") == len(model["grids"])
    assert _count(fresh_db, "devices") == len(model["devices"])
    storeys = sum(b["storey_count"] + len(b.get("storeys", [])) for b in model["buildings"])
    assert _count(fresh_db, "storeys") == storeys
    # Every placed device got its grid from the locator.
    assert _rows(fresh_db, "SELECT count(*) FROM devices WHERE grid_id IS NULL")[0][0] == 0
    # Importing the same file again changes nothing.
    _import(fresh_db, model, tmp_path / "lanting.json")
    assert _count(fresh_db, "devices") == len(model["devices"])


def _ingest(url: str, broker: Broker, root: str, tmp_path: Path, name: str) -> IngestProcess:
    proc = IngestProcess(
        url, broker.url, tmp_path, client_id=f"{name}-{secrets.token_hex(3)}", root=root
    )
    proc.wait_connected()
    return proc


def test_bad_input_lands_in_dead_letters_with_its_reason(
    fresh_db: str, broker: Broker, tmp_path: Path
) -> None:
    root = f"e2e{secrets.token_hex(3)}/v1"
    _import(fresh_db, generate_community(CommunitySpec(buildings=1, seed=2)), tmp_path / "m.json")
    ingest = _ingest(fresh_db, broker, root, tmp_path, "bad")
    try:
        expect = tmp_path / "expect.jsonl"
        env = {"COMMTWIN_MQTT_URL": broker.url, "COMMTWIN_TOPIC_ROOT": root}
        out = run_cli(
            "simulate", "bad", "--count", str(2 * len(BAD_KINDS)), "--expect", str(expect), env=env
        )
        assert out.returncode == 0, out.stderr
        expected = {
            (x["topic"], x["payload_sha256"], x["reason"])
            for x in map(json.loads, expect.read_text().splitlines())
        }
        assert len(expected) == 2 * len(BAD_KINDS)
        refused = {x for x in expected if x[2] == "invalid_transition"}

        def landed_rows() -> set[tuple[str, str, str]]:
            rows = _rows(fresh_db, "SELECT topic, payload_sha256, reason FROM dead_letters")
            return {(topic, bytes(sha).hex(), reason) for topic, sha, reason in rows}

        # Messages of one connection arrive in order: once the rest landed, a
        # refused transition has had its chance (a moment more for its batch).
        wait_for(lambda: landed_rows() >= expected - refused, 30)
        wait_for(lambda: landed_rows() >= expected, 3)
        landed = landed_rows()
    finally:
        assert ingest.terminate() == 0
    missing = sorted(r for *_, r in expected - landed)
    assert landed - refused == expected - refused, f"missing reasons: {missing}"
    if landed & refused != refused and (why := ingest_lacks_state_machine()) is not None:
        pytest.skip(f"all reasons but invalid_transition checked; {why}")
    assert landed == expected, f"missing reasons: {missing}"


# What a feed leaves in the database, independent of arrival order and keys.
SNAPSHOT = {
    "readings": "SELECT d.id, m.name, r.ts, r.value FROM readings r"
    " JOIN devices d ON d.key = r.device_key JOIN metrics m ON m.key = r.metric_key",
    "device_status": "SELECT d.id, s.ts, s.online, s.battery FROM device_status s"
    " JOIN devices d ON d.key = s.device_key",
    "positions": "SELECT d.id, p.ts, p.x, p.y, p.z, p.building_id, p.storey_idx, p.grid_id"
    " FROM positions p JOIN devices d ON d.key = p.device_key",
    # Alarm-opened incidents are named after the alarm's serial id, which
    # depends on arrival order: name them by the alarm's natural key instead.
    # SLA escalations come from the ingestor's clock, not from the messages.
    "incident_events": "SELECT replace(e.event_id, e.incident_id, coalesce(a.device_id || '/'"
    " || a.rule_id || '/' || a.raised_at, e.incident_id)), e.type, e.ts, e.assignee, e.note"
    " FROM incident_events e LEFT JOIN alarms a ON e.incident_id = 'alarm-' || a.id"
    " WHERE e.type <> 'escalated'",
    "incidents": "SELECT coalesce(a.device_id || '/' || a.rule_id, i.id), i.status, i.category,"
    " i.assignee, i.building_id, i.storey_idx, i.unit_id, i.grid_id, i.reported_at,"
    " i.accepted_at, i.resolved_at, i.closed_at, i.satisfaction"
    " FROM incidents i LEFT JOIN alarms a ON i.alarm_id = a.id",
    # No-data and duration alarms are raised by the ingestor's clock ticks, so
    # they depend on when ticks ran relative to the data; the others do not.
    "alarms": "SELECT device_id, rule_id, severity, raised_at, value, building_id, storey_idx,"
    " grid_id FROM alarms WHERE rule_id <> ALL(%s)",
    "dead_letters": "SELECT topic, payload_sha256, reason FROM dead_letters",
    "devices": "SELECT id, kind, building_id, storey_idx, unit_id, grid_id FROM devices",
}


CLOCK_RULES = [r["id"] for r in DEFAULT_RULES if r["type"] in ("no_data", "duration")]


def _snapshot(url: str) -> dict[str, list[tuple[Any, ...]]]:
    def rows(query: str) -> list[tuple[Any, ...]]:
        return sorted(_rows(url, query, (CLOCK_RULES,) if "%s" in query else ()), key=repr)

    return {name: rows(query) for name, query in SNAPSHOT.items()}


def _settled(url: str, timeout: float = 60) -> None:
    """Wait until the ingestor has written everything (counts stop moving)."""
    last: list[int] = []

    def still() -> bool:
        now = [
            _count(url, t) for t in ("readings", "device_status", "incident_events", "dead_letters")
        ]
        done = now == last and now[0] > 0
        last[:] = now
        return done

    wait_for(still, timeout, interval=1.5)


def test_replay_reproduces_the_recorded_database(broker: Broker, tmp_path: Path) -> None:
    root = f"e2e{secrets.token_hex(3)}/v1"
    model = generate_community(CommunitySpec(buildings=1, seed=8, id="replay"))
    cfg = BrokerConfig.from_url(broker.url)
    recording = tmp_path / "feed.jsonl"
    run = RealisticRun(
        model=tmp_path / "m.json",
        topic_root=root,
        speed=3600.0,
        duration=2.0,
        start=yesterday_morning(),
        # No gateway outages: a last will carries no timestamp, so its row's
        # time is the receive time, which a replay cannot reproduce.
        options=FeedOptions(
            seed=8, event_rate=60.0, incidents_per_day=300.0, outages=False, bad_fraction=0.01
        ),
        progress=False,
    )
    with scratch_database("commtwin_sim") as first, scratch_database("commtwin_sim") as second:
        for url in (first, second):
            db.upgrade(url, prefer="plain")
            _import(url, model, tmp_path / "m.json")

        async def feed_and_record() -> None:
            stop, ready = asyncio.Event(), asyncio.Event()
            task = asyncio.create_task(
                record(cfg, f"{root}/#", recording, stop=stop, ready=ready, show_progress=False)
            )
            await asyncio.wait_for(ready.wait(), 10)
            await run_realistic_async(run, cfg)
            await asyncio.sleep(1.0)
            stop.set()
            await task

        ingest = _ingest(first, broker, root, tmp_path, "first")
        try:
            asyncio.run(feed_and_record())
            _settled(first)
        finally:
            assert ingest.terminate() == 0
        ingest = _ingest(second, broker, root, tmp_path, "second")
        try:
            asyncio.run(replay(cfg, recording, speed=0, show_progress=False))
            _settled(second)
        finally:
            assert ingest.terminate() == 0
        a, b = _snapshot(first), _snapshot(second)
    assert len(a["readings"]) > 1000
    assert a["incident_events"]
    assert a["dead_letters"]
    assert a["alarms"]
    print({table: len(rows) for table, rows in a.items()})
    for table in SNAPSHOT:
        assert a[table] == b[table], table


def test_accelerated_run_closes_incidents_in_the_database(
    fresh_db: str, broker: Broker, tmp_path: Path
) -> None:
    root = f"e2e{secrets.token_hex(3)}/v1"
    model = generate_community(CommunitySpec(buildings=2, seed=11, id="loop"))
    _import(fresh_db, model, tmp_path / "m.json")
    run = RealisticRun(
        model=tmp_path / "m.json",
        topic_root=root,
        speed=3600.0,
        duration=6.0,
        start=yesterday_morning(),
        options=FeedOptions(seed=11, event_rate=50.0, incidents_per_day=400.0),
        progress=False,
    )
    ingest = _ingest(fresh_db, broker, root, tmp_path, "loop")
    try:
        summary = asyncio.run(run_realistic_async(run, BrokerConfig.from_url(broker.url)))
        _settled(fresh_db)
    finally:
        assert ingest.terminate() == 0
    assert summary["errors"] == 0
    statuses = dict(_rows(fresh_db, "SELECT status, count(*) FROM incidents GROUP BY status"))
    assert sum(statuses.values()) >= 30
    # The feed's devices are the model's: nothing arrived as an unplaced stranger.
    assert _rows(fresh_db, "SELECT count(*) FROM devices WHERE NOT modelled")[0][0] == 0
    online = _rows(fresh_db, "SELECT count(*) FILTER (WHERE online), count(*) FROM devices")[0]
    assert 0 < online[0] <= online[1]
    if (why := ingest_refuses_satisfaction()) is not None:
        pytest.skip(f"incidents reported, accepted and resolved; {why}")
    assert statuses.get("closed", 0) >= 5, statuses
    rated = _rows(fresh_db, "SELECT count(*) FROM incidents WHERE satisfaction BETWEEN 1 AND 5")
    assert rated[0][0] >= 5
    # Dispatched by the ingestor to the grid's worker, accepted by that worker.
    assignees = {a for (a,) in _rows(fresh_db, "SELECT DISTINCT assignee FROM incidents")}
    assert assignees <= {g["worker"] for g in model["grids"]} | {None}
    if (why := ingest_lacks_alarm_rules()) is not None:
        pytest.skip(f"incidents complete their lifecycle; {why}")
    alarms = dict(_rows(fresh_db, "SELECT rule_id, count(*) FROM alarms GROUP BY rule_id"))
    assert alarms, "smoke, leaks, faults and falls at event rate 50 raise alarms"
