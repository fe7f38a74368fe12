"""The simulated grid workers, offline: delays by category and priority, reopenings,
satisfaction, the desk's capacity under a burst, the workers' app, and the month
of a community's closed loop they make (the KPIs the cockpit shows)."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from datetime import UTC, datetime

import orjson

from simulators import wire
from simulators.actions import Publish
from simulators.clock import SimClock
from simulators.community_gen import CommunitySpec, generate_community
from simulators.grid_workers import HOUR, MINUTE, GridWorkers, Job, Step
from simulators.model_view import view_of
from simulators.scenario import FeedOptions, feed
from simulators.worker_desk import WorkerDesk, WorkersApi
from tests.simulators.helpers import run_cli
from twin.incidents.dispatch import AUTO_DISPATCH_DELAY
from twin.incidents.events import EventType, IncidentEvent, Location
from twin.incidents.kpis import incident_kpis
from twin.incidents.record import IncidentRecord, is_overdue
from twin.incidents.replay import trace

# 2026-12-02 10:00 in Hangzhou (UTC+8): the middle of the day shift.
NOON = datetime(2026, 12, 2, 2, 0, tzinfo=UTC).timestamp()
NIGHT = NOON + 13 * HOUR  # 23:00 in Hangzhou


def _job(n: int, category: str, priority: str = "normal", *, at: float = NOON, **kw: object) -> Job:
    fields: dict[str, object] = {"worker": f"w-{n}", "reporter": f"res-{n}"} | kw
    return Job(f"i{n}", category, priority, at, **fields)  # type: ignore[arg-type]


def _first(steps: list[Step], kind: str) -> float:
    return next(s.at for s in steps if s.type == kind)


def _plans(
    category: str, n: int = 400, priority: str = "normal", *, at: float = NOON, **kw: object
) -> list[list[Step]]:
    """``n`` jobs each on a desk of its own: delays without any queue."""
    workers = GridWorkers(seed=7)
    return [workers.plan(_job(i, category, priority, at=at, **kw)) for i in range(n)]


def _median(plans: list[list[Step]], kind: str, since: str | None = None) -> float:
    return statistics.median(_first(p, kind) - (_first(p, since) if since else NOON) for p in plans)


def test_acceptance_is_faster_for_critical_and_urgent_incidents() -> None:
    critical = _median(_plans("fire", priority="critical", reporter=None), "accepted")
    urgent = _median(_plans("elevator"), "accepted")
    ordinary = _median(_plans("noise"), "accepted")
    assert critical < 3 * MINUTE < urgent < ordinary < 12 * MINUTE, (critical, urgent, ordinary)


def test_resolution_time_follows_the_category() -> None:
    parking = _median(_plans("parking"), "resolved", "accepted")
    lighting = _median(_plans("lighting"), "resolved", "accepted")
    facade = _median(_plans("facade"), "resolved", "accepted")
    assert 0.5 * HOUR < parking < 2 * HOUR < lighting < facade < 24 * HOUR, (
        parking,
        lighting,
        facade,
    )
    # Critical ones are resolved within their 2-hour deadline nearly always.
    fires = _plans("fire", priority="critical", reporter=None)
    late = [p for p in fires if _first(p, "resolved") > NOON + 2 * HOUR]
    assert len(late) <= len(fires) * 0.03


def test_ordinary_work_reported_at_night_waits_for_the_morning_shift() -> None:
    plans = _plans("greening", at=NIGHT)
    morning = NOON + 21.5 * HOUR  # 07:30 in Hangzhou the next day
    assert all(_first(p, "resolved") >= morning for p in plans)
    # ...but the on-call worker still answers in time.
    assert _median(plans, "accepted") - 13 * HOUR < 30 * MINUTE


def test_every_plan_ends_closed_with_a_rating_some_reopened_once() -> None:
    resident = _plans("noise", n=3000)
    alarm = _plans("fire", n=3000, priority="critical", reporter=None)
    for plans, share in ((resident, 0.05), (alarm, 0.02)):
        assert all(p[-1].type == "closed" and 1 <= p[-1].fields["satisfaction"] <= 5 for p in plans)
        reopened = sum(1 for p in plans if any(s.type == "reopened" for s in p))
        assert abs(reopened / len(plans) - share) < 0.015, reopened
        assert all(sum(s.type == "reopened" for s in p) <= 1 for p in plans)
        assert all([s.at for s in p] == sorted(s.at for s in p) for p in plans)
    # The resident closes most; silence means the worker's follow-up call does.
    by_resident = sum(1 for p in resident if "reporter" in p[-1].fields)
    assert 0.85 < by_resident / len(resident) < 0.95
    assert all("assignee" in p[-1].fields for p in alarm)
    scores = Counter(p[-1].fields["satisfaction"] for p in resident)
    assert scores[5] > scores[4] > scores[3] > scores[1]


def test_a_burst_queues_at_one_desk_and_the_last_ones_miss_the_respond_deadline() -> None:
    workers = GridWorkers(seed=3)
    burst = [
        workers.plan(_job(i, "garbage", at=NOON + i * 10.0, worker="w-zhang")) for i in range(40)
    ]
    waits = [_first(p, "accepted") - (NOON + i * 10.0) for i, p in enumerate(burst)]
    assert waits[0] < 20 * MINUTE
    late = sum(1 for w in waits if w > 30 * MINUTE)
    assert 3 <= late < 30, waits
    # The same burst spread over many workers: nobody is late.
    spread = GridWorkers(seed=3)
    calm = [spread.plan(_job(i, "garbage", at=NOON + i * 10.0)) for i in range(40)]
    assert all(_first(p, "accepted") - NOON - i * 10.0 < 30 * MINUTE for i, p in enumerate(calm))
    assert workers.desks["w-zhang"].taken == 40


def test_a_critical_incident_is_accepted_at_once_and_holds_up_the_desk() -> None:
    workers = GridWorkers(seed=5)
    fire = workers.plan(_job(1, "fire", "critical", worker="w-li", reporter=None))
    assert _first(fire, "accepted") - NOON < 5 * MINUTE
    # Reported while the worker is on site: accepted only once they are back.
    noise = workers.plan(_job(2, "noise", at=NOON + 3 * MINUTE, worker="w-li"))
    assert _first(noise, "accepted") - _first(fire, "accepted") >= 8 * MINUTE


def test_plans_are_deterministic_and_never_made_twice() -> None:
    a, b = GridWorkers(seed=9), GridWorkers(seed=9)
    assert a.plan(_job(1, "pets")) == b.plan(_job(1, "pets"))
    assert a.plan(_job(1, "pets")) != GridWorkers(seed=10).plan(_job(1, "pets"))
    assert a.knows("i1")
    assert not a.knows("i2")


def test_a_job_continues_from_its_status() -> None:
    workers = GridWorkers(seed=1)
    steps = workers.plan(_job(1, "noise", status="resolved", since=NOON + HOUR))
    assert [s.type for s in steps] in (["closed"], ["reopened", "accepted", "resolved", "closed"])
    assert steps[0].at > NOON + HOUR
    steps = workers.plan(_job(2, "noise", status="reported", worker="w-duty"))
    assert [s.type for s in steps][:3] == ["dispatched", "accepted", "resolved"]
    assert steps[0].fields["assignee"] == "w-duty"


def _item(iid: str, status: str, **kw: object) -> dict[str, object]:
    return {
        "id": iid,
        "status": status,
        "category": "fire",
        "priority": "critical",
        "assignee": "w-zhang",
        "reporter": "device:smoke-b01-0101",
        "reported_at": "2026-12-02T02:00:00Z",
        "dispatched_at": "2026-12-02T02:00:00.001Z",
    } | kw


def test_the_workers_app_plans_what_it_did_not_hear_of_once_as_valid_events() -> None:
    w = wire.Wire("commtwin/v1", "demo")
    workers = GridWorkers(seed=1)
    workers.planned.add("r1-known")
    injected: list[Publish] = []
    desk = WorkerDesk(
        WorkersApi("http://api.invalid", "ctk_x"),
        w,
        workers,
        SimClock(NOON, NOON, 1.0, None),
        injected.extend,
    )
    items = [
        _item("alarm-1", "dispatched"),
        _item("alarm-2", "accepted", accepted_at="2026-12-02T02:03:00Z"),
        _item("r1-known", "dispatched"),
        _item("other-3", "reported", assignee=None, category="noise", priority="normal",
              reporter="res-b01-0101", dispatched_at=None),
    ]  # fmt: skip
    injected.extend(desk.take(items, now=NOON + 60.0))
    assert desk.take(items, now=NOON + 120.0) == []  # never twice
    assert desk.learnt == 3
    by_incident: dict[str, list[dict[str, object]]] = defaultdict(list)
    for p in injected:
        assert p.topic == w.incident(p.topic.split("/")[-2])
        by_incident[p.topic.split("/")[-2]].append(orjson.loads(p.payload))
    assert set(by_incident) == {"alarm-1", "alarm-2", "other-3"}
    assert [e["type"] for e in by_incident["alarm-1"]][:2] == ["accepted", "resolved"]
    assert by_incident["alarm-2"][0]["type"] == "resolved"
    assert by_incident["other-3"][0] == by_incident["other-3"][0] | {
        "type": "dispatched",
        "assignee": "w-duty",
    }
    for events in by_incident.values():
        assert events[-1]["type"] == "closed"
        assert all(wire.parse_time(str(e["ts"])) >= NOON + 60.0 for e in events)
    ids = [e["event_id"] for events in by_incident.values() for e in events]
    assert len(ids) == len(set(ids))


def _records(publishes: list[Publish], community: str) -> list[IncidentRecord]:
    histories: dict[str, list[IncidentEvent]] = defaultdict(list)
    for p in publishes:
        doc = orjson.loads(p.payload)
        loc = doc.get("location")
        iid = p.topic.split("/")[-2]
        histories[iid].append(
            IncidentEvent(community, iid, doc["event_id"], EventType(doc["type"]),
                          datetime.fromisoformat(doc["ts"].replace("Z", "+00:00")),
                          assignee=doc.get("assignee"), category=doc.get("category"),
                          reporter=doc.get("reporter"), satisfaction=doc.get("satisfaction"),
                          location=Location(**loc) if loc else None)
        )  # fmt: skip
    records = []
    for iid, events in histories.items():
        if not any(e.type == EventType.DISPATCHED for e in events):  # the ingestor's part
            worker = next((e.assignee for e in events if e.assignee), "w-grid")
            dispatched = events[0].ts + AUTO_DISPATCH_DELAY
            events.append(IncidentEvent(community, iid, f"auto-dispatch:{iid}",
                                        EventType.DISPATCHED, dispatched, source="auto",
                                        assignee=worker))  # fmt: skip
        replay = trace(events)
        assert replay.skipped == (), (iid, replay.skipped)
        assert replay.record is not None
        records.append(replay.record)
    return records


def test_a_fortnight_of_the_demo_rate_closes_the_loop_with_a_few_overdue() -> None:
    """What the demo's history and workers give the cockpit: ≥ 95 % closed, a few overdue."""
    community = view_of(generate_community(CommunitySpec(seed=1, id="demo")))
    end = NOON + 7 * HOUR
    start = end - 14 * 86400
    opts = FeedOptions(seed=1, incidents_per_day=200, kinds=frozenset(), outages=False)
    actions = feed(community, wire.Wire("commtwin/v1", "demo"), start, end, opts)
    publishes = [a for a in actions if isinstance(a, Publish) and a.category == "incident"]
    records = _records(publishes, "demo")
    as_of = datetime.fromtimestamp(end, UTC)
    k = incident_kpis(records, start=datetime.fromtimestamp(start, UTC), end=as_of, as_of=as_of)[0]
    assert k.reported > 2400
    assert k.closed_loop_rate is not None
    assert k.closed_loop_rate >= 0.95, k
    assert 0 < k.overdue < 0.06 * k.reported, k
    assert k.satisfaction_mean is not None
    assert 4.0 < k.satisfaction_mean < 4.5
    assert 0.03 < (k.reopen_rate or 0) < 0.07
    open_overdue = sum(1 for r in records if is_overdue(r, as_of))
    assert 0 < open_overdue < 20


def test_incident_history_starts_the_residents_reports_before_the_feed() -> None:
    community = view_of(generate_community(CommunitySpec(buildings=2, seed=4, id="h")))
    start = NOON
    opts = FeedOptions(seed=4, incidents_per_day=100, incident_history_s=2 * 86400.0)
    actions = feed(community, wire.Wire("commtwin/v1", "h"), start, start + HOUR, opts)
    publishes = [a for a in actions if isinstance(a, Publish)]
    before = [p for p in publishes if p.at < start]
    assert len({p.topic for p in before}) > 100  # two days of reports
    assert {p.category for p in before} == {"incident"}  # devices start with the feed
    assert [p.at for p in publishes] == sorted(p.at for p in publishes)


def test_the_workers_api_needs_its_key_in_the_environment() -> None:
    out = run_cli("simulate", "run", "--workers-api", "http://127.0.0.1:9", "--duration", "1")
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "commtwin: simulate: --workers-api needs a key in COMMTWIN_SIMULATE_API_KEY"
    )
