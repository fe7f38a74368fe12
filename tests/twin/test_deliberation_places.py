"""Who a table concerns, topics the twin suggests, and action items followed through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from shapely.geometry import box

from twin.deliberation.actions import ActionItem, ActionStatus, action_kpis, advance
from twin.deliberation.concerned import Level, Place, concerned_ids, electorate
from twin.deliberation.homes import DeliberationError, HomeId
from twin.deliberation.suggestions import Incident, SuggestionRule, suggest
from twin.model.community import Building, Community, Grid, Storey, Unit

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def community() -> Community:
    storeys = (Storey(1, 0.0, 3.0), Storey(2, 3.0, 3.0))

    def building(bid: str, x: float, *units: Unit) -> Building:
        return Building(bid, bid, box(x, 0, x + 20, 10), 0.0, 6.0, storeys, units)

    return Community(
        "lanting",
        "兰亭",
        "EPSG:4547",
        buildings=(
            building(
                "b1",
                0,
                Unit("1-101", 1, attributes={"area_m2": "88.5", "stairwell": "1"}),
                Unit("2-101", 1, attributes={"area_m2": 120, "stairwell": "2"}),
                Unit("2-201", 2, footprint=box(10, 0, 20, 9.5), attributes={"stairwell": 2}),
            ),
            building("b2", 30, Unit("101", 1, attributes={"area_m2": 70})),
            building("b3", 100, Unit("101", 1, attributes={"area_m2": 70}), Unit("102", 1)),
        ),
        grids=(
            Grid("g1", "一网格", box(-5, -5, 60, 20)),
            Grid("g2", "二网格", box(90, -5, 130, 20)),
        ),
    )


def ids(found: tuple[HomeId, ...]) -> list[str]:
    return [str(h) for h in found]


def test_each_level_concerns_its_households() -> None:
    c = community()
    assert len(concerned_ids(c, Level.COMMUNITY, Place())) == 6
    assert ids(concerned_ids(c, Level.ESTATE, Place(grid_id="g1"))) == [
        "b1/1-101",
        "b1/2-101",
        "b1/2-201",
        "b2/101",
    ]
    # A public-area point in g2 and a building in g1 name their estates.
    assert ids(concerned_ids(c, Level.ESTATE, Place(x=95, y=0))) == ["b3/101", "b3/102"]
    assert len(concerned_ids(c, Level.ESTATE, Place(building_id="b2"))) == 4
    assert ids(concerned_ids(c, Level.BUILDING, Place(building_id="b1", stairwell="2"))) == [
        "b1/2-101",
        "b1/2-201",
    ]
    assert ids(concerned_ids(c, Level.ONLINE, Place(building_id="b2"))) == ["b2/101"]
    # Units without a stairwell attribute belong to no stairwell, not to one named "None".
    assert concerned_ids(c, Level.BUILDING, Place(building_id="b3", stairwell="None")) == ()
    with pytest.raises(DeliberationError, match="lies in no grid"):
        concerned_ids(c, Level.ESTATE, Place(x=500, y=500))
    with pytest.raises(DeliberationError, match="needs a building"):
        concerned_ids(c, Level.BUILDING, Place(grid_id="g1"))


def test_the_area_attribute_wins_over_the_footprint_and_a_home_without_either_is_refused() -> None:
    c = community()
    homes = {str(h.id): h.area_m2 for h in electorate(c, Level.BUILDING, Place(building_id="b1"))}
    assert homes == {
        "b1/1-101": Fraction(177, 2),
        "b1/2-101": Fraction(120),
        "b1/2-201": Fraction(95),
    }
    with pytest.raises(DeliberationError, match="b3/102 has no floor area"):
        electorate(c, Level.ESTATE, Place(grid_id="g2"))


def parking(
    iid: str, days_ago: float, x: float, grid: str | None = "g1", category: str = "parking"
) -> Incident:
    return Incident(iid, category, NOW - timedelta(days=days_ago), None, grid, x, 0.0)


def test_recurring_incidents_in_one_place_and_window_become_a_suggestion() -> None:
    seen = [
        *(parking(f"p{n}", n * 5, 10 + n) for n in range(5)),  # days 0..20, one public spot in g1
        parking("old", 31, 12),  # outside the 30-day window
        parking("far", 1, 500, grid="g9"),  # another place
        parking("noise", 1, 11, category="noise"),  # another category
    ]
    [s] = suggest(seen, NOW)
    assert s.category == "parking"
    assert s.incident_ids == ("p0", "p1", "p2", "p3", "p4")
    assert [str(p) for p in s.places] == ["grid:g1", "point:12.0,0.0"]
    assert (s.first_at, s.last_at) == (NOW - timedelta(days=20), NOW)
    assert s.grid_id == "g1"
    assert s.building_id is None
    # Four in the window are not enough; a threshold of 4 makes them so.
    assert suggest([i for i in seen if i.id != "p4"], NOW) == []
    assert len(suggest([i for i in seen if i.id != "p4"], NOW, SuggestionRule(threshold=4))) == 1
    # A shorter window leaves p4 (20 days ago) out.
    assert suggest(seen, NOW, SuggestionRule(window=timedelta(days=15))) == []


def test_overlapping_suggestions_merge() -> None:
    in_b1 = [
        Incident(f"n{n}", "noise", NOW - timedelta(days=n), "b1", "g1", 5.0, 5.0) for n in range(5)
    ]
    in_b2 = [Incident("n9", "noise", NOW, "b2", "g1", 35.0, 5.0)]
    other = [Incident(f"w{n}", "water", NOW, "b1", "g1", 5.0, 5.0) for n in range(5)]
    found = suggest([*in_b1, *in_b2, *other], NOW)
    # building:b1 (5 noise) and grid:g1 (6 noise) share five incidents: one suggestion.
    noise = [s for s in found if s.category == "noise"]
    assert len(noise) == 1
    assert [str(p) for p in noise[0].places] == ["building:b1", "grid:g1"]
    assert noise[0].incident_ids == ("n0", "n1", "n2", "n3", "n4", "n9")
    # Another category in the same place stays its own suggestion.
    assert [s.category for s in found] == ["noise", "water"]
    # Two public-area clusters 40 m apart stay apart until an incident links them.
    left = [parking(f"l{n}", 1, float(n)) for n in range(5)]
    right = [parking(f"r{n}", 1, 40.0 + n) for n in range(5)]
    spots = suggest([*left, *right], NOW, SuggestionRule(radius_m=10))
    assert len(spots) == 1  # both lie in g1: the grid's suggestion holds both clusters
    assert {str(p) for p in spots[0].places} == {"grid:g1", "point:2.0,0.0", "point:42.0,0.0"}
    ungridded = [parking(i.id, 1, i.x or 0, grid=None) for i in [*left, *right]]
    assert len(suggest(ungridded, NOW, SuggestionRule(radius_m=10))) == 2
    link = parking("link", 1, 22.0, grid=None)
    [joined] = suggest([*ungridded, link], NOW, SuggestionRule(radius_m=20))
    assert len(joined.incident_ids) == 11


def test_action_items_are_tracked_like_incidents() -> None:
    due = NOW + timedelta(days=7)
    a = ActionItem(1, "划线", due, owner_role="property")
    b = ActionItem(2, "装道闸", NOW + timedelta(days=1), owner_account=5)
    c = ActionItem(3, "取消的", due, owner_role="office")
    a = advance(
        advance(a, ActionStatus.IN_PROGRESS, NOW), ActionStatus.DONE, NOW + timedelta(days=8)
    )
    c = advance(c, ActionStatus.CANCELLED, NOW)
    k = action_kpis([a, b, c], now=NOW + timedelta(days=2))
    assert (k.total, k.open, k.done, k.cancelled, k.overdue, k.done_late) == (3, 1, 1, 1, 1, 1)
    assert k.closed_loop_rate == 0.5
    with pytest.raises(DeliberationError, match="cannot go from cancelled"):
        advance(c, ActionStatus.DONE, NOW)
    with pytest.raises(DeliberationError, match="a role or a person"):
        ActionItem(4, "x", due)
    with pytest.raises(DeliberationError, match="owner role must be one of"):
        ActionItem(4, "x", due, owner_role="mayor")
