"""The batch writer against the real PostgreSQL (no broker needed): one transaction per
batch, idempotent on redelivery, rollups from inserted rows only, status, positions,
incidents, dead letters, NOTIFY, hooks, and the committer's poison-message isolation."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest

from ingest.batcher import Batcher
from ingest.committer import Committer
from ingest.messages import Reason
from ingest.metrics import IngestMetrics
from ingest.pipeline import BatchView, Pipeline, PipelineHooks
from ingest.rollups import refresh
from tests.ingest.helpers import add_community

NOW_S = 1_795_860_000.0  # 2026-11-28T10:00:00Z
ROOT = "commtwin/v1"


def tel(
    device: str, ts_ms: int, community: str = "lanting", **values: Any
) -> tuple[str, bytes, int]:
    payload = orjson.dumps({"ts": ts_ms, "values": values})
    return (f"{ROOT}/{community}/devices/{device}/telemetry", payload, int(NOW_S * 1e6))


def msg(topic: str, doc: Any) -> tuple[str, bytes, int]:
    return (f"{ROOT}/{topic}", orjson.dumps(doc), int(NOW_S * 1e6))


@pytest.fixture
def conn(ingest_db: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(ingest_db, autocommit=True) as c:
        yield c


@pytest.fixture
def pipeline(conn: psycopg.Connection[Any]) -> Pipeline:
    p = Pipeline(clock=lambda: NOW_S)
    p.attach(conn)
    return p


def one(conn: psycopg.Connection[Any], query: str, *params: Any) -> Any:
    row = conn.execute(query.encode(), params or None).fetchone()  # type: ignore[arg-type]
    assert row is not None
    return row[0] if len(row) == 1 else row


T0 = int(NOW_S * 1000) - 600_000  # ten minutes ago, in ms


def test_readings_rollups_and_redelivery(conn: psycopg.Connection[Any], pipeline: Pipeline) -> None:
    batch = [
        tel("env-1", T0, temperature=20.0, humidity=50),
        tel("env-1", T0 + 1000, temperature=22.0),
        tel("env-1", T0 + 61_000, temperature=30.0),
        tel("door-1", T0, open=True),
    ]
    conn.execute("LISTEN commtwin_batches")
    first = pipeline.write(conn, batch)
    assert (first.readings_offered, first.readings_inserted) == (5, 5)
    notes = list(conn.notifies(timeout=1.0, stop_after=1))
    assert orjson.loads(notes[0].payload) == {"community": "lanting", "rows": 5}
    # A batch of several communities: one notification each, in one statement.
    add_community(conn.info.dsn, "xixi")
    pipeline.write(conn, [tel("env-2", T0, co2=410), tel("env-3", T0, "xixi", co2=400)])
    notes = list(conn.notifies(timeout=1.0, stop_after=2))
    assert [orjson.loads(n.payload) for n in notes] == [
        {"community": "lanting", "rows": 1},
        {"community": "xixi", "rows": 1},
    ]
    # A redelivery of the same batch adds nothing anywhere.
    again = pipeline.write(conn, [*batch, tel("env-1", T0 + 2000, temperature=24.0)])
    assert (again.readings_offered, again.readings_inserted) == (6, 1)
    assert one(conn, "SELECT count(*) FROM readings") == 8
    # Plain mode: the rollups are the job's (ingest/rollups.py), not the batch's.
    refresh(conn, grace_s=0)
    minute = one(
        conn,
        "SELECT n, v_sum, v_min, v_max, last_value FROM readings_1m r "
        "JOIN metrics m ON m.key = r.metric_key WHERE m.name = 'temperature' "
        "ORDER BY bucket LIMIT 1",
    )
    # T0 may sit anywhere in its minute: count the readings of T0's minute.
    in_first_minute = [(T0, 20.0), (T0 + 1000, 22.0), (T0 + 2000, 24.0), (T0 + 61_000, 30.0)]
    first_bucket = [v for t, v in in_first_minute if t // 60_000 == T0 // 60_000]
    assert minute == (
        len(first_bucket),
        sum(first_bucket),
        min(first_bucket),
        max(first_bucket),
        first_bucket[-1],
    )
    hour_total = one(conn, "SELECT sum(n)::int FROM readings_1h")
    assert hour_total == 8
    assert (
        one(
            conn,
            "SELECT value FROM readings r JOIN metrics m ON m.key = r.metric_key "
            "WHERE m.name = 'open'",
        )
        == 1.0
    )


def test_unknown_device_is_registered_unplaced(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    pipeline.write(conn, [tel("wear-0001", T0, heart_rate=70)])
    row = one(
        conn,
        "SELECT kind, modelled, building_id, last_seen IS NOT NULL FROM devices "
        "WHERE id = 'wear-0001'",
    )
    assert row == (None, False, None, True)
    log = one(conn, "SELECT kind, ref, data FROM change_log WHERE ref = 'wear-0001'")
    assert log == ("device", "wear-0001", {"registered": True, "placed": False})


def test_status_updates_device_history_and_change_log(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    topic = "lanting/devices/gas-7/status"
    pipeline.write(conn, [msg(topic, {"online": True, "ts": T0, "battery": 80, "rssi": -70})])
    pipeline.write(conn, [msg(topic, {"online": True, "ts": T0 + 1000, "battery": 79})])
    pipeline.write(conn, [msg(topic, {"online": False, "ts": T0 + 2000})])
    # Late and older: kept as history, does not roll the device back.
    pipeline.write(conn, [msg(topic, {"online": True, "ts": T0 + 1500})])
    online, battery, rssi = one(
        conn, "SELECT online, battery, rssi FROM devices WHERE id = 'gas-7'"
    )
    assert (online, battery, rssi) == (False, 79.0, -70.0)
    assert one(conn, "SELECT count(*) FROM device_status") == 4
    changes = conn.execute(
        "SELECT data->>'online', data->>'was' FROM change_log "
        "WHERE kind = 'device' AND data ? 'online' ORDER BY seq"
    ).fetchall()
    assert changes == [("true", None), ("false", "true")]


def test_positions_local_and_wgs84(conn: psycopg.Connection[Any], ingest_db: str) -> None:
    add_community(ingest_db, "north", offset=(100.0, 200.0, 5.0))
    p = Pipeline(clock=lambda: NOW_S)
    p.attach(conn)
    p.write(
        conn,
        [
            msg(
                "north/devices/w1/telemetry",
                {"ts": T0, "values": {"hr": 70}, "pos": {"x": 1.5, "y": -2, "z": 3}},
            ),
            msg(
                "north/devices/w2/telemetry",
                {"ts": T0, "values": {"hr": 71}, "pos": {"lon": 120.15, "lat": 30.27, "alt": 12}},
            ),
        ],
    )
    rows = dict(
        (r[0], r[1:])
        for r in conn.execute(
            "SELECT d.id, p.x, p.y, p.z, p.building_id "
            "FROM positions p JOIN devices d ON d.key = p.device_key"
        )
    )
    assert rows["w1"] == (1.5, -2.0, 3.0, None)
    x, y, z, _ = rows["w2"]
    # The CRS origin is (120.15, 30.27): world (0, 0), local = world - offset.
    assert (round(x, 6), round(y, 6), z) == (-100.0, -200.0, 7.0)


def test_incident_events_recorded_idempotently(
    conn: psycopg.Connection[Any], pipeline: Pipeline
) -> None:
    topic = "lanting/incidents/r-1/events"
    reported = msg(
        topic,
        {
            "event_id": "e1",
            "type": "reported",
            "ts": T0,
            "category": "noise",
            "title": "Loud",
            "reporter": "res-1",
            "location": {"building": "b01", "storey": 3, "unit": "1-301"},
        },
    )
    dispatched = msg(topic, {"event_id": "e2", "type": "dispatched", "assignee": "w-zhang"})
    result = pipeline.write(conn, [reported, dispatched])
    assert result.incident_events == 2
    # Redelivery (e2 has no ts: it gets a new receive time) changes nothing.
    later = Pipeline(clock=lambda: NOW_S + 60)
    later.attach(conn)
    redelivered = (dispatched[0], dispatched[1], dispatched[2] + 60_000_000)
    later.write(conn, [reported, redelivered])
    assert one(conn, "SELECT count(*) FROM incident_events") == 2
    row = one(
        conn,
        "SELECT status, assignee, building_id, storey_idx, unit_id, category "
        "FROM incidents WHERE id = 'r-1'",
    )
    assert row == ("dispatched", "w-zhang", "b01", 3, "1-301", "noise")
    pipeline.write(
        conn,
        [
            msg(topic, {"event_id": "e3", "type": "accepted"}),
            msg(topic, {"event_id": "e4", "type": "resolved"}),
            msg(topic, {"event_id": "e5", "type": "reopened"}),
        ],
    )
    assert (
        one(conn, "SELECT status || '/' || reopen_count FROM incidents WHERE id = 'r-1'")
        == "dispatched/1"
    )
    kinds = [
        r[0]
        for r in conn.execute(
            "SELECT data->>'event' FROM change_log WHERE kind = 'incident' ORDER BY seq"
        )
    ]
    assert kinds == ["reported", "dispatched", "accepted", "resolved", "reopened"]
    # An event for an incident never reported is refused (the state machine,
    # tests/incidents) but kept, in case its report arrives later.
    pipeline.write(
        conn,
        [
            msg(
                "lanting/incidents/r-2/events",
                {
                    "event_id": "x",
                    "type": "accepted",
                    "ts": T0,
                    "location": {"lon": 120.15, "lat": 30.27},
                },
            )
        ],
    )
    assert one(conn, "SELECT count(*) FROM incidents WHERE id = 'r-2'") == 0
    assert one(conn, "SELECT count(*) FROM incident_events WHERE incident_id = 'r-2'") == 1
    assert one(conn, "SELECT reason FROM dead_letters") == Reason.INVALID_TRANSITION


def test_dead_letters_unknown_community_and_occurrences(conn: psycopg.Connection[Any]) -> None:
    clock = [NOW_S]
    p = Pipeline(clock=lambda: clock[0])
    p.attach(conn)
    stranger = tel("d1", T0, community="elsewhere", t=1)
    bad = msg("lanting/devices/d1/telemetry", {"values": {"t": "hot"}})
    p.write(conn, [stranger, bad, bad])
    rows = conn.execute(
        "SELECT reason, community_id, occurrences, payload FROM dead_letters ORDER BY reason"
    ).fetchall()
    assert rows == [
        (Reason.BAD_VALUE_TYPE, "lanting", 2, bad[1]),
        (Reason.UNKNOWN_COMMUNITY, "elsewhere", 1, stranger[1]),
    ]
    p.write(conn, [bad])
    assert one(conn, "SELECT occurrences FROM dead_letters WHERE reason = 'bad_value_type'") == 3
    # Once the community exists (and the negative cache expired) the same data lands.
    add_community(conn.info.dsn, "elsewhere")
    clock[0] += 11
    assert p.write(conn, [stranger]).readings_inserted == 1


def test_hook_sees_batch_and_its_failure_rolls_back(conn: psycopg.Connection[Any]) -> None:
    seen: list[BatchView] = []

    def hook(c: psycopg.Connection[Any], view: BatchView) -> None:
        seen.append(view)
        if any(t.device == "boom" for t in view.telemetry):
            raise RuntimeError("rule engine failed")

    p = Pipeline(clock=lambda: NOW_S, hooks=PipelineHooks(after_writes=[hook]))
    p.attach(conn)
    p.write(conn, [tel("ok", T0, t=1)])
    assert seen[0].device_keys[("lanting", "ok")] > 0
    assert [t.device for t in seen[0].telemetry] == ["ok"]
    with pytest.raises(RuntimeError):
        p.write(conn, [tel("boom", T0, t=1)])
    assert one(conn, "SELECT count(*) FROM devices WHERE id = 'boom'") == 0
    assert one(conn, "SELECT count(*) FROM readings") == 1


def test_committer_isolates_a_poison_message(ingest_db: str) -> None:
    def hook(c: psycopg.Connection[Any], view: BatchView) -> None:
        if any(t.device == "poison" for t in view.telemetry):
            c.execute("SELECT 1 / 0")  # a data error from the database

    acked: list[Any] = []
    batcher = Batcher()
    pipeline = Pipeline(clock=lambda: NOW_S, hooks=PipelineHooks(after_writes=[hook]))
    committer = Committer(
        ingest_db, pipeline, batcher, acked.extend, IngestMetrics(), linger_s=0.01
    )
    deliveries = [(*tel(f"d{i}", T0, t=i), i + 1, 1) for i in range(5)]
    deliveries.insert(2, (*tel("poison", T0, t=9), 99, 1))
    batcher.put(deliveries)
    batcher.close()
    committer.run(threading.Event())
    assert [d[3] for d in acked] == [1, 2, 99, 3, 4, 5]
    with psycopg.connect(ingest_db) as c:
        assert one(c, "SELECT count(*) FROM readings") == 5
        assert one(c, "SELECT reason, detail LIKE 'DivisionByZero%' FROM dead_letters") == (
            Reason.WRITE_FAILED,
            True,
        )
