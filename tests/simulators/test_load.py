"""Load mode against the real broker: what it says it sent is what arrived."""

from __future__ import annotations

import json
import secrets
from collections import defaultdict

import orjson

from ingest.messages import Rejected, Telemetry
from ingest.parse import parse
from simulators.broker import BrokerConfig
from simulators.load import run_load
from simulators.load_worker import LoadSpec
from tests.services import Broker
from tests.simulators.helpers import Collector


def _spec(broker: Broker, root: str, **kw: object) -> LoadSpec:
    base: dict[str, object] = {"broker": BrokerConfig.from_url(broker.url), "topic_root": root,
                               "community": "load", "rate": 2000.0, "duration": 1.0}  # fmt: skip
    base.update(kw)
    return LoadSpec(**base)  # type: ignore[arg-type]


def test_single_readings_all_arrive_valid_and_in_order(broker: Broker) -> None:
    root = f"load{secrets.token_hex(3)}/v1"
    heard = Collector(broker.url, f"{root}/#")
    try:
        s = run_load(
            _spec(broker, root, rate=5000.0, duration=2.0, devices=200), show_progress=False
        )
        assert heard.wait(lambda m: len(m) >= s["sent"], 30)
        messages = heard.snapshot()
    finally:
        heard.close()
    print(json.dumps(s))
    assert s["errors"] == 0
    assert s["acked"] == s["sent"] == len(messages)
    assert 0.8 * 10000 <= s["sent"] <= 10001  # paced: about rate x duration
    last: dict[str, int] = defaultdict(int)
    for m in messages:
        parsed = parse(m.topic, m.payload, 10**19, root)
        assert isinstance(parsed, Telemetry)
        (reading,) = parsed.readings
        assert set(reading.metrics) == {"temperature", "humidity", "power_kw"}
        assert reading.ts_us > last[parsed.device]  # distinct timestamps per device
        last[parsed.device] = reading.ts_us
    assert len(last) == 200


def test_gateway_batches_from_two_processes(broker: Broker) -> None:
    root = f"load{secrets.token_hex(3)}/v1"
    heard = Collector(broker.url, f"{root}/#")
    try:
        spec = _spec(broker, root, rate=400.0, duration=1.5, batch=50, processes=2, devices=100)
        s = run_load(spec, show_progress=False)
        assert heard.wait(lambda m: len(m) >= s["sent"], 30)
        messages = heard.snapshot()
    finally:
        heard.close()
    print(json.dumps(s))
    assert s["errors"] == 0
    assert s["worker_errors"] == []
    assert len(messages) == s["sent"]
    assert s["readings"] == 50 * s["sent"]
    devices = set()
    for m in messages:
        parsed = parse(m.topic, m.payload, 10**19, root)
        assert isinstance(parsed, Telemetry)
        assert len(parsed.readings) == 50
        assert len({r.ts_us for r in parsed.readings}) == 50
        devices.add(parsed.device)
    assert len(devices) == 100  # both workers' halves


def test_bad_fraction_mixes_rejected_messages(broker: Broker) -> None:
    root = f"load{secrets.token_hex(3)}/v1"
    heard = Collector(broker.url, f"{root}/#")
    try:
        s = run_load(_spec(broker, root, rate=2000.0, bad_fraction=0.1), show_progress=False)
        assert heard.wait(lambda m: len(m) >= s["sent"], 30)
        messages = heard.snapshot()
    finally:
        heard.close()
    rejected = sum(isinstance(parse(m.topic, m.payload, 10**19, root), Rejected) for m in messages)
    assert s["bad"] == round(s["sent"] / 10) or s["bad"] == s["sent"] // 10
    # Two of the kinds need the database to be refused (unknown community, transition).
    assert s["bad"] * 11 // 15 <= rejected <= s["bad"]


def test_asked_rate_is_reported(broker: Broker) -> None:
    """Load reaches 20,000 messages/s here (bench/bench_simulate_load.py measures it)."""
    root = f"load{secrets.token_hex(3)}/v1"
    s = run_load(_spec(broker, root, rate=20000.0, duration=2.0), show_progress=False)
    print(json.dumps(s))
    assert s["errors"] == 0
    assert s["acked"] == s["sent"] > 0
    assert orjson.loads(json.dumps(s))["rate"] > 0
