#!/usr/bin/env python3
"""Alarm rule evaluation throughput (target: >= 500,000 readings/s, one core).

A community of 2,000 devices of every kind, each reporting all its metrics,
evaluated against the default rules in batches the size ingest commits.
Values wander around normal levels; about one reading in a thousand crosses a
threshold or clears one, so the engine does its real work (transitions,
hysteresis, rates, durations) and not only the vectorised fast path.
Also times a clock tick (no-data and duration rules) over the community.
"""

from __future__ import annotations

import json
import time

import numpy as np

from twin.model.kinds import KINDS
from twin.rules.engine import DeviceRef, ReadingBatch, RuleEngine, default_rules

N_DEVICES = 2_000
T0 = 1_800_000_000.0
# kind: share of devices; metric: (normal value, spread, abnormal value)
MIX = {"smoke": 0.3, "water_leak": 0.1, "gas": 0.05, "elevator": 0.02, "door": 0.1, "env": 0.1,
       "air_quality": 0.05, "power_meter": 0.05, "wearable": 0.18, "parking": 0.05}  # fmt: skip
NORMAL = {
    "smoke": (0, 0, 1), "temperature": (22, 0.2, 70), "leak": (0, 0, 1), "gas_lel": (1, 1, 30),
    "fault": (0, 0, 1), "door_open": (0, 0, 1), "trips": (100, 10, 100),
    "load_kg": (300, 100, 300), "open": (0, 0, 1), "humidity": (50, 5, 50),
    "pm25": (35, 10, 200), "co2": (600, 100, 2500), "power_kw": (30, 10, 95),
    "energy_kwh": (1000, 10, 1000), "heart_rate": (75, 8, 140), "fall": (0, 0, 1),
    "sos": (0, 0, 1), "battery": (80, 10, 5), "occupancy": (0.5, 0.1, 0.99),
    "occupied_spaces": (50, 10, 50),
}  # fmt: skip


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "rules", "metric": metric, "value": round(value, 1), "unit": unit, "ref": ref}
    print(json.dumps(line), flush=True)


def community(rng: np.random.Generator) -> tuple[list[DeviceRef], dict[int, str]]:
    names = sorted({m for k in KINDS.values() for m in k.metric_names})
    metrics = {i + 1: name for i, name in enumerate(names)}
    kinds = rng.choice(list(MIX), size=N_DEVICES, p=list(MIX.values()))
    devices = [DeviceRef(i + 1, "bench", f"d-{i + 1}", str(k)) for i, k in enumerate(kinds)]
    return devices, metrics


def feed(
    devices: list[DeviceRef], metrics: dict[int, str], rng: np.random.Generator, rounds: int
) -> list[ReadingBatch]:
    """``rounds`` rounds of every device reporting every metric, 10 s apart."""
    key_of = {name: key for key, name in metrics.items()}
    dev, met, base, spread, abnormal = [], [], [], [], []
    for d in devices:
        for m in KINDS[d.kind or ""].metric_names:
            dev.append(d.key)
            met.append(key_of[m])
            b, s, a = NORMAL[m]
            base.append(b)
            spread.append(s)
            abnormal.append(a)
    dev_a, met_a = np.array(dev), np.array(met)
    base_a, spread_a, abn_a = np.array(base, float), np.array(spread, float), np.array(abnormal)
    rows = dev_a.size
    out = []
    stuck = np.zeros(rows, dtype=bool)
    for r in range(rounds):
        # about 1 in 1000 readings flips a device into or out of an abnormal state
        stuck ^= rng.random(rows) < 0.001
        values = np.where(stuck, abn_a, base_a + spread_a * rng.standard_normal(rows))
        ts = T0 + 10.0 * r + rng.random(rows)
        out.append(ReadingBatch(dev_a, met_a, ts, values))
    return out


def main() -> None:
    rng = np.random.default_rng(7)
    devices, metrics = community(rng)
    rounds = feed(devices, metrics, rng, rounds=60)
    whole = ReadingBatch.concat(rounds)
    for batch_size in (1_000, 5_000):
        engine = RuleEngine(default_rules(), devices=devices, metrics=metrics)
        batches = [
            ReadingBatch(
                whole.device_key[i : i + batch_size],
                whole.metric_key[i : i + batch_size],
                whole.ts[i : i + batch_size],
                whole.value[i : i + batch_size],
            )
            for i in range(0, len(whole), batch_size)
        ]
        events = 0
        start = time.perf_counter()
        for b in batches:
            events += len(engine.step(b))
        elapsed = time.perf_counter() - start
        emit(
            f"readings_per_s_batch_{batch_size}",
            len(whole) / elapsed,
            "readings/s",
            f">= 500000 ({events} events from {len(whole)} readings)",
        )
    # Gateway batches: 100 devices' last 10 rounds at once, so every device has
    # several readings per metric in a batch (the engine orders them by time).
    per_round = len(rounds[0])
    stacked = ReadingBatch.concat(rounds[:50])
    engine = RuleEngine(default_rules(), devices=devices, metrics=metrics)
    batches = []
    for first in range(0, 50, 10):
        for lo in range(0, per_round, per_round // 20):
            idx = np.concatenate(
                [np.arange(lo, min(lo + per_round // 20, per_round)) + (first + r) * per_round
                 for r in range(10)]
            )  # fmt: skip
            batches.append(
                ReadingBatch(stacked.device_key[idx], stacked.metric_key[idx],
                             stacked.ts[idx], stacked.value[idx])
            )  # fmt: skip
    total = sum(len(b) for b in batches)
    start = time.perf_counter()
    events = sum(len(engine.step(b)) for b in batches)
    emit(
        "readings_per_s_gateway_batches",
        total / (time.perf_counter() - start),
        "readings/s",
        f">= 500000 ({events} events, {total // len(batches)} readings per batch)",
    )
    start = time.perf_counter()
    ticks = 100
    for i in range(ticks):
        engine.step_tick(float(whole.ts.max()) + 60.0 * i)
    emit("tick_ms_2000_devices", (time.perf_counter() - start) / ticks * 1000, "ms", "< 5")


if __name__ == "__main__":
    main()
