"""The live states need no garbage collector (api/live/heap.py freezes them on that basis)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from api.live.document import CommunityLive, RecentIncident
from api.live.heap import freeze_built, freeze_survivors
from twin.live.state import AlarmState, CommunityLayout, DeviceState, IncidentState, LiveState

T = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


def community() -> CommunityLive:
    layout = CommunityLayout.from_mapping("c", "C", {"b1": [1, 2, 3], "b2": [-1, 1]})
    devices = [
        DeviceState(f"d{i}", "smoke", "b1" if i % 2 else "b2", 1, online=i % 3 > 0)
        for i in range(50)
    ]
    alarm = AlarmState(1, "d1", "smoke", "smoke", "critical", "active_unack", T, building="b1")
    late = IncidentState("r1", "dispatched", T, respond_due_at=T + timedelta(minutes=5))
    state = LiveState(layout, devices=devices, alarms=[alarm], incidents=[late], version=3)
    return CommunityLive(state, recent={"r1": RecentIncident(T, "dispatched")})


@pytest.fixture
def collector_off() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


@pytest.mark.usefixtures("collector_off")
def test_a_state_is_freed_without_the_collector() -> None:
    live = community()
    live.document(T)
    live.apply_device("d1", DeviceState("d1", "smoke", "b1", 2, online=False))
    live.advance(4, T, changed=True)
    live.document(T + timedelta(minutes=6))  # rendered again, the incident overdue
    state, doc = weakref.ref(live.state), live.document(T + timedelta(minutes=6))
    assert b'"incidents_overdue":1' in doc.body
    held = weakref.ref(live)
    del live
    # Reference counting alone freed it: no cycle would keep a frozen state alive.
    assert held() is None
    assert state() is None
    assert gc.collect() == 0


def test_freezing_moves_objects_out_of_the_collector() -> None:
    try:
        live = community()
        freeze_built()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert gc.is_tracked(live.state)
        live.document(T)  # new objects, not frozen yet
        freeze_survivors()
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
