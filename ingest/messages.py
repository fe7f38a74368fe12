"""What an MQTT message becomes, once, at the edge: our own frozen dataclasses.

The parser (:mod:`ingest.parse`) turns ``(topic, payload)`` into exactly one of
:class:`Telemetry`, :class:`DeviceStatus`, :class:`IncidentEvent` or
:class:`Rejected`; nothing after it looks at JSON again. Timestamps are
integers, microseconds since the Unix epoch (UTC), because the writer ships
them to PostgreSQL in bulk; ``.ts`` gives a ``datetime`` when one is wanted.

>>> r = Reading(ts_us=1_700_000_000_000_000, metrics=("smoke", "temperature"), values=(1.0, 21.5))
>>> r.ts.isoformat(), r.as_dict()
('2023-11-14T22:13:20+00:00', {'smoke': 1.0, 'temperature': 21.5})
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def us_to_datetime(ts_us: int) -> datetime:
    """Microseconds since the epoch → aware UTC datetime (exact)."""
    return EPOCH + timedelta(microseconds=ts_us)


def datetime_to_us(dt: datetime) -> int:
    """Aware datetime → microseconds since the epoch (exact).

    >>> datetime_to_us(datetime(2000, 1, 1, tzinfo=UTC))
    946684800000000
    """
    return (dt - EPOCH) // timedelta(microseconds=1)


class Reason:
    """Dead-letter reason codes (``dead_letters.reason``): the public contract."""

    BAD_UTF8: Final = "bad_utf8"  # payload is not UTF-8
    BAD_JSON: Final = "bad_json"  # payload is not JSON
    OVERSIZE: Final = "oversize"  # payload over 64 KiB
    BAD_TOPIC: Final = "bad_topic"  # topic is not one of the contract's shapes
    BAD_ID: Final = "bad_id"  # community/device/incident/event id malformed
    TOPIC_MISMATCH: Final = "topic_mismatch"  # payload of another kind, or ids differ
    SCHEMA: Final = "schema"  # structure/field violation of the JSON Schema
    BAD_METRIC: Final = "bad_metric"  # metric name malformed
    BAD_VALUE_TYPE: Final = "bad_value_type"  # metric value not number/boolean
    NON_FINITE: Final = "non_finite"  # NaN / Infinity / overflowing number
    BAD_TS: Final = "bad_ts"  # timestamp neither RFC 3339 with offset nor epoch ms
    TS_FUTURE: Final = "ts_future"  # more than 5 minutes ahead of the receive time
    TS_TOO_OLD: Final = "ts_too_old"  # before 2000-01-01
    UNKNOWN_COMMUNITY: Final = "unknown_community"  # community not in the database
    # An incident event that is not a valid transition from the incident's
    # status at the event's time (the detail names both).
    INVALID_TRANSITION: Final = "invalid_transition"
    # The message parsed but its rows were refused by the database (e.g. a
    # constraint); kept here so one bad message cannot stall the pipeline.
    WRITE_FAILED: Final = "write_failed"

    ALL: Final = (
        BAD_UTF8,
        BAD_JSON,
        OVERSIZE,
        BAD_TOPIC,
        BAD_ID,
        TOPIC_MISMATCH,
        SCHEMA,
        BAD_METRIC,
        BAD_VALUE_TYPE,
        NON_FINITE,
        BAD_TS,
        TS_FUTURE,
        TS_TOO_OLD,
        UNKNOWN_COMMUNITY,
        INVALID_TRANSITION,
        WRITE_FAILED,
    )


@dataclass(frozen=True, slots=True)
class LocalPosition:
    """Community-local metres: x east, y north, z up."""

    x: float
    y: float
    z: float


@dataclass(frozen=True, slots=True)
class GeoPosition:
    """WGS 84 longitude/latitude in degrees, altitude in metres (optional)."""

    lon: float
    lat: float
    alt: float | None = None


Position = LocalPosition | GeoPosition


@dataclass(frozen=True, slots=True)
class UnitLocation:
    """A place named in the community model: building, storey index, unit."""

    building: str
    storey: int | None = None
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class Reading:
    """One timestamped set of metric values (metrics and values are parallel).

    Booleans arrive as ``true``/``false`` and are stored as 1.0/0.0.
    """

    ts_us: int
    metrics: tuple[str, ...]
    values: tuple[float, ...]
    seq: int | None = None
    pos: Position | None = None

    @property
    def ts(self) -> datetime:
        return us_to_datetime(self.ts_us)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(self.metrics, self.values, strict=True))


@dataclass(frozen=True, slots=True)
class Telemetry:
    """``R/{community}/devices/{device}/telemetry``: one reading or a gateway batch."""

    community: str
    device: str
    readings: tuple[Reading, ...]


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    """``R/{community}/devices/{device}/status`` (devices' retained last will)."""

    community: str
    device: str
    online: bool
    ts_us: int
    battery: float | None = None
    rssi: float | None = None

    @property
    def ts(self) -> datetime:
        return us_to_datetime(self.ts_us)


IncidentEventType = Literal[
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
INCIDENT_EVENT_TYPES: Final[tuple[IncidentEventType, ...]] = (
    "reported",
    "dispatched",
    "accepted",
    "resolved",
    "closed",
    "reopened",
    "cancelled",
    "escalated",  # a person's (stage "manual"); commtwin's own never come over MQTT
    "noted",  # a worker's note, the status stays
)

IncidentPriority = Literal["low", "normal", "high", "critical"]
INCIDENT_PRIORITIES: Final[tuple[IncidentPriority, ...]] = ("low", "normal", "high", "critical")


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """``R/{community}/incidents/{incident}/events``; ``event_id`` makes it idempotent."""

    community: str
    incident: str
    event_id: str
    type: IncidentEventType
    ts_us: int
    category: str | None = None
    title: str | None = None
    description: str | None = None
    reporter: str | None = None
    assignee: str | None = None
    note: str | None = None
    location: UnitLocation | Position | None = None
    priority: IncidentPriority | None = None
    satisfaction: int | None = None  # 1..5, only on "closed"
    stage: str | None = None  # "manual", only on "escalated"
    actor: str | None = None  # who took the step (a person's login), when the sender says

    @property
    def ts(self) -> datetime:
        return us_to_datetime(self.ts_us)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message that goes to the dead-letter table, with a reason code.

    ``community`` is the topic's community when it could be read (for
    per-community listings), else ``None``.
    """

    reason: str
    detail: str
    community: str | None = None


Parsed = Telemetry | DeviceStatus | IncidentEvent | Rejected
