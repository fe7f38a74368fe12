"""The district overview under a feed (api/district_view.py): member ETags without
rendering their documents, figures kept per member ETag, one render per window."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import cast

import orjson

from api.district_view import DistrictBoard
from api.live.document import CommunityLive
from api.live.hub import LiveHub
from api.queries.districts import District, Member
from twin.live.state import CommunityLayout, DeviceState, IncidentState, LiveState

T = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)


class Hub:
    def __init__(self, entries: dict[str, CommunityLive]) -> None:
        self.entries = entries

    def held(self, community: str) -> CommunityLive | None:
        return self.entries.get(community)

    async def ensure(self, community: str) -> CommunityLive | None:
        return self.entries.get(community)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def member_state(cid: str) -> CommunityLive:
    layout = CommunityLayout.from_mapping(cid, cid.upper(), {"b1": [1, 2]})
    devices = [DeviceState(f"d{i}", "smoke", "b1", 1, online=True) for i in range(4)]
    late = IncidentState("r1", "dispatched", T, respond_due_at=T + timedelta(minutes=5))
    return CommunityLive(LiveState(layout, devices=devices, incidents=[late], version=5))


def setup() -> tuple[DistrictBoard, District, dict[str, CommunityLive], Clock]:
    entries = {c: member_state(c) for c in ("a", "b")}
    members = tuple(Member(c, c.upper(), "EPSG:32651", (0.0, 0.0, 0.0)) for c in entries)
    clock = Clock()
    board = DistrictBoard(
        cast(LiveHub, Hub(entries)), timezone="UTC", members_ttl_s=5.0, monotonic=clock
    )
    return board, District("d", "D", members), entries, clock


def online(body: bytes, cid: str) -> int:
    rows = orjson.loads(body)["communities"]
    return int(next(r for r in rows if r["id"] == cid)["devices_online"])


def test_a_change_shows_after_the_window_and_the_etag_follows_the_body() -> None:
    board, district, entries, clock = setup()
    held = asyncio.run(board.entries(district))
    first = board.overview(district, held, T)
    assert online(first.document.body, "a") == 4
    assert board.overview(district, held, T) is first  # nothing changed
    entries["a"].apply_device("d0", DeviceState("d0", "smoke", "b1", 1, online=False))
    entries["a"].advance(6, T, changed=True)
    # Within the window the last rendering stands, with its own ETag.
    clock.t = 0.2
    assert board.overview(district, held, T) is first
    clock.t = 0.6
    second = board.overview(district, held, T)
    assert second.etag != first.etag
    assert online(second.document.body, "a") == 3
    assert second.document.etag == second.etag
    assert orjson.loads(second.document.body)["etag"] == second.etag


def test_a_deadline_changes_the_overview_without_rendering_member_documents() -> None:
    board, district, entries, clock = setup()
    held = asyncio.run(board.entries(district))
    first = board.overview(district, held, T)
    assert orjson.loads(first.document.body)["totals"]["incidents_overdue"] == 0
    clock.t = 10.0
    later = board.overview(district, held, T + timedelta(minutes=6))
    assert later.etag != first.etag
    assert orjson.loads(later.document.body)["totals"]["incidents_overdue"] == 2
    # The members' ETags moved on with time; their documents were never rendered.
    assert [e.etag for e in entries.values()] == ['"5.1"', '"5.1"']
    assert all(e._doc is None for e in entries.values())
    # A member's document, rendered now, carries the ETag the overview used.
    assert entries["a"].document(T + timedelta(minutes=6)).etag == '"5.1"'
