"""A short accelerated realistic run against the real broker."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from ingest.messages import Rejected
from ingest.parse import parse
from simulators.broker import BrokerConfig
from simulators.community_gen import CommunitySpec, generate_community
from simulators.mqtt_links import LinkError
from simulators.realistic import RealisticRun, run_realistic
from simulators.scenario import FeedOptions
from tests.services import Broker
from tests.simulators.helpers import Collector, yesterday_morning
from twin.model.kinds import KINDS

PREFIX_KIND = {"smoke": "smoke", "leak": "water_leak", "gas": "gas", "lift": "elevator",
               "door": "door", "gate": "door", "env": "env", "aq": "air_quality",
               "pm": "power_meter", "wear": "wearable", "parking": "parking",
               "pv": "pv_inverter", "ev": "ev_charger", "vgate": "gate",
               "wm": "water_meter", "hm": "home_meter", "motion": "motion"}  # fmt: skip


@pytest.fixture(scope="module")
def small_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "small.json"
    model = generate_community(CommunitySpec(buildings=2, seed=4, id="simtest"))
    path.write_text(json.dumps(model, ensure_ascii=False))
    return path


def test_accelerated_run_publishes_every_kind_wills_and_closed_loops(
    broker: Broker, small_model: Path
) -> None:
    root = f"sim{secrets.token_hex(3)}/v1"
    heard = Collector(broker.url, f"{root}/#")
    try:
        run = RealisticRun(
            model=small_model,
            topic_root=root,
            speed=3600.0,
            duration=4.0,
            start=yesterday_morning(),
            options=FeedOptions(seed=4, event_rate=100.0, incidents_per_day=600.0),
            progress=False,
        )
        summary = run_realistic(run, BrokerConfig.from_url(broker.url))
        expected = summary["sent"] + summary["links_dropped"]  # the broker adds the wills
        assert heard.wait(lambda m: len(m) >= expected, 30)
        messages = heard.snapshot()
    finally:
        heard.close()
    print("summary", summary)
    assert summary["errors"] == 0
    assert len(messages) == expected
    assert summary["links_dropped"] >= 1
    assert summary["published"]["incident"] > 20

    kinds = {PREFIX_KIND[m.topic.split("/")[4].split("-")[0]]
             for m in messages if m.topic.endswith("/telemetry")}  # fmt: skip
    assert kinds == set(KINDS)
    wills = [
        m for m in messages if m.topic.endswith("/status") and m.payload == b'{"online":false}'
    ]
    assert len(wills) == summary["links_dropped"]
    assert all("/devices/gw-" in m.topic for m in wills)
    assert any(m.payload.startswith(b"[") for m in messages if m.topic.endswith("/telemetry"))

    lifecycles: dict[str, list[str]] = defaultdict(list)
    for m in messages:
        if m.topic.endswith("/events"):
            lifecycles[m.topic.split("/")[-2]].append(orjson.loads(m.payload)["type"])
    complete = [t for t in lifecycles.values() if t[:1] == ["reported"] and t[-1:] == ["closed"]]
    assert complete, dict(lifecycles)
    assert all({"accepted", "resolved"} <= set(t) for t in complete)
    # Everything but the satisfaction field is valid for the ingestor (see test_feed_pure).
    now_us = int((summary["elapsed_s"] + 1e10) * 1e6)
    for m in messages[:3000]:
        if b"satisfaction" not in m.payload:
            parsed = parse(m.topic, m.payload, now_us, root)
            assert not isinstance(parsed, Rejected), (m.topic, parsed)


def test_unreachable_broker_is_one_clear_error(small_model: Path) -> None:
    run = RealisticRun(model=small_model, duration=1.0, progress=False)
    with pytest.raises(LinkError, match="cannot connect to the MQTT broker"):
        run_realistic(run, BrokerConfig.from_url("mqtt://127.0.0.1:9"))


def test_mqtt_311_brokers_get_the_feed_and_the_wills(broker: Broker, small_model: Path) -> None:
    """`commtwin demo` may run on an MQTT 3.1.1-only broker: everything works there too."""
    root = f"sim{secrets.token_hex(3)}/v1"
    heard = Collector(broker.url, f"{root}/#")
    try:
        run = RealisticRun(
            model=small_model,
            topic_root=root,
            speed=3600.0,
            duration=1.0,
            start=yesterday_morning(),
            options=FeedOptions(seed=4, event_rate=300.0, incidents_per_day=0),
            progress=False,
        )
        summary = run_realistic(run, BrokerConfig.from_url(broker.url, protocol="3.1.1"))
        expected = summary["sent"] + summary["links_dropped"]
        assert heard.wait(lambda m: len(m) >= expected, 30)
        messages = heard.snapshot()
    finally:
        heard.close()
    assert summary["errors"] == 0
    assert summary["links_dropped"] >= 1
    assert len(messages) == expected
    wills = [m for m in messages if m.payload == b'{"online":false}']
    assert len(wills) == summary["links_dropped"]


def test_feed_survives_a_broker_restart(small_model: Path) -> None:
    """Publishes fail while the broker is away (counted as errors); the feed carries on."""
    own = Broker().start()
    try:
        run = RealisticRun(
            model=small_model,
            speed=3600.0,
            duration=4.0,
            options=FeedOptions(seed=4, incidents_per_day=0, outages=False),
            progress=False,
        )

        def restart_soon() -> None:
            time.sleep(1.5)
            own.restart()

        thread = threading.Thread(target=restart_soon)
        thread.start()
        summary = run_realistic(run, BrokerConfig.from_url(own.url))
        thread.join()
        heard = Collector(own.url, "commtwin/v1/#")  # retained statuses after the restart
        try:
            assert heard.wait(lambda m: len(m) > 0, 10)
        finally:
            heard.close()
    finally:
        own.close()
    assert summary["sent"] > 1000
    assert summary["last_sim_ts"] is not None
    assert summary["last_sim_ts"] >= summary["sim_end"][:15]
