"""The pure parser: every dead-letter reason, the accepted forms, and no exception ever."""

from __future__ import annotations

import json
import math
from typing import Any

import jsonschema
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.messages import (
    DeviceStatus,
    GeoPosition,
    IncidentEvent,
    LocalPosition,
    Reason,
    Rejected,
    Telemetry,
    UnitLocation,
)
from ingest.parse import parse
from schemas.mqtt_contract import SCHEMAS, load_schema, schema_for_topic_kind

NOW = 1_795_860_000_000_000  # 2026-11-28T10:00:00Z in µs
T = "commtwin/v1/lanting/devices/smoke-b01-0101/telemetry"
S = "commtwin/v1/lanting/devices/smoke-b01-0101/status"
E = "commtwin/v1/lanting/incidents/r-123/events"


def reason(topic: str, payload: bytes) -> str:
    result = parse(topic, payload, NOW)
    assert isinstance(result, Rejected), result
    assert result.detail
    return result.reason


# One message per dead-letter reason the parser decides (also replayed over
# MQTT by test_dead_letters_e2e.py).
REASON_CASES: list[tuple[str, bytes, str]] = [
    (T, b'{"values": {"t": 1}, "x": "\xff\xfe"}', Reason.BAD_UTF8),
    (T, b"\xc3\x28", Reason.BAD_UTF8),
    (T, b'{"values": {"t": 1}', Reason.BAD_JSON),
    (T, b"", Reason.BAD_JSON),
    (T, b'{"values": {"t": 1}, "pad": "' + b"x" * 65536 + b'"}', Reason.OVERSIZE),
    ("commtwin/v1/lanting/devices/d1", b"{}", Reason.BAD_TOPIC),
    ("commtwin/v1/lanting/devices/d1/config", b"{}", Reason.BAD_TOPIC),
    ("other/v1/lanting/devices/d1/telemetry", b"{}", Reason.BAD_TOPIC),
    ("commtwin/v1/lanting/devices/d1/telemetry/extra", b"{}", Reason.BAD_TOPIC),
    ("commtwin/v1/Lanting/devices/d1/telemetry", b"{}", Reason.BAD_ID),
    ("commtwin/v1/lanting/devices/-d1/telemetry", b"{}", Reason.BAD_ID),
    ("commtwin/v1/lanting/devices/" + "d" * 129 + "/telemetry", b"{}", Reason.BAD_ID),
    ("commtwin/v1/lanting/incidents/r 1/events", b"{}", Reason.BAD_ID),
    (E, b'{"event_id": "bad id", "type": "reported"}', Reason.BAD_ID),
    (T, b'{"online": true}', Reason.TOPIC_MISMATCH),
    (S, b'{"values": {"t": 1}}', Reason.TOPIC_MISMATCH),
    (S, b'[{"values": {"t": 1}}]', Reason.TOPIC_MISMATCH),
    (E, b'{"values": {"t": 1}}', Reason.TOPIC_MISMATCH),
    (T, b'{"device": "other", "values": {"t": 1}}', Reason.TOPIC_MISMATCH),
    (E, b'{"incident": "r-999", "event_id": "e1", "type": "reported"}', Reason.TOPIC_MISMATCH),
    (T, b'{"values": {"t": 1}, "unit": "C"}', Reason.SCHEMA),
    (T, b'"hello"', Reason.SCHEMA),
    (T, b"[]", Reason.SCHEMA),
    (T, b"[" + b",".join([b'{"values": {"t": 1}}'] * 1001) + b"]", Reason.SCHEMA),
    (T, b'{"values": {"t": 1}, "seq": "7"}', Reason.SCHEMA),
    (T, b'{"values": {"t": 1}, "pos": {"x": 1}}', Reason.SCHEMA),
    (T, b'{"values": {"t": 1}, "pos": {"lon": 200, "lat": 1}}', Reason.SCHEMA),
    (S, b'{"online": "yes"}', Reason.SCHEMA),
    (S, b'{"online": true, "battery": "full"}', Reason.SCHEMA),
    (E, b'{"event_id": "e1", "type": "teleported"}', Reason.SCHEMA),
    (E, b'{"event_id": "e1", "type": "reported", "title": "a\\u0000b"}', Reason.SCHEMA),
    (E, b'{"event_id": "e1", "type": "reported", "location": {"building": 3}}', Reason.SCHEMA),
    (T, b'{"values": {"Temp": 1}}', Reason.BAD_METRIC),
    (T, b'{"values": {"9lives": 1}}', Reason.BAD_METRIC),
    (T, b'{"values": {"t": "21.5"}}', Reason.BAD_VALUE_TYPE),
    (T, b'{"values": {"t": null}}', Reason.BAD_VALUE_TYPE),
    (T, b'{"values": {"t": [1]}}', Reason.BAD_VALUE_TYPE),
    (T, b'{"values": {"t": NaN}}', Reason.NON_FINITE),
    (T, b'{"values": {"t": -Infinity}}', Reason.NON_FINITE),
    (T, b'{"values": {"t": 1e999}}', Reason.NON_FINITE),
    (T, b'{"values": {"t": 1e300}}', Reason.NON_FINITE),
    (T, b'{"ts": "yesterday", "values": {"t": 1}}', Reason.BAD_TS),
    (T, b'{"ts": "2026-11-28T10:00:00", "values": {"t": 1}}', Reason.BAD_TS),
    (T, b'{"ts": "2026-13-28T10:00:00Z", "values": {"t": 1}}', Reason.BAD_TS),
    (T, b'{"ts": true, "values": {"t": 1}}', Reason.BAD_TS),
    (T, b'{"ts": "2026-11-28T10:05:01Z", "values": {"t": 1}}', Reason.TS_FUTURE),
    (T, b'{"ts": 1795860301000, "values": {"t": 1}}', Reason.TS_FUTURE),
    (S, b'{"online": true, "ts": "1999-12-31T23:59:59.999Z"}', Reason.TS_TOO_OLD),
    (E, b'{"event_id": "e1", "type": "closed", "ts": 0}', Reason.TS_TOO_OLD),
]


@pytest.mark.parametrize(("topic", "payload", "expected"), REASON_CASES)
def test_each_reason(topic: str, payload: bytes, expected: str) -> None:
    assert reason(topic, payload) == expected


def test_rejections_keep_the_topic_community() -> None:
    result = parse(T, b"{", NOW)
    assert isinstance(result, Rejected)
    assert result.community == "lanting"
    assert parse("x/y", b"{}", NOW) == Rejected(Reason.BAD_TOPIC, "topic is outside commtwin/v1/")


def test_single_reading_all_fields() -> None:
    payload = (
        b'{"ts": "2026-11-28T18:00:00.5+08:00", "seq": 9, "device": "smoke-b01-0101",'
        b' "values": {"smoke": true, "temperature": 21.5, "count": 3}, "pos": {"x": 1, "y": 2}}'
    )
    t = parse(T, payload, NOW)
    assert isinstance(t, Telemetry)
    (r,) = t.readings
    assert (t.community, t.device) == ("lanting", "smoke-b01-0101")
    assert r.ts_us == NOW + 500_000
    assert r.as_dict() == {"smoke": 1.0, "temperature": 21.5, "count": 3.0}
    assert r.seq == 9
    assert r.pos == LocalPosition(1.0, 2.0, 0.0)


def test_gateway_batch_and_epoch_ms_and_receive_time() -> None:
    payload = orjson.dumps(
        [{"ts": 1795859990000 + i, "values": {"power_kw": i}} for i in range(1000)] + []
    )
    t = parse(T, payload, NOW)
    assert isinstance(t, Telemetry)
    assert len(t.readings) == 1000
    assert t.readings[7].ts_us == (1795859990000 + 7) * 1000
    no_ts = parse(T, b'{"values": {"a": 1}, "pos": {"lon": 120.1, "lat": 30.2}}', NOW)
    assert isinstance(no_ts, Telemetry)
    assert no_ts.readings[0].ts_us == NOW
    assert no_ts.readings[0].pos == GeoPosition(120.1, 30.2, None)


def test_status_and_incident_event() -> None:
    s = parse(S, b'{"online": false, "battery": 12.5}', NOW)
    assert s == DeviceStatus("lanting", "smoke-b01-0101", False, NOW, 12.5, None)
    e = parse(
        E,
        b'{"event_id": "e-1", "type": "reported", "category": "noise", "title": "\xe5\x90\xb5",'
        b' "location": {"building": "b01", "storey": -1}}',
        NOW,
    )
    assert isinstance(e, IncidentEvent)
    assert (e.incident, e.event_id, e.type, e.title) == ("r-123", "e-1", "reported", "吵")
    assert e.location == UnitLocation("b01", -1, None)


@pytest.mark.parametrize("name", SCHEMAS)
def test_schema_examples_are_valid_and_accepted(name: str) -> None:
    schema = load_schema(name)
    jsonschema.Draft202012Validator.check_schema(schema)
    topic = {"telemetry": T, "status": S, "incident_event": E}[name]
    for example in schema["examples"]:
        jsonschema.validate(example, schema)
        assert not isinstance(parse(topic, orjson.dumps(example), NOW), Rejected)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    topic=st.one_of(
        st.text(max_size=80),
        st.builds(
            lambda c, d, k: f"commtwin/v1/{c}/devices/{d}/{k}",
            st.text(max_size=10),
            st.text(max_size=10),
            st.sampled_from(["telemetry", "status", "x"]),
        ),
    ),
    payload=st.binary(max_size=300),
)
def test_arbitrary_bytes_never_raise(topic: str, payload: bytes) -> None:
    result = parse(topic, payload, NOW)
    assert isinstance(result, (Telemetry, DeviceStatus, IncidentEvent, Rejected))
    if isinstance(result, Rejected):
        assert result.reason in Reason.ALL


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["2026-11-28T09:00:00Z", "2026-11-28 09:00:00.123+08:00", "x", ""]),
)
_keys = st.sampled_from(
    [
        "ts",
        "values",
        "seq",
        "pos",
        "x",
        "y",
        "z",
        "lon",
        "lat",
        "alt",
        "temp",
        "Bad",
        "online",
        "battery",
        "event_id",
        "type",
        "reported",
        "location",
        "building",
        "storey",
    ]
)
_json = st.recursive(
    _scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_keys, inner, max_size=5)),
    max_leaves=12,
)
# What the schema cannot say: time windows relative to the receive time, the
# magnitude bound, calendar validity, NUL in text, ids equal to the topic's.
_OUTSIDE_SCHEMA = {
    Reason.TS_FUTURE,
    Reason.TS_TOO_OLD,
    Reason.BAD_TS,
    Reason.NON_FINITE,
    Reason.TOPIC_MISMATCH,
}


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(doc=_json, kind=st.sampled_from(["telemetry", "status", "events"]))
def test_parser_agrees_with_the_json_schema(doc: Any, kind: str) -> None:
    topic = {"telemetry": T, "status": S, "events": E}[kind]
    result = parse(topic, json.dumps(doc).encode(), NOW)  # stdlib: ints beyond 64 bits too
    valid = jsonschema.Draft202012Validator(schema_for_topic_kind(kind)).is_valid(doc)
    if valid:
        assert not isinstance(result, Rejected) or result.reason in _OUTSIDE_SCHEMA, result
    else:
        assert isinstance(result, Rejected), (doc, result)


@pytest.mark.parametrize(
    ("topic", "doc"),
    [
        (S, {"online": False, "ts": None}),  # found by the property test above
        (T, {"ts": None, "values": {"smoke": False}}),
    ],
)
def test_a_null_ts_is_refused_not_taken_for_a_missing_one(topic: str, doc: Any) -> None:
    result = parse(topic, json.dumps(doc).encode(), NOW)
    assert isinstance(result, Rejected)
    assert result.reason == Reason.BAD_TS
    del doc["ts"]
    assert not isinstance(parse(topic, json.dumps(doc).encode(), NOW), Rejected)


def test_booleans_are_stored_as_numbers() -> None:
    t = parse(T, b'{"values": {"leak": false, "door_open": true}}', NOW)
    assert isinstance(t, Telemetry)
    assert t.readings[0].values == (0.0, 1.0)
    assert all(math.isfinite(v) for v in t.readings[0].values)
