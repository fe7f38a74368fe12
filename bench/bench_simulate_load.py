#!/usr/bin/env python3
"""How fast `commtwin simulate load` publishes QoS 1 to a local Mosquitto (target >= 20,000/s).

A private Mosquitto with the project's config (tests/services.py Broker), no
subscriber: this measures the generator, so that it never limits the ingest
benchmark. Every message counts only once the broker acknowledged it. Also
measures the realistic feed (aiomqtt, one process) flat out, for scale.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from simulators.broker import BrokerConfig
from simulators.load import run_load
from simulators.load_worker import LoadSpec
from simulators.realistic import RealisticRun, run_realistic
from simulators.scenario import FeedOptions
from tests.services import Broker

SECONDS = 8.0


def emit(metric: str, value: float, unit: str, ref: str) -> None:
    line = {"bench": "simulate_load", "metric": metric, "value": round(value, 1), "unit": unit,
            "ref": ref}  # fmt: skip
    print(json.dumps(line), flush=True)


def load(broker: Broker, rate: float, processes: int = 1, batch: int = 1) -> dict[str, float]:
    spec = LoadSpec(
        broker=BrokerConfig.from_url(broker.url),
        topic_root="bench/v1",
        community="load",
        rate=rate,
        duration=SECONDS,
        batch=batch,
        processes=processes,
    )
    summary = run_load(spec, show_progress=False)
    if summary["errors"] or summary["acked"] != summary["sent"]:
        raise SystemExit(f"load lost messages: {summary}")
    return summary


def main() -> None:
    broker = Broker().start()
    try:
        asked = load(broker, 20_000.0)
        emit("asked_20000_per_s_sent", asked["rate"], "msg/s", ">= 20000 (paced)")
        flat = load(broker, 0.0)
        emit("flat_out_1_process", flat["rate"], "msg/s", ">= 20000")
        two = load(broker, 0.0, processes=2)
        emit("flat_out_2_processes", two["rate"], "msg/s", ">= 20000")
        batches = load(broker, 0.0, batch=100)
        emit("batch_100_readings_per_s", batches["readings_rate"], "readings/s", "info")
        started = time.monotonic()
        run = RealisticRun(
            topic_root="bench/v1",
            speed=3600.0,
            duration=2.0,  # two simulated hours, ~45,000 messages: the feed lags behind
            options=FeedOptions(seed=1),
            progress=False,
        )
        feed = run_realistic(run, BrokerConfig.from_url(broker.url))
        elapsed = time.monotonic() - started
        emit("realistic_feed_aiomqtt", feed["sent"] / elapsed, "msg/s", "info (20 buildings)")
    finally:
        broker.close()


if __name__ == "__main__":
    main()
