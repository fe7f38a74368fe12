"""The incident event wire additions (``satisfaction``, ``priority``): the parser and
the JSON Schema agree, on chosen cases and on generated ones."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.messages import IncidentEvent, Rejected
from ingest.parse import parse
from schemas.mqtt_contract import schema_for_topic_kind

TOPIC = "commtwin/v1/lanting/incidents/r-1/events"
NOW = 1_800_000_000_000_000
SCHEMA = jsonschema.Draft202012Validator(schema_for_topic_kind("events"))


@pytest.mark.parametrize(
    ("doc", "expected"),
    [
        ({"event_id": "e", "type": "closed", "satisfaction": 5}, (5, None)),
        ({"event_id": "e", "type": "closed", "satisfaction": 1.0}, (1, None)),
        ({"event_id": "e", "type": "reported", "priority": "critical"}, (None, "critical")),
        ({"event_id": "e", "type": "closed", "satisfaction": 0}, "satisfaction must be"),
        ({"event_id": "e", "type": "closed", "satisfaction": True}, "satisfaction must be"),
        ({"event_id": "e", "type": "closed", "satisfaction": 4.5}, "satisfaction must be"),
        ({"event_id": "e", "type": "accepted", "satisfaction": 4}, "only allowed on 'closed'"),
        ({"event_id": "e", "type": "reported", "priority": "urgent"}, "priority must be"),
        ({"event_id": "e", "type": "reported", "priority": None}, "priority must be"),
    ],
)
def test_satisfaction_and_priority(doc: dict[str, Any], expected: object) -> None:
    result = parse(TOPIC, json.dumps(doc).encode(), NOW)
    assert SCHEMA.is_valid(doc) == (not isinstance(expected, str))
    if isinstance(expected, str):
        assert isinstance(result, Rejected)
        assert (result.reason, expected in result.detail) == ("schema", True), result
    else:
        assert isinstance(result, IncidentEvent)
        assert (result.satisfaction, result.priority) == expected


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 8),
    st.floats(0, 6, allow_nan=False),
    st.sampled_from(["low", "normal", "high", "critical", "urgent", "5", "manual", "respond"]),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    kind=st.sampled_from(["reported", "closed", "resolved", "escalated", "noted"]),
    extra=st.dictionaries(
        st.sampled_from(["satisfaction", "priority", "stage"]), _values, max_size=3
    ),
    note=st.sampled_from([None, "", "parts ordered"]),  # None: no note
)
def test_parser_agrees_with_the_schema(kind: str, extra: dict[str, Any], note: str | None) -> None:
    doc = {"event_id": "e1", "type": kind, **extra, **({} if note is None else {"note": note})}
    result = parse(TOPIC, json.dumps(doc).encode(), NOW)
    assert isinstance(result, Rejected) != SCHEMA.is_valid(doc), (doc, result)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        ({"event_id": "e", "type": "escalated", "stage": "manual"}, None),
        ({"event_id": "e", "type": "noted", "note": "parts ordered"}, None),
        ({"event_id": "e", "type": "escalated"}, "stage 'manual'"),
        ({"event_id": "e", "type": "escalated", "stage": "respond"}, "stage 'manual'"),
        ({"event_id": "e", "type": "accepted", "stage": "manual"}, "only allowed on 'escalated'"),
        ({"event_id": "e", "type": "noted"}, "needs a note"),
    ],
)
def test_a_persons_escalation_and_note(doc: dict[str, Any], reason: str | None) -> None:
    """People escalate (stage manual) and note over the wire; the SLA stages stay commtwin's."""
    result = parse(TOPIC, json.dumps(doc).encode(), NOW)
    assert SCHEMA.is_valid(doc) == (reason is None)
    if reason is None:
        assert isinstance(result, IncidentEvent)
        assert result.stage == doc.get("stage")
    else:
        assert isinstance(result, Rejected)
        assert reason in result.detail


def test_the_actor_is_carried() -> None:
    doc = {"event_id": "e", "type": "resolved", "actor": "zhang"}
    result = parse(TOPIC, json.dumps(doc).encode(), NOW)
    assert SCHEMA.is_valid(doc)
    assert isinstance(result, IncidentEvent)
    assert result.actor == "zhang"
    bad = {"event_id": "e", "type": "resolved", "actor": 7}
    assert not SCHEMA.is_valid(bad)
    assert isinstance(parse(TOPIC, json.dumps(bad).encode(), NOW), Rejected)
