#!/usr/bin/env python3
"""Live state timings for a 2,000-device community (40 buildings of 18 storeys
and a basement): building it from full state (an API start or rebuild), one
incremental update, and a ``/live`` snapshot after a change (target: well
under 10 ms; the API caches the serialised bytes per version)."""

from __future__ import annotations

import json
import random
import time
from datetime import UTC, datetime, timedelta

import orjson

from twin.live.state import (
    AlarmState,
    ClosedLoop,
    CommunityLayout,
    DeviceState,
    IncidentState,
    LiveState,
)

T = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
KINDS = ["smoke", "smoke", "smoke", "water_leak", "door", "env", "wearable", "power_meter"]


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "live", "metric": metric, "value": round(value, 3), "unit": unit, "ref": ref}
    print(json.dumps(line), flush=True)


def community(rng: random.Random) -> tuple[CommunityLayout, dict[str, list[object]]]:
    storeys = [-1, *range(1, 19)]
    layout = CommunityLayout.from_mapping(
        "bench", "Bench", {f"b{i:02d}": storeys for i in range(40)}
    )
    devices = [
        DeviceState(f"d{i}", rng.choice(KINDS), f"b{i % 40:02d}", rng.choice(storeys),
                    online=rng.random() > 0.01)
        for i in range(2_000)
    ]  # fmt: skip
    alarms = [
        AlarmState(i, d.id, d.kind, "r", rng.choice(["critical", "major", "minor", "warning"]),
                   "active_unack", T - timedelta(minutes=i), "alarm", 1.0, d.building, d.storey)
        for i, d in enumerate(rng.sample(devices, 50))
    ]  # fmt: skip
    incidents = [
        IncidentState(f"r{i}", "dispatched", T - timedelta(minutes=10 * i), "noise",
                      building=f"b{i % 40:02d}", storey=1 + i % 18,
                      respond_due_at=T - timedelta(minutes=10 * i - 30),
                      resolve_due_at=T + timedelta(hours=24))
        for i in range(30)
    ]  # fmt: skip
    return layout, {"devices": devices, "alarms": alarms, "incidents": incidents}


def main() -> None:
    rng = random.Random(3)
    layout, rows = community(rng)
    runs = 50
    start = time.perf_counter()
    for _ in range(runs):
        live = LiveState(
            layout,
            devices=rows["devices"],  # type: ignore[arg-type]
            alarms=rows["alarms"],  # type: ignore[arg-type]
            incidents=rows["incidents"],  # type: ignore[arg-type]
            closed_loop=ClosedLoop(0.97, 0.9, 0.97),
        )
    emit("build_ms_2000_devices", (time.perf_counter() - start) / runs * 1000, "ms", "< 100")

    live.snapshot(T)
    devices: list[DeviceState] = rows["devices"]  # type: ignore[assignment]
    upserts = 0.0
    snaps = 0.0
    size = 0
    runs = 200
    for i in range(runs):
        d = devices[rng.randrange(len(devices))]
        changed = DeviceState(d.id, d.kind, d.building, d.storey, online=i % 2 == 0)
        t0 = time.perf_counter()
        live.upsert_device(changed)
        live.set_version(i + 1, T)
        t1 = time.perf_counter()
        snap = live.snapshot(T + timedelta(seconds=i))
        t2 = time.perf_counter()
        upserts += t1 - t0
        snaps += t2 - t1
        size = len(orjson.dumps(snap))
    emit("upsert_us", upserts / runs * 1e6, "µs", "O(1)")
    emit("snapshot_ms_after_change", snaps / runs * 1000, "ms", "< 10")
    cold = LiveState(layout, devices=devices, alarms=rows["alarms"])  # type: ignore[arg-type]
    t0 = time.perf_counter()
    cold.snapshot(T)
    emit("snapshot_ms_cold", (time.perf_counter() - t0) * 1000, "ms", "< 10")
    t0 = time.perf_counter()
    for _ in range(runs):
        orjson.dumps(live.snapshot(T))
    emit("snapshot_and_json_ms", (time.perf_counter() - t0) / runs * 1000, "ms", "< 10")
    emit("snapshot_kib", size / 1024, "KiB", "760 storeys, 50 alarms, 30 incidents")


if __name__ == "__main__":
    main()
