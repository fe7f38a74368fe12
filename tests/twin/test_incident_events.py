"""Event validation: a malformed event fails when built, with the field in the message."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.twin.incident_builders import T0, T, ev
from twin.incidents.events import (
    WIRE_EVENT_TYPES,
    EventType,
    IncidentError,
    IncidentEvent,
    InvalidEventError,
    InvalidTransitionError,
    Location,
    NotReportedError,
    SlaConfigError,
    parse_event_type,
)


def test_wire_types_are_exactly_the_contracts() -> None:
    assert [t.value for t in WIRE_EVENT_TYPES] == [
        "reported",
        "dispatched",
        "accepted",
        "resolved",
        "closed",
        "reopened",
        "cancelled",
        "escalated",
        "noted",
    ]
    assert set(WIRE_EVENT_TYPES) == set(EventType)


def test_exception_tree() -> None:
    for cls in (InvalidEventError, InvalidTransitionError, NotReportedError, SlaConfigError):
        assert issubclass(cls, IncidentError)
    assert issubclass(IncidentError, ValueError)


@pytest.mark.parametrize("value", ["closed", "reopened", "escalated"])
def test_parse_event_type_accepts_known_names(value: str) -> None:
    assert parse_event_type(value) == value


@pytest.mark.parametrize("value", ["Closed", "", None, 3, "close"])
def test_parse_event_type_names_the_bad_value(value: object) -> None:
    with pytest.raises(InvalidEventError, match=r"unknown incident event type .*known: reported"):
        parse_event_type(value)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"satisfaction": 3, "type": T.RESOLVED}, "satisfaction is only allowed on 'closed'"),
        ({"satisfaction": 0, "type": T.CLOSED}, "satisfaction must be an integer from 1 to 5"),
        ({"satisfaction": 6, "type": T.CLOSED}, "satisfaction must be an integer from 1 to 5"),
        ({"satisfaction": True, "type": T.CLOSED}, "satisfaction must be an integer"),
        ({"satisfaction": 4.5, "type": T.CLOSED}, "satisfaction must be an integer"),
        ({"satisfaction": 3.0, "type": T.CLOSED}, "satisfaction must be an integer"),
        ({"alarm_id": 3, "type": T.ACCEPTED}, "alarm_id is only allowed on 'reported'"),
        ({"alarm_id": "17"}, "alarm_id must be an integer"),
        ({"type": T.ESCALATED, "source": "auto"}, "'escalated' event needs stage respond or"),
        ({"type": T.ESCALATED, "source": "auto", "stage": "close"}, "needs stage respond or"),
        ({"type": T.ESCALATED, "stage": "respond"}, "a person's 'escalated' event has stage"),
        ({"type": T.ESCALATED, "source": "auto", "stage": "manual"}, "needs stage respond or"),
        ({"type": T.NOTED}, "a 'noted' event needs a note"),
        ({"type": T.NOTED, "note": "  "}, "a 'noted' event needs a note"),
        ({"stage": "respond"}, "stage is only allowed on 'escalated'"),
        ({"source": "email"}, "source must be one of mqtt, api, auto"),
        ({"priority": "urgent"}, "priority must be one of low, normal, high, critical"),
        ({"assignee": 5}, "assignee must be a string"),
        ({"note": "x" * 10_001}, "note is longer than 10000 characters"),
        ({"event_id": ""}, "event_id must be 1 to 200 characters"),
        ({"event_id": "e" * 201}, "event_id must be 1 to 200 characters"),
        ({"incident_id": "-bad"}, "malformed incident id '-bad'"),
        ({"incident_id": "a/b"}, "malformed incident id"),
        ({"community_id": "Lanting"}, "malformed community id 'Lanting'"),
        ({"ts": datetime(2026, 1, 1)}, "ts must be a timezone-aware datetime"),
        ({"type": "closed"}, "type must be an EventType"),
    ],
)
def test_malformed_events_say_why(fields: dict[str, Any], message: str) -> None:
    base: dict[str, Any] = {
        "community_id": "lanting",
        "incident_id": "r-1",
        "event_id": "e1",
        "type": T.REPORTED,
        "ts": T0,
    }
    base.update(fields)
    with pytest.raises(InvalidEventError, match=message):
        IncidentEvent(**base)


def test_blank_texts_count_as_absent() -> None:
    e = ev("e1", T.REPORTED, 0, title="  ", note="", assignee="w-1")
    assert (e.title, e.note, e.assignee) == (None, None, "w-1")


def test_well_formed_events_build() -> None:
    tz8 = timezone(timedelta(hours=8))
    e = ev(
        "e9",
        T.CLOSED,
        0,
        satisfaction=1,
        source="api",
        actor="resident-1",
        incident="alarm-17:x.y",
    )
    assert e.satisfaction == 1
    assert IncidentEvent(
        "c-1", "r", "e", T.ESCALATED, datetime(2026, 1, 1, tzinfo=tz8), "auto", stage="resolve"
    )
    assert ev("e1", T.REPORTED, 0, priority="critical", alarm_id=17).alarm_id == 17


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"storey": 3}, "storey and unit need a building"),
        ({"unit": "1-301"}, "storey and unit need a building"),
        ({"x": 1.0}, "x and y go together"),
        ({"z": 1.0}, "z needs x and y"),
        ({"x": float("nan"), "y": 0.0}, "x must be a finite number"),
        ({"x": 0.0, "y": float("inf")}, "y must be a finite number"),
        ({"building": "b01", "storey": 0}, "storey must be a non-zero integer"),
        ({"building": "b01", "storey": 1.5}, "storey must be a non-zero integer"),
        ({"x": "1", "y": 0.0}, "x must be a finite number"),
        ({"building": ""}, "building must be a non-empty string"),
        ({"grid": 7}, "grid must be a non-empty string"),
    ],
)
def test_malformed_locations_say_why(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidEventError, match=message):
        Location(**fields)


def test_location_fields_use_incident_column_names() -> None:
    e = ev("e1", T.REPORTED, 0, location=Location(building="b01", storey=-1, grid="g1"))
    assert e.location_fields == {
        "building_id": "b01",
        "storey_idx": -1,
        "unit_id": None,
        "grid_id": "g1",
        "x": None,
        "y": None,
        "z": None,
    }
    assert ev("e1", T.REPORTED, 0).location_fields == {}
