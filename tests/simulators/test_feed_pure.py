"""The realistic feed without a broker: deterministic, valid on the wire, plausible.

Messages are checked with the ingestor's own parser and incident histories
with the twin's state machine, so the simulator cannot drift from the
contract its consumers enforce.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.messages import Rejected, Telemetry
from ingest.parse import parse
from simulators import climate
from simulators.actions import Action, BadSlot, Link, Publish
from simulators.clock import plan_clock
from simulators.community_gen import CommunitySpec, generate_community
from simulators.model_view import SimCommunity, view_of
from simulators.scenario import FeedOptions, feed
from simulators.wire import Wire, parse_time
from tests.simulators.helpers import ingest_refuses_satisfaction
from twin.incidents.dispatch import AUTO_DISPATCH_DELAY
from twin.incidents.events import EventType, IncidentEvent, Location
from twin.incidents.replay import trace
from twin.model.kinds import KINDS

ROOT = "commtwin/v1"
START = 1_795_000_000.0  # 2026-11-18 17:46 UTC
HOURS = 30.0


@pytest.fixture(scope="module")
def community() -> SimCommunity:
    return view_of(generate_community(CommunitySpec(buildings=3, seed=2)))


@pytest.fixture(scope="module")
def actions(community: SimCommunity) -> list[Action]:
    opts = FeedOptions(seed=5, event_rate=40.0, incidents_per_day=60.0)
    return list(feed(community, Wire(ROOT, community.id), START, START + HOURS * 3600, opts))


def _publishes(actions: list[Action]) -> list[Publish]:
    return [a for a in actions if isinstance(a, Publish)]


def test_same_seed_and_start_give_the_same_feed(community: SimCommunity) -> None:
    def run(seed: int) -> list[Action]:
        opts = FeedOptions(seed=seed, event_rate=10.0)
        return list(feed(community, Wire(ROOT, community.id), START, START + 3 * 3600, opts))

    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert first != other


def test_actions_come_in_time_order_within_the_run(actions: list[Action]) -> None:
    times = [a.at for a in actions]
    assert times == sorted(times)
    assert times[0] >= START
    assert times[-1] < START + HOURS * 3600 + 1


def test_every_message_is_valid_on_the_wire(actions: list[Action]) -> None:
    if (why := ingest_refuses_satisfaction()) is not None:
        pytest.skip(why)
    rejected = []
    for p in _publishes(actions):
        parsed = parse(p.topic, p.payload, round((p.at + 1) * 1_000_000), ROOT)
        if isinstance(parsed, Rejected):
            rejected.append((p.topic, parsed.reason, parsed.detail))
    assert rejected == []


def test_every_message_but_satisfaction_is_valid_on_the_wire(actions: list[Action]) -> None:
    rejected = []
    for p in _publishes(actions):
        payload = p.payload
        if p.category == "incident" and b'"satisfaction"' in payload:
            doc = orjson.loads(payload)
            assert doc["type"] == "closed"
            assert 1 <= doc.pop("satisfaction") <= 5
            payload = orjson.dumps(doc)
        parsed = parse(p.topic, payload, round((p.at + 1) * 1_000_000), ROOT)
        if isinstance(parsed, Rejected):
            rejected.append((p.topic, parsed.reason, parsed.detail))
    assert rejected == []


def test_every_device_kind_reports_its_metrics(actions: list[Action]) -> None:
    seen: dict[str, set[str]] = defaultdict(set)
    for p in _publishes(actions):
        if p.category != "telemetry":
            continue
        parsed = parse(p.topic, p.payload, round((p.at + 1) * 1e6), ROOT)
        assert isinstance(parsed, Telemetry)
        for r in parsed.readings:
            seen[parsed.device].update(r.metrics)
    prefixes = {"smoke": "smoke", "leak": "water_leak", "gas": "gas", "lift": "elevator",
                "door": "door", "gate": "door", "env": "env", "aq": "air_quality",
                "pm": "power_meter", "wear": "wearable", "parking": "parking",
                "pv": "pv_inverter", "ev": "ev_charger", "vgate": "gate",
                "wm": "water_meter", "hm": "home_meter", "motion": "motion"}  # fmt: skip
    by_kind: dict[str, set[str]] = defaultdict(set)
    for device, metrics in seen.items():
        by_kind[prefixes[device.split("-")[0]]] |= metrics
    assert {k: set(KINDS[k].metric_names) for k in KINDS} == dict(by_kind)


def test_rare_events_happen_at_a_raised_event_rate(community: SimCommunity) -> None:
    opts = FeedOptions(seed=3, event_rate=400.0, incidents_per_day=0, outages=False, offline=False)
    actions = list(feed(community, Wire(ROOT, community.id), START, START + 12 * 3600, opts))
    values: Counter[str] = Counter()
    gas: list[float] = []
    for p in _publishes(actions):
        for reading in _readings(p) if p.category == "telemetry" else []:
            for name, v in reading["values"].items():
                values[name] += v is True
            if "/gas-" in p.topic:
                gas.append(reading["values"]["gas_lel"])
    for alarm in ("smoke", "leak", "fault", "open", "fall", "sos"):
        assert values[alarm] > 0, alarm
    assert max(gas) > 10
    assert sorted(gas)[len(gas) // 2] < 2


def _readings(p: Publish) -> list[dict[str, Any]]:
    doc = orjson.loads(p.payload)
    return doc if isinstance(doc, list) else [doc]


def test_gateways_drop_with_a_will_and_flush_batches(actions: list[Action]) -> None:
    links = [a for a in actions if isinstance(a, Link)]
    downs = [a for a in links if not a.up]
    assert downs, "no gateway outage in 30 h at event rate 40"
    batches = [p for p in _publishes(actions) if p.payload.startswith(b"[")]
    assert batches
    for b in batches:
        readings = _readings(b)
        assert 1 <= len(readings) <= 1000
        assert b.readings == len(readings)
        # Held back readings were taken during the outage, before the flush.
        assert all(parse_time(r["ts"]) <= b.at for r in readings)
    # Each gateway's links alternate down, up.
    for via, group in itertools.groupby(
        sorted(links, key=lambda a: (a.via, a.at)), lambda a: a.via
    ):
        states = [a.up for a in group]
        assert states[::2] == [False] * len(states[::2]), via
        assert states[1::2] == [True] * len(states[1::2]), via


def test_devices_go_offline_and_back_with_retained_status(actions: list[Action]) -> None:
    statuses = [p for p in _publishes(actions) if p.category == "status"]
    assert all(p.retain for p in statuses)
    offline = [p for p in statuses if b'"online":false' in p.payload]
    assert offline
    assert all(b'"ts"' in p.payload for p in offline)


def _event(community: str, p: Publish) -> IncidentEvent:
    doc = orjson.loads(p.payload)
    loc = doc.get("location")
    return IncidentEvent(
        community,
        p.topic.split("/")[-2],
        doc["event_id"],
        EventType(doc["type"]),
        datetime.fromisoformat(doc["ts"].replace("Z", "+00:00")),
        assignee=doc.get("assignee"),
        category=doc.get("category"),
        note=doc.get("note"),
        satisfaction=doc.get("satisfaction"),
        location=Location(**loc) if loc else None,
    )


def test_incident_lifecycles_are_valid_for_the_state_machine(
    actions: list[Action], community: SimCommunity
) -> None:
    histories: dict[str, list[IncidentEvent]] = defaultdict(list)
    for p in _publishes(actions):
        if p.category == "incident":
            e = _event(community.id, p)
            histories[e.incident_id].append(e)
    assert len(histories) >= 30
    final: Counter[str] = Counter()
    for iid, events in histories.items():
        reported = events[0]
        assert reported.type == EventType.REPORTED
        if not any(e.type == EventType.DISPATCHED for e in events):
            # What the ingestor's auto-dispatch adds: the grid worker, 1 ms later.
            worker = next((e.assignee for e in events if e.assignee), "w-grid")
            events.append(
                IncidentEvent(community.id, iid, f"auto-dispatch:{iid}", EventType.DISPATCHED,
                              reported.ts + AUTO_DISPATCH_DELAY, source="auto", assignee=worker)
            )  # fmt: skip
        replay = trace(events)
        assert replay.skipped == (), (iid, replay.skipped)
        assert replay.record is not None
        final[replay.record.status.value] += 1
        if replay.record.status.value == "closed":
            assert 1 <= (replay.record.satisfaction or 0) <= 5
    assert final["closed"] >= len(histories) // 2
    assert set(final) <= {"closed", "cancelled", "resolved", "accepted", "dispatched"}


def test_incident_workers_are_the_grid_workers(
    actions: list[Action], community: SimCommunity
) -> None:
    workers = {g.worker for g in community.grids}
    for p in _publishes(actions):
        doc = orjson.loads(p.payload) if p.category == "incident" else {}
        if doc.get("type") == "accepted":
            assert doc["assignee"] in workers


def test_wearables_walk_to_the_canteen(actions: list[Action], community: SimCommunity) -> None:
    c = community.canteen
    near = 0
    for p in _publishes(actions):
        if "/wear-" in p.topic and p.category == "telemetry":
            for r in _readings(p):
                pos = r["pos"]
                near += abs(pos["x"] - c.x) < 15 and abs(pos["y"] - c.y) < 15
    assert near > 0


def test_diurnal_curves_peak_at_plausible_hours() -> None:
    day = 1_795_000_000.0 - climate.local_hour(1_795_000_000.0) * 3600  # local midnight
    temps = [climate.outdoor_temperature(day + h * 3600) for h in range(24)]
    assert 13 <= temps.index(max(temps)) <= 16
    assert temps.index(min(temps)) in (1, 2, 3, 4)
    power = [climate.household_power_kw(day + h * 3600) for h in range(24)]
    assert 18 <= power.index(max(power)) <= 21
    assert climate.parking_occupancy(day + 3 * 3600) > climate.parking_occupancy(day + 13 * 3600)


def test_bad_mix_is_about_the_asked_fraction(community: SimCommunity) -> None:
    opts = FeedOptions(seed=1, bad_fraction=0.1)
    actions = list(feed(community, Wire(ROOT, community.id), START, START + 2 * 3600, opts))
    bad = sum(isinstance(a, BadSlot) for a in actions)
    assert 0.08 < bad / len(actions) < 0.12


@given(
    speed=st.floats(0.1, 1e5),
    duration=st.floats(1.0, 1e5) | st.none(),
    offsets=st.lists(st.floats(0.0, 2e5), min_size=1, max_size=20),
)
def test_simulated_time_never_passes_real_time(
    speed: float, duration: float | None, offsets: list[float]
) -> None:
    now = 1_800_000_000.0
    clock = plan_clock(now, speed, duration)
    for off in sorted(offsets):
        real = now + off
        assert clock.sim_at(real) <= real
        assert clock.real_at(clock.sim_at(real)) <= real + 1e-3
    if duration is not None:
        # Sped up, the run ends at "now"; slowed down, it covers duration x speed.
        expected = now + duration * min(speed, 1.0)
        assert clock.sim_end is not None
        assert abs(clock.sim_end - expected) < 1e-3 * max(1.0, speed)


def test_timestamps_follow_simulated_time(actions: list[Action]) -> None:
    for p in _publishes(actions)[:2000]:
        for r in _readings(p) if p.category == "telemetry" else []:
            ts = parse_time(r["ts"])
            assert ts <= p.at + 1e-3
            assert p.at - ts < timedelta(hours=1).total_seconds()


def test_utc_offset_is_hangzhou() -> None:
    noon_local = datetime(2026, 7, 14, 4, 0, tzinfo=UTC).timestamp()
    assert climate.local_hour(noon_local) == 12.0
