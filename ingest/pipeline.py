"""One batch of MQTT messages → one database transaction.

:meth:`Pipeline.write` parses every message once (:func:`ingest.parse.parse`),
then, in ONE transaction: registers unknown devices, COPYs readings through a
staging table into ``readings`` (in plain mode also logging the minutes it
touched for the rollup job, :mod:`ingest.rollups`), writes positions, device
status and its history, incident events (:mod:`ingest.incident_writer`),
calls the batch hooks, records dead letters and NOTIFYs ``commtwin_batches``.
The caller acknowledges the messages to the broker only after this returns
(the commit happened).

Hook seam for alarm rules (alarms issue): pass
``PipelineHooks(after_writes=[my_hook])``; each hook is called as
``hook(conn, batch)`` with the open transaction and a :class:`BatchView`
after the readings and statuses of the batch are written and before commit.
A hook may write (alarms, change_log rows); if it raises, the whole batch is
retried like any other failure. Under redelivery (at-least-once) a hook may
see a reading again, so what it writes must be idempotent. ``before_writes``
callbacks run first in the transaction (they see no row of the batch yet);
``after_commit`` / ``after_rollback`` callbacks run once the transaction has
ended either way (the rule engine applies its evaluation only after a commit).
``PipelineHooks(incidents=IncidentBook(...))`` configures the incident closed
loop, ``locate_positions`` fills the place columns of ``positions``.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import orjson

from ingest import sql
from ingest.copy_binary import readings_copy
from ingest.geo import to_local
from ingest.incident_writer import IncidentBook, write_incident_events
from ingest.messages import (
    DeviceStatus,
    GeoPosition,
    IncidentEvent,
    LocalPosition,
    Parsed,
    Reason,
    Rejected,
    Telemetry,
)
from ingest.parse import DEFAULT_ROOT, parse
from ingest.places import PositionRows
from ingest.registry import Conn, Registry
from ingest.rows import (
    ReadingColumns,
    SeenThrottle,
    group_dead_letters,
    latest_per_device,
    position_columns,
    reading_columns,
    status_columns,
)

# (topic, payload, receive time in epoch µs, ...): what the consumer hands
# over; further items (the consumer's ack bookkeeping) are ignored here.
Inbound = tuple[Any, ...]
# (topic, payload, reason, detail, community) of a message for dead_letters.
DeadItem = tuple[str, bytes, str, str, str | None]
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class BatchView:
    """What hooks see of a batch: its valid messages, in arrival order."""

    telemetry: Sequence[Telemetry]
    statuses: Sequence[DeviceStatus]
    incident_events: Sequence[IncidentEvent]
    device_keys: Mapping[tuple[str, str], int]  # (community, device) → devices.key
    now_us: int
    readings: ReadingColumns | None = None  # the rows offered to `readings`, as columns


BatchHook = Callable[[Conn, BatchView], None]
# A batch's positions → their building, storey, unit, grid columns.
PositionLocator = Callable[
    [Conn, PositionRows],
    tuple[list[str | None], list[int | None], list[str | None], list[str | None]],
]


@dataclass(frozen=True, slots=True)
class PipelineHooks:
    """Extension points, called inside the batch transaction (see module doc)."""

    after_writes: Sequence[BatchHook] = ()
    before_writes: Sequence[Callable[[Conn], None]] = ()  # first in the transaction
    after_commit: Sequence[Callable[[], None]] = ()
    after_rollback: Sequence[Callable[[], None]] = ()
    incidents: IncidentBook | None = None
    locate_positions: PositionLocator | None = None


@dataclass(frozen=True, slots=True)
class BatchResult:
    messages: int
    readings_offered: int
    readings_inserted: int
    positions: int = 0
    statuses: int = 0
    incident_events: int = 0
    changes: int = 0
    dead_letters: Mapping[str, int] = field(default_factory=dict)  # reason → count
    newest_ts_us: int | None = None  # newest reading time, for lag metrics


def _us_to_dt(ts_us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=ts_us)


class Pipeline:
    """Writes batches; keeps the key caches across them. Not thread-safe."""

    def __init__(
        self,
        *,
        mode: str = "plain",
        root: str = DEFAULT_ROOT,
        hooks: PipelineHooks | None = None,
        clock: Callable[[], float] = time.time,
        last_seen_interval_s: float = 60.0,
    ) -> None:
        self.mode = mode
        self.root = root
        self.hooks = hooks or PipelineHooks()
        self.registry = Registry()
        self._clock = clock
        self._seen = SeenThrottle(int(last_seen_interval_s * 1e6))
        self._move_readings = (
            sql.MOVE_READINGS_PLAIN if mode == "plain" else sql.MOVE_READINGS_TIMESCALE
        )

    def attach(self, conn: Conn) -> None:
        """Per-connection setup: the staging table, and the storage mode."""
        conn.execute(sql.CREATE_STAGE)
        row = conn.execute(sql.STORAGE_MODE).fetchone()
        if row is None:
            raise RuntimeError("storage_config has no mode: run `commtwin db upgrade`")
        self.mode = str(row[0])
        self._move_readings = (
            sql.MOVE_READINGS_PLAIN if self.mode == "plain" else sql.MOVE_READINGS_TIMESCALE
        )

    def write(self, conn: Conn, batch: Sequence[Inbound]) -> BatchResult:
        """Parse and store ``batch`` in one transaction on ``conn`` (autocommit off or on)."""
        now_us = int(self._clock() * 1_000_000)
        root = self.root
        parsed: list[Parsed] = [parse(m[0], m[1], m[2], root) for m in batch]
        try:
            with conn.transaction():
                result = self._write(conn, batch, parsed, now_us)
        except BaseException:
            self.registry.rollback()
            for undo in self.hooks.after_rollback:
                undo()
            raise
        self.registry.commit()
        for done in self.hooks.after_commit:
            done()
        return result

    def write_failed(self, conn: Conn, message: Inbound, error: str) -> None:
        """Dead-letter a message whose own transaction failed for a data reason."""
        topic, payload = message[0], message[1]
        with conn.transaction():
            self._dead_letters(conn, [(topic, payload, Reason.WRITE_FAILED, error[:500], None)])

    def _write(
        self, conn: Conn, batch: Sequence[Inbound], parsed: list[Parsed], now_us: int
    ) -> BatchResult:
        registry = self.registry
        for prepare in self.hooks.before_writes:
            prepare(conn)
        parsed = self._reject_unknown_communities(conn, parsed, now_us)
        telemetry: list[Telemetry] = []
        statuses: list[DeviceStatus] = []
        events: list[IncidentEvent] = []
        dead: list[DeadItem] = []
        for message, m in zip(batch, parsed, strict=True):
            kind = type(m)
            if kind is Telemetry:
                telemetry.append(m)  # type: ignore[arg-type]
            elif kind is DeviceStatus:
                statuses.append(m)  # type: ignore[arg-type]
            elif kind is IncidentEvent:
                events.append(m)  # type: ignore[arg-type]
            else:
                bad: Rejected = m  # type: ignore[assignment]
                dead.append((message[0], message[1], bad.reason, bad.detail, bad.community))

        pairs = {(m.community, m.device) for m in telemetry}
        pairs.update((s.community, s.device) for s in statuses)
        created = registry.resolve_devices(conn, pairs)
        changes = conn.execute(sql.LOG_REGISTERED, (created,)).rowcount if created else 0
        registry.resolve_metrics(
            conn, {n for m in telemetry for r in m.readings for n in r.metrics}
        )

        cols, inserted_by_community = self._readings(conn, telemetry)
        positions = self._positions(conn, telemetry)
        changes += self._statuses(conn, statuses)
        self._touch_last_seen(conn, telemetry, now_us)
        if events:
            applied, events = self._incidents(conn, batch, parsed, events, dead)
            changes += applied
        if self.hooks.after_writes:
            view = BatchView(telemetry, statuses, events, _KeyView(registry), now_us, cols)
            for hook in self.hooks.after_writes:
                hook(conn, view)
        if dead:
            self._dead_letters(conn, dead)
        if inserted_by_community:
            notes = [
                orjson.dumps({"community": community, "rows": n}).decode()
                for community, n in sorted(inserted_by_community.items())
            ]
            conn.execute(sql.NOTIFY_BATCH, (notes,))
        return BatchResult(
            messages=len(batch),
            readings_offered=len(cols),
            readings_inserted=sum(inserted_by_community.values()),
            positions=positions,
            statuses=len(statuses),
            incident_events=len(events),
            changes=changes,
            dead_letters=Counter(d[2] for d in dead),
            newest_ts_us=max((r.ts_us for m in telemetry for r in m.readings), default=None),
        )

    def _reject_unknown_communities(
        self, conn: Conn, parsed: list[Parsed], now_us: int
    ) -> list[Parsed]:
        communities = {m.community for m in parsed if type(m) is not Rejected and m.community}
        unknown = self.registry.resolve_communities(conn, communities, now_us)
        if not unknown:
            return parsed
        return [
            Rejected(
                Reason.UNKNOWN_COMMUNITY, f"community {m.community!r} is not imported", m.community
            )
            if type(m) is not Rejected and m.community in unknown
            else m
            for m in parsed
        ]

    def _readings(
        self, conn: Conn, telemetry: Sequence[Telemetry]
    ) -> tuple[ReadingColumns, Counter[str]]:
        """COPY the batch's readings; return (the columns offered, rows inserted per community)."""
        registry = self.registry
        key_of = registry.device_key
        cols = reading_columns(telemetry, lambda p: key_of(*p), registry.metric_key)
        by_community: Counter[str] = Counter()
        if len(cols):
            with conn.cursor() as cur:
                with cur.copy(sql.COPY_STAGE) as copy:
                    copy.write(readings_copy(cols.ts_us, cols.device, cols.metric, cols.value))
                for device, n in cur.execute(self._move_readings).fetchall():
                    by_community[registry.community_of_key(device) or "?"] += n
        return cols, by_community

    def _statuses(self, conn: Conn, statuses: Sequence[DeviceStatus]) -> int:
        if not statuses:
            return 0
        s = status_columns(statuses, lambda p: self.registry.device_key(*p))
        return conn.execute(
            sql.APPLY_STATUSES,
            ([_us_to_dt(t) for t in s.ts_us], s.device, s.online, s.battery, s.rssi),
        ).rowcount

    def _touch_last_seen(self, conn: Conn, telemetry: Sequence[Telemetry], now_us: int) -> None:
        key_of = self.registry.device_key
        due = self._seen.due(latest_per_device(telemetry, lambda p: key_of(*p)), now_us)
        if due:
            keys = sorted(due)
            conn.execute(sql.TOUCH_LAST_SEEN, (keys, [_us_to_dt(due[k]) for k in keys]))

    def _incidents(
        self,
        conn: Conn,
        batch: Sequence[Inbound],
        parsed: Sequence[Parsed],
        events: list[IncidentEvent],
        dead: list[DeadItem],
    ) -> tuple[int, list[IncidentEvent]]:
        outcome = write_incident_events(
            conn, [self._localise(e) for e in events], book=self.hooks.incidents
        )
        refused = {r.index for r in outcome.rejections}
        for rejection in outcome.rejections:
            e = events[rejection.index]
            topic, payload = self._raw_of(batch, parsed, e)
            dead.append((topic, payload, rejection.reason, rejection.detail, e.community))
        return outcome.applied, [e for i, e in enumerate(events) if i not in refused]

    def _positions(self, conn: Conn, telemetry: Sequence[Telemetry]) -> int:
        pc = position_columns(telemetry, lambda p: self.registry.device_key(*p))
        ts, dev, xs, ys, zs = pc.ts_us, pc.device, list(pc.x), list(pc.y), list(pc.z)
        for community, (g_ts, g_dev, lon, lat, alt) in pc.geo.items():
            frame = self.registry.community(community)
            assert frame is not None  # unknown communities were rejected above
            gx, gy, gz = to_local(frame, lon, lat, alt)
            ts = ts + g_ts
            dev = dev + g_dev
            xs.extend(gx.tolist())
            ys.extend(gy.tolist())
            zs.extend(gz.tolist())
        if not ts:
            return 0
        n = len(ts)
        places: tuple[list[Any], list[Any], list[Any], list[Any]] = ([None] * n,) * 4
        if self.hooks.locate_positions is not None:
            community_of = self.registry.community_of_key
            communities = [community_of(k) or "" for k in dev]
            rows = PositionRows(dev, ts, communities, xs, ys, zs)
            places = self.hooks.locate_positions(conn, rows)
        return conn.execute(
            sql.INSERT_POSITIONS, ([_us_to_dt(t) for t in ts], dev, xs, ys, zs, *places)
        ).rowcount

    def _localise(self, event: IncidentEvent) -> IncidentEvent:
        if type(event.location) is not GeoPosition:
            return event
        frame = self.registry.community(event.community)
        assert frame is not None
        loc = event.location
        x, y, z = to_local(frame, [loc.lon], [loc.lat], [loc.alt])
        return replace(event, location=LocalPosition(float(x[0]), float(y[0]), float(z[0])))

    @staticmethod
    def _raw_of(
        batch: Sequence[Inbound], parsed: Sequence[Parsed], event: IncidentEvent
    ) -> tuple[str, bytes]:
        for message, m in zip(batch, parsed, strict=True):
            if m is event:
                return message[0], message[1]
        raise LookupError("event not in batch")

    @staticmethod
    def _dead_letters(conn: Conn, items: Sequence[DeadItem]) -> None:
        rows = group_dead_letters(items)
        conn.execute(
            sql.INSERT_DEAD_LETTERS,
            (
                [r.topic for r in rows],
                [r.payload for r in rows],
                [r.sha256 for r in rows],
                [r.reason for r in rows],
                [r.detail for r in rows],
                [r.community for r in rows],
                [r.occurrences for r in rows],
            ),
        )


class _KeyView(Mapping[tuple[str, str], int]):
    """Read-only (community, device) → key view over the registry for hooks."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __getitem__(self, pair: tuple[str, str]) -> int:
        try:
            return self._registry.device_key(*pair)
        except KeyError:
            raise KeyError(pair) from None

    def __iter__(self) -> Any:
        return iter(self._registry.devices)

    def __len__(self) -> int:
        return len(self._registry.devices)
