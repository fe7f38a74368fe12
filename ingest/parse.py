"""Pure parsing and validation: ``(topic, payload bytes, receive time)`` → one message.

Every input gives exactly one result, never an exception: a
:class:`~ingest.messages.Telemetry`, :class:`~ingest.messages.DeviceStatus`,
:class:`~ingest.messages.IncidentEvent`, or a :class:`~ingest.messages.Rejected`
with a dead-letter reason. The rules are those of ``schemas/mqtt/*.json``;
checks are written by hand because a JSON Schema validator costs more per
message than the whole rest of the hot path.

>>> now = 1_800_000_000_000_000
>>> t = parse("commtwin/v1/c1/devices/d1/telemetry", b'{"values": {"smoke": true}}', now)
>>> t.readings[0].as_dict(), t.readings[0].ts_us == now
({'smoke': 1.0}, True)
>>> parse("commtwin/v1/c1/devices/d1/telemetry", b'{"values": {"smoke": "yes"}}', now).reason
'bad_value_type'
>>> parse("commtwin/v1/c1/devices/d1/status", b'{"values": {}}', now).reason
'topic_mismatch'
"""

from __future__ import annotations

import json
from typing import Any, Final

import orjson

from ingest.messages import (
    INCIDENT_EVENT_TYPES,
    INCIDENT_PRIORITIES,
    DeviceStatus,
    GeoPosition,
    IncidentEvent,
    LocalPosition,
    Parsed,
    Position,
    Reading,
    Reason,
    Rejected,
    Telemetry,
    UnitLocation,
)
from ingest.timestamps import ts_of
from ingest.topics import IDENT_RE, METRIC_RE, TopicRef, parse_topic

DEFAULT_ROOT: Final = "commtwin/v1"
MAX_PAYLOAD: Final = 65536
MAX_BATCH: Final = 1000
# Rollup sums must not overflow double precision (PostgreSQL raises on it).
MAX_ABS_VALUE: Final = 1e290
_READING_KEYS: Final = frozenset({"ts", "values", "seq", "pos", "community", "device"})
_STATUS_KEYS: Final = frozenset({"online", "ts", "battery", "rssi", "community", "device"})
_EVENT_TEXT: Final = (
    "category",
    "title",
    "description",
    "reporter",
    "assignee",
    "note",
    "actor",
)
_EVENT_KEYS: Final = frozenset(
    {
        "event_id",
        "type",
        "ts",
        "location",
        "community",
        "incident",
        "priority",
        "satisfaction",
        "stage",
        *_EVENT_TEXT,
    }
)
_PRIORITIES: Final = frozenset(INCIDENT_PRIORITIES)
_EVENT_TYPES: Final = frozenset(INCIDENT_EVENT_TYPES)
_known_metrics: set[str] = set()  # names that passed METRIC_RE (a pure memo)


class _BadError(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def parse(topic: str, payload: bytes, received_us: int, root: str = DEFAULT_ROOT) -> Parsed:
    """Parse one MQTT message; the clock is ``received_us`` (epoch µs)."""
    ref = parse_topic(topic, root)
    if type(ref) is Rejected:
        return ref
    assert type(ref) is TopicRef
    if len(payload) > MAX_PAYLOAD:
        return Rejected(
            Reason.OVERSIZE, f"payload is {len(payload)} bytes (max {MAX_PAYLOAD})", ref.community
        )
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        reason, detail = _json_failure(payload, exc)
        return Rejected(reason, detail, ref.community)
    try:
        if ref.kind == "telemetry":
            return _telemetry(ref, doc, received_us)
        if ref.kind == "status":
            return _status(ref, doc, received_us)
        return _event(ref, doc, received_us)
    except _BadError as bad:
        return Rejected(bad.reason, bad.detail, ref.community)


def _json_failure(payload: bytes, exc: orjson.JSONDecodeError) -> tuple[str, str]:
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as bad:
        return Reason.BAD_UTF8, f"payload is not UTF-8: {bad.reason} at byte {bad.start}"
    if "infinity" in str(exc):
        return Reason.NON_FINITE, "a number overflows double precision"
    # orjson refuses NaN/Infinity like any non-JSON token; name them precisely.
    try:
        json.loads(text, parse_constant=_non_finite)
    except _BadError as bad:
        return bad.reason, bad.detail
    except (ValueError, RecursionError):
        pass
    return Reason.BAD_JSON, f"payload is not JSON: {exc}"


def _non_finite(token: str) -> None:
    raise _BadError(Reason.NON_FINITE, f"non-finite number {token}")


def _check_ids(doc: dict[str, Any], ref: TopicRef, own: str) -> None:
    """Payloads may repeat the topic's ids (gateways do); they must then agree."""
    for key, expected in (("community", ref.community), (own, ref.ident)):
        if key in doc and doc[key] != expected:
            raise _BadError(
                Reason.TOPIC_MISMATCH,
                f"payload {key} {str(doc[key])[:80]!r} differs from the topic's {expected!r}",
            )


def _telemetry(ref: TopicRef, doc: Any, received_us: int) -> Telemetry:
    if type(doc) is dict:
        return Telemetry(ref.community, ref.ident, (_reading(ref, doc, received_us),))
    if type(doc) is list:
        if not 1 <= len(doc) <= MAX_BATCH:
            raise _BadError(Reason.SCHEMA, f"a gateway batch holds 1..{MAX_BATCH} readings")
        readings = []
        for i, item in enumerate(doc):
            if type(item) is not dict:
                raise _BadError(Reason.SCHEMA, f"batch item {i} is not an object")
            readings.append(_reading(ref, item, received_us))
        return Telemetry(ref.community, ref.ident, tuple(readings))
    raise _BadError(Reason.SCHEMA, "telemetry must be a reading object or an array of them")


def _reading(ref: TopicRef, doc: dict[str, Any], received_us: int) -> Reading:
    values = doc.get("values")
    if type(values) is not dict:
        if "online" in doc or "event_id" in doc:
            raise _BadError(
                Reason.TOPIC_MISMATCH, "a status or incident payload on a telemetry topic"
            )
        raise _BadError(Reason.SCHEMA, "reading needs a 'values' object")
    for key in doc:
        if key not in _READING_KEYS:
            raise _BadError(Reason.SCHEMA, f"unexpected field {key[:40]!r} in a reading")
    if "community" in doc or "device" in doc:
        _check_ids(doc, ref, "device")
    ts = ts_of(doc, received_us)
    if type(ts) is Rejected:
        raise _BadError(ts.reason, ts.detail)
    metrics = []
    numbers = []
    for name, value in values.items():
        if name not in _known_metrics:
            if METRIC_RE.fullmatch(name) is None:
                raise _BadError(Reason.BAD_METRIC, f"metric name {name[:80]!r} is malformed")
            if len(_known_metrics) < 100_000:
                _known_metrics.add(name)
        metrics.append(name)
        numbers.append(_number(name, value))
    seq = doc.get("seq")
    if seq is not None and type(seq) is not int:
        raise _BadError(Reason.SCHEMA, "seq must be an integer")
    pos = doc.get("pos")
    return Reading(
        ts,  # type: ignore[arg-type]  # narrowed above: not Rejected
        tuple(metrics),
        tuple(numbers),
        seq,
        None if pos is None else _position(pos, "pos"),
    )


def _number(name: str, value: object) -> float:
    kind = type(value)
    if kind is float or kind is int:
        number = float(value)  # type: ignore[arg-type]
        if -MAX_ABS_VALUE <= number <= MAX_ABS_VALUE:
            return number
        raise _BadError(Reason.NON_FINITE, f"{name}: magnitude above {MAX_ABS_VALUE:g}")
    if kind is bool:
        return 1.0 if value else 0.0
    raise _BadError(
        Reason.BAD_VALUE_TYPE, f"{name}: expected a number or boolean, got {_json_type(value)}"
    )


def _json_type(value: object) -> str:
    return {dict: "object", list: "array", str: "string", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _finite(doc: dict[str, Any], key: str, where: str, required: bool = True) -> float | None:
    value = doc.get(key)
    if value is None and not required:
        return None
    if type(value) not in (int, float):
        raise _BadError(Reason.SCHEMA, f"{where}.{key} must be a number")
    number = float(value)  # type: ignore[arg-type]
    if not -MAX_ABS_VALUE <= number <= MAX_ABS_VALUE:
        raise _BadError(Reason.NON_FINITE, f"{where}.{key}: magnitude above {MAX_ABS_VALUE:g}")
    return number


def _position(doc: object, where: str) -> Position:
    if type(doc) is not dict:
        raise _BadError(Reason.SCHEMA, f"{where} must be an object")
    keys = set(doc)
    if keys and keys <= {"x", "y", "z"}:
        x = _finite(doc, "x", where)
        y = _finite(doc, "y", where)
        z = _finite(doc, "z", where, required=False)
        return LocalPosition(x, y, 0.0 if z is None else z)  # type: ignore[arg-type]
    if keys and keys <= {"lon", "lat", "alt"}:
        lon = _finite(doc, "lon", where)
        lat = _finite(doc, "lat", where)
        if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):  # type: ignore[operator]
            raise _BadError(Reason.SCHEMA, f"{where}: lon/lat out of range")
        return GeoPosition(lon, lat, _finite(doc, "alt", where, required=False))  # type: ignore[arg-type]
    raise _BadError(Reason.SCHEMA, f"{where} must be {{x, y, z?}} or {{lon, lat, alt?}}")


def _status(ref: TopicRef, doc: Any, received_us: int) -> DeviceStatus:
    if type(doc) is not dict:
        if type(doc) is list:
            raise _BadError(Reason.TOPIC_MISMATCH, "a gateway batch on a status topic")
        raise _BadError(Reason.SCHEMA, "status must be an object")
    if "online" not in doc and ("values" in doc or "event_id" in doc):
        raise _BadError(Reason.TOPIC_MISMATCH, "a telemetry or incident payload on a status topic")
    for key in doc:
        if key not in _STATUS_KEYS:
            raise _BadError(Reason.SCHEMA, f"unexpected field {key[:40]!r} in a status")
    _check_ids(doc, ref, "device")
    online = doc.get("online")
    if type(online) is not bool:
        raise _BadError(Reason.SCHEMA, "status needs 'online': true or false")
    ts = ts_of(doc, received_us)
    if type(ts) is Rejected:
        raise _BadError(ts.reason, ts.detail)
    return DeviceStatus(
        ref.community,
        ref.ident,
        online,
        ts,  # type: ignore[arg-type]
        _finite(doc, "battery", "status", required=False),
        _finite(doc, "rssi", "status", required=False),
    )


def _event(ref: TopicRef, doc: Any, received_us: int) -> IncidentEvent:
    if type(doc) is not dict:
        raise _BadError(Reason.SCHEMA, "an incident event must be an object")
    if "event_id" not in doc and ("values" in doc or "online" in doc):
        raise _BadError(Reason.TOPIC_MISMATCH, "a device payload on an incident topic")
    for key in doc:
        if key not in _EVENT_KEYS:
            raise _BadError(Reason.SCHEMA, f"unexpected field {key[:40]!r} in an incident event")
    _check_ids(doc, ref, "incident")
    event_id = doc.get("event_id")
    if type(event_id) is not str:
        raise _BadError(Reason.SCHEMA, "incident event needs an 'event_id' string")
    if IDENT_RE.fullmatch(event_id) is None:
        raise _BadError(Reason.BAD_ID, f"event_id {event_id[:140]!r} is malformed")
    kind = doc.get("type")
    if kind not in _EVENT_TYPES:
        raise _BadError(Reason.SCHEMA, f"type must be one of {', '.join(INCIDENT_EVENT_TYPES)}")
    texts: dict[str, str | None] = {}
    for key in _EVENT_TEXT:
        value = doc.get(key)
        if value is not None and (type(value) is not str or "\x00" in value):
            raise _BadError(Reason.SCHEMA, f"{key} must be a string without NUL characters")
        texts[key] = value
    ts = ts_of(doc, received_us)
    if type(ts) is Rejected:
        raise _BadError(ts.reason, ts.detail)
    priority = doc.get("priority")
    if "priority" in doc and priority not in _PRIORITIES:
        raise _BadError(Reason.SCHEMA, f"priority must be one of {', '.join(INCIDENT_PRIORITIES)}")
    location = doc.get("location")
    return IncidentEvent(
        ref.community,
        ref.ident,
        event_id,
        kind,
        ts,  # type: ignore[arg-type]
        category=texts["category"],
        title=texts["title"],
        description=texts["description"],
        reporter=texts["reporter"],
        assignee=texts["assignee"],
        note=texts["note"],
        actor=texts["actor"],
        location=None if location is None else _location(location),
        priority=priority,
        satisfaction=_satisfaction(doc, kind),
        stage=_stage(doc, kind),
    )


def _stage(doc: dict[str, Any], kind: str) -> str | None:
    """A person's escalation is stage ``manual``; the SLA stages are commtwin's own."""
    if kind != "escalated":
        if "stage" in doc:
            raise _BadError(Reason.SCHEMA, "stage is only allowed on 'escalated' events")
        if kind == "noted" and type(doc.get("note")) is not str:
            raise _BadError(Reason.SCHEMA, "a 'noted' event needs a note")
        return None
    if doc.get("stage") != "manual":
        raise _BadError(Reason.SCHEMA, "an 'escalated' event over MQTT has stage 'manual'")
    return "manual"


def _satisfaction(doc: dict[str, Any], kind: str) -> int | None:
    """The resident's rating, 1..5, on a ``closed`` event only (as the schema says)."""
    if "satisfaction" not in doc:
        return None
    value = doc["satisfaction"]
    if type(value) is float and value.is_integer():
        value = int(value)  # JSON Schema's "integer" admits 4.0
    if type(value) is not int or not 1 <= value <= 5:
        raise _BadError(Reason.SCHEMA, "satisfaction must be an integer from 1 to 5")
    if kind != "closed":
        raise _BadError(Reason.SCHEMA, "satisfaction is only allowed on 'closed' events")
    return value


def _location(doc: object) -> UnitLocation | Position:
    if type(doc) is dict and "building" in doc:
        building, storey, unit = doc.get("building"), doc.get("storey"), doc.get("unit")
        if set(doc) - {"building", "storey", "unit"}:
            raise _BadError(Reason.SCHEMA, "location: only building, storey, unit")
        if type(building) is not str or IDENT_RE.fullmatch(building) is None:
            raise _BadError(Reason.SCHEMA, "location.building must be an id string")
        if storey is not None and type(storey) is not int:
            raise _BadError(Reason.SCHEMA, "location.storey must be an integer")
        if unit is not None and (type(unit) is not str or "\x00" in unit):
            raise _BadError(Reason.SCHEMA, "location.unit must be a string without NUL characters")
        return UnitLocation(building, storey, unit)
    return _position(doc, "location")
