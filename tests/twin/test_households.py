"""Households' care attributes: model file, export, database round trip, clear errors."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.community_store import export_community, import_community, load_community
from tests.twin.test_community_file import LANTING
from twin.community.export import community_to_json
from twin.community.file import community_from_json
from twin.errors import ModelError
from twin.model.households import AGE_BANDS, Household, household_from_json, household_to_json

Conn = psycopg.Connection[tuple[object, ...]]


def with_households(**by_unit: dict[str, Any]) -> dict[str, Any]:
    data = copy.deepcopy(LANTING)
    data["id"] = f"h-{uuid.uuid4().hex[:10]}"
    for unit in data["buildings"][0]["units"]:
        if unit["id"] in by_unit:
            unit["household"] = by_unit[unit["id"]]
    return data


def homes(data: dict[str, Any]) -> dict[str, Household | None]:
    [b] = community_from_json(data).buildings
    return {u.id: u.household for u in b.units}


def test_model_file_reads_households_and_defaults() -> None:
    data = with_households(**{"1-101": {"living_alone": True, "age_band": "80+", "care_level": 3}})
    data["buildings"][0]["units"][1]["household"] = {}
    got = homes(data)
    assert got["1-101"] == Household(True, "80+", 3)
    assert got["1-301"] == Household(False, None, 0)
    assert got["1-301"] is not None
    assert not got["1-301"].is_care_home
    assert homes(copy.deepcopy(LANTING))["1-101"] is None


@pytest.mark.parametrize(
    ("household", "message"),
    [
        ({"living_alone": "yes"}, "unit 1-101 of building b01: household living_alone must be"),
        ({"care_level": 5}, "household care_level must be an integer 0-4, got 5"),
        ({"care_level": True}, "household care_level must be an integer 0-4, got True"),
        ({"age_band": 82}, "household age_band must be one of <60, 60-69, 70-79, 80+, got 82"),
        ({"alone": True}, "household has unknown key 'alone'"),
        ([True], "household must be an object, got list"),
    ],
)
def test_bad_household_is_a_clear_model_error(household: Any, message: str) -> None:
    with pytest.raises(ModelError, match=message.replace("+", r"\+")):
        community_from_json(with_households(**{"1-101": household}))


def test_who_the_care_rules_watch() -> None:
    assert Household(True, "60-69").needs_daily_check
    assert Household(True, "<60", care_level=2).needs_daily_check  # impaired, not old
    assert not Household(True, "<60").is_care_home  # a young single: not watched
    assert not Household(False, "80+").needs_daily_check  # lives with family
    assert Household(False, "80+").is_care_home  # but its baseline is watched


@given(
    alone=st.booleans(),
    band=st.sampled_from((None, *AGE_BANDS)),
    level=st.integers(0, 4),
)
def test_json_round_trip(alone: bool, band: str | None, level: int) -> None:
    h = Household(alone, band, level)
    assert household_from_json(household_to_json(h), "unit x") == h


def test_export_and_database_round_trip(conn: Conn) -> None:
    data = with_households(
        **{
            "1-101": {"living_alone": True, "age_band": "70-79", "care_level": 1},
            "1-301": {"age_band": "<60"},
        }
    )
    community = community_from_json(data)
    assert community_from_json(community_to_json(community)) == community
    import_community(conn, community)
    assert load_community(conn, community.id) == community
    assert export_community(conn, community.id) == community_to_json(community)
    rows = conn.execute(
        "SELECT id, living_alone, age_band, care_level FROM units"
        " WHERE community_id = %s ORDER BY id",
        (community.id,),
    ).fetchall()
    assert rows == [("1-101", True, "70-79", 1), ("1-301", False, "<60", 0)]
    # Re-import with the household changed: an update in place, read back equal.
    data["buildings"][0]["units"][0]["household"]["living_alone"] = False
    changed = community_from_json(data)
    report = import_community(conn, changed)
    assert len(report.changes["units"].updated) == 1
    assert load_community(conn, community.id) == changed


def test_database_refuses_half_a_household(conn: Conn) -> None:
    community = community_from_json(with_households())
    import_community(conn, community)
    with pytest.raises(psycopg.errors.CheckViolation):
        conn.execute("UPDATE units SET age_band = '80+' WHERE community_id = %s", (community.id,))
