"""The pure live document: versions and revisions, time-driven re-rendering, closed-loop
rates against twin.incidents.kpis, If-None-Match matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from api.live.answer import etag_matches
from api.live.document import (
    CommunityLive,
    RecentIncident,
    closed_loop,
    day_start_in,
)
from twin.incidents.kpis import incident_kpis
from twin.incidents.replay import EventType, IncidentEvent, replay
from twin.live.state import AlarmState, CommunityLayout, DeviceState, IncidentState, LiveState

T = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
LAYOUT = CommunityLayout.from_mapping("c", "C", {"b1": [1, 2]})


def community(**kw: object) -> CommunityLive:
    return CommunityLive(LiveState(LAYOUT, version=10), **kw)  # type: ignore[arg-type]


def test_changes_advance_the_version_and_late_ones_the_revision() -> None:
    live = community()
    assert live.document(T).etag == '"10"'
    changed = live.apply_device("d1", DeviceState("d1", "smoke", "b1", 1, online=True))
    live.advance(12, T, changed=changed)
    doc = live.document(T)
    assert (doc.etag, doc.version) == ('"12"', 12)
    assert orjson.loads(doc.body)["kpis"]["devices_total"] == 1
    # The same row again changes nothing: same document, same bytes.
    assert not live.apply_device("d1", DeviceState("d1", "smoke", "b1", 1, online=True))
    live.advance(11, T, changed=False)
    assert live.document(T) is doc
    # A change with a smaller sequence (committed late) changes the ETag, not the version.
    alarm = AlarmState(5, "d1", "smoke", "smoke", "critical", "active_unack", T, building="b1")
    live.advance(11, T, changed=live.apply_alarm(5, alarm))
    late = live.document(T)
    assert (late.etag, late.version) == ('"12.1"', 12)
    assert orjson.loads(late.body)["kpis"]["alarms_active"]["critical"] == 1
    # Clearing removes it; a missing row too.
    cleared = AlarmState(5, "d1", "smoke", "smoke", "critical", "cleared", T)
    assert live.apply_alarm(5, cleared)
    assert not live.apply_alarm(5, None)
    live.advance(13, T, changed=True)
    assert live.document(T).etag == '"13"'


def test_the_document_changes_when_a_deadline_passes_and_at_midnight() -> None:
    due = T + timedelta(minutes=30)
    inc = IncidentState(
        "r1", "dispatched", T, respond_due_at=due, resolve_due_at=T + timedelta(days=2)
    )
    live = CommunityLive(
        LiveState(LAYOUT, incidents=[inc], version=3),
        recent={
            "r1": RecentIncident(T, "dispatched"),
            "r0": RecentIncident(T - timedelta(hours=19), "closed"),
        },
        day_start=day_start_in("Asia/Shanghai"),  # midnight there is 16:00 UTC
    )
    first = live.document(T)
    body = orjson.loads(first.body)
    assert body["kpis"]["closed_loop_rate_today"] == 0.0  # r0 was reported yesterday there
    assert body["kpis"]["closed_loop_rate_30d"] == 0.5
    assert live.document(due) is first
    overdue = live.document(due + timedelta(seconds=1))
    assert overdue.etag == '"3.1"'
    assert orjson.loads(overdue.body)["incidents"][0]["overdue"] is True
    assert live.document(T + timedelta(hours=5, minutes=59)) is overdue
    midnight = live.document(T + timedelta(hours=6))  # 00:00 in Shanghai
    assert midnight.etag == '"3.2"'
    assert orjson.loads(midnight.body)["kpis"]["closed_loop_rate_today"] is None
    # 30 days after r0, it leaves the window.
    gone = live.document(T - timedelta(hours=19) + timedelta(days=30, seconds=1))
    assert orjson.loads(gone.body)["kpis"]["closed_loop_rate_30d"] == 0.0
    assert "r0" not in live.recent


def test_incidents_leave_the_live_state_when_closed_but_stay_in_the_rates() -> None:
    live = community()
    open_ = IncidentState("r1", "accepted", T)
    assert live.apply_incident("r1", open_, RecentIncident(T, "accepted"))
    assert not live.apply_incident("r1", open_, RecentIncident(T, "accepted"))
    done = IncidentState("r1", "closed", T)
    assert live.apply_incident("r1", done, RecentIncident(T, "closed"))
    live.advance(11, T, changed=True)
    body = orjson.loads(live.document(T + timedelta(minutes=1)).body)
    assert (body["incidents"], body["kpis"]["closed_loop_rate"]) == ([], 1.0)


def test_if_none_match() -> None:
    assert etag_matches('"7"', '"7"')
    assert etag_matches(' "1" ,W/"7"', '"7"')
    assert etag_matches("*", '"7"')
    assert not etag_matches('"7"', '"7.1"')
    assert not etag_matches('"77"', '"7"')
    assert not etag_matches("", '"7"')


STATUS_EVENTS = {
    "reported": [],
    "dispatched": [EventType.DISPATCHED],
    "accepted": [EventType.DISPATCHED, EventType.ACCEPTED],
    "resolved": [EventType.DISPATCHED, EventType.ACCEPTED, EventType.RESOLVED],
    "closed": [EventType.DISPATCHED, EventType.ACCEPTED, EventType.RESOLVED, EventType.CLOSED],
    "cancelled": [EventType.CANCELLED],
}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 40 * 24), st.sampled_from(sorted(STATUS_EVENTS))),
        max_size=25,
    )
)
def test_closed_loop_rates_agree_with_the_incident_kpis(rows: list[tuple[int, str]]) -> None:
    now = T
    records = []
    for n, (hours_ago, status) in enumerate(rows):
        at = now - timedelta(hours=hours_ago)
        steps = [EventType.REPORTED, *STATUS_EVENTS[status]]
        events = [
            IncidentEvent("c", f"i{n}", f"e{k}", t, at + timedelta(seconds=k), assignee="w")
            for k, t in enumerate(steps)
        ]
        record = replay(events)
        assert record is not None
        assert record.status == status
        records.append(record)
    recent = {r.id: RecentIncident(r.reported_at, r.status.value) for r in records}
    day = now.replace(hour=0)
    got = closed_loop(recent, now, day)
    window = incident_kpis(
        records, start=now - timedelta(days=30), end=now + timedelta(seconds=1), as_of=now
    )
    today = incident_kpis(records, start=day, end=now + timedelta(seconds=1), as_of=now)
    assert got.rate_30d == window[0].closed_loop_rate
    assert got.rate == window[0].closed_loop_rate
    assert got.rate_today == today[0].closed_loop_rate
