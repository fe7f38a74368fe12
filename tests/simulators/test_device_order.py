"""The realistic feed keeps each device's order: one device, one connection.

Every message of a device (telemetry, status, a gateway's flushed batch) goes
through the one connection the device publishes on, and leaves in time order;
the runner publishes each connection's messages in call order (paho queues
them so), hence the broker gets a device's readings in event time.
"""

from __future__ import annotations

from collections import defaultdict

import orjson

from simulators.actions import Publish
from simulators.community_gen import CommunitySpec, generate_community
from simulators.model_view import view_of
from simulators.scenario import FeedOptions, feed
from simulators.wire import Wire, parse_time

START = 1_795_000_000.0
HOURS = 12.0


def test_each_device_publishes_on_one_connection_in_time_order() -> None:
    community = view_of(generate_community(CommunitySpec(buildings=3, seed=4)))
    opts = FeedOptions(seed=9, event_rate=60.0, incidents_per_day=40.0, outages=True)
    actions = feed(community, Wire("commtwin/v1", community.id), START, START + HOURS * 3600, opts)
    links: dict[str, set[str]] = defaultdict(set)
    last_sent: dict[str, float] = {}
    last_ts: dict[str, float] = {}
    devices = 0
    for a in actions:
        if not isinstance(a, Publish) or "/devices/" not in a.topic:
            continue
        device = a.topic.split("/devices/", 1)[1].split("/", 1)[0]
        links[device].add(a.via)
        assert a.at >= last_sent.get(device, a.at), f"{device} sent out of order"
        last_sent[device] = a.at
        if a.topic.endswith("/telemetry"):
            doc = orjson.loads(a.payload)
            readings = doc if isinstance(doc, list) else [doc]  # a flushed gateway batch
            for r in readings:
                ts = parse_time(r["ts"])
                assert ts >= last_ts.get(device, ts), f"{device}: a reading older than the last"
                last_ts[device] = ts
    devices = len(links)
    assert devices > 50
    assert {d: v for d, v in links.items() if len(v) > 1} == {}
