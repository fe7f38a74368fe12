"""The ingestor's alarm rule engine: fed per batch, by the clock, rebuilt from the database.

One :class:`twin.rules.engine.RuleEngine` holds the alarm state of every device this
ingestor sees. Per batch (:meth:`AlarmStage.hook`, a pipeline hook inside
the batch's transaction) the batch's readings, already in columns, become a
:class:`~twin.rules.engine.ReadingBatch` of numpy arrays and are evaluated at once;
the events are persisted (:func:`ingest.alarm_writer.write_alarm_events`)
in the same transaction, and the evaluation is applied to the engine only
after the commit (:meth:`commit`), as the engine's contract asks: a rolled
back batch leaves the engine as it was.

The clock tick (:meth:`tick`, from :mod:`ingest.ticker`, in its own
transaction on its own connection) raises no-data and duration alarms. A lock
keeps a batch's evaluate → persist → commit → apply and a tick's from
interleaving; a batch takes it first in its transaction (before any row lock)
and gives it back after the commit or rollback.

At start (first batch or tick) the engine is rebuilt from the database: the
devices (kind, ``last_seen``), the active alarms, and the newest reading of
each watched device/metric within :data:`LAST_READINGS_WINDOW` (an index probe
per pair on ``readings``; cheaper and exact in both storage modes than the
rollups). Every tick refreshes the devices' kinds and ``last_seen``, so model
re-imports and readings written by *another* ingestor of a shared
subscription count (see docs/incidents.md, "In ingest", for what stays
approximate across split streams).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Iterable
from datetime import timedelta
from typing import Any, Final

import numpy as np
import psycopg

from ingest.alarm_writer import NOWHERE, AlarmPlace, AlarmWriteResult, write_alarm_events
from ingest.incident_writer import IncidentBook
from ingest.pipeline import BatchView
from ingest.places import Places
from schemas.rollup_window import (
    NEWEST,
    NEWEST_FOUND,
    NEWEST_TS,
    NEWEST_VALUE,
    SPLIT,
    newest_bounds,
    split_of,
)
from twin.rules.care import CARE_RULE_IDS
from twin.rules.engine import (
    ActiveAlarm,
    AlarmEvent,
    DeviceRef,
    Evaluation,
    LastReading,
    ReadingBatch,
    RuleEngine,
    RuleSet,
)

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
LAST_READINGS_WINDOW: Final = timedelta(days=1)
# ``scope``: the communities this ingestor serves (``--communities``); NULL: all.
_DEVICES: Final = """
SELECT key, community_id, id, kind, extract(epoch FROM last_seen)::float8 FROM devices
WHERE (%(scope)s::text[] IS NULL OR community_id = ANY(%(scope)s))"""
_DEVICES_BY_KEY: Final = _DEVICES + " AND key = ANY(%(keys)s)"
_DEVICES_AFTER: Final = _DEVICES + " AND key > %(after)s"
FULL_REFRESH_S: Final = 300.0
"""How often the clock re-reads every device (kinds changed by a re-import whose
notification was missed, or a key committed after a higher one was read); in
between only the devices with a key above the highest read. Reading all
400,000 devices of a district took ~2 s, every tick, holding up the batches."""
_METRICS: Final = "SELECT key, name FROM metrics"
_ACTIVE: Final = """
SELECT community_id, device_id, rule_id, severity, extract(epoch FROM raised_at)::float8, value
FROM alarms WHERE state <> 'cleared'
  AND (%(scope)s::text[] IS NULL OR community_id = ANY(%(scope)s))
"""
_LAST: Final = f"""
SELECT p.key, p.metric_key, extract(epoch FROM {NEWEST_TS})::float8, {NEWEST_VALUE}
FROM unnest(%(keys)s::bigint[], %(metrics)s::int[]) AS p(key, metric_key) {NEWEST}
WHERE {NEWEST_FOUND}
"""  # noqa: S608 (only the constants of schemas.rollup_window go in)


class AlarmStage:
    """Rule engine + persistence, wired into the pipeline and the ticker."""

    def __init__(
        self,
        rules: RuleSet,
        places: Places,
        book: IncidentBook | None,
        scope: list[str] | None = None,
    ) -> None:
        self.rules = rules
        # The communities this ingestor serves: its clock watches their devices
        # only (no-data rules), not the whole district's. None: every community.
        self._scope = scope
        self.places = places
        self.book = book
        self.lock = threading.Lock()
        self.engine: RuleEngine | None = None
        self.last_result = AlarmWriteResult()
        self._known: set[int] = set()
        self._metrics: set[int] = set()
        self._pending: Evaluation | None = None
        self._held = False
        self._max_key = 0
        self._full_at = -math.inf

    # --- the batch path (committer thread) ---------------------------------

    def prepare(self, conn: Conn) -> None:
        """First in the batch's transaction (pipeline before_writes): take the engine
        for this batch, and load it if this is the first batch. Loading now, before
        the batch's rows are written, keeps them out of the restored state; taking
        the lock before the batch holds any row lock keeps the ticker from waiting
        on a row while the batch waits on the lock."""
        self.lock.acquire()
        self._held = True
        self._ensure(conn)

    def hook(self, conn: Conn, view: BatchView) -> None:
        """Evaluate the batch's readings and persist the alarm events (pipeline hook)."""
        if not self._held:
            raise RuntimeError("AlarmStage.hook without prepare: wire it with build_twin")
        engine = self._ensure(conn)
        cols = view.readings
        if cols is None or not len(cols):
            return
        device = np.array(cols.device, dtype=np.int64)
        metric = np.array(cols.metric, dtype=np.int64)
        self._register_unknown(conn, engine, device, metric)
        batch = ReadingBatch(
            device,
            metric,
            np.array(cols.ts_us, dtype=np.float64) / 1e6,
            np.array(cols.value, dtype=np.float64),
        )
        evaluation = engine.evaluate(batch)
        self._pending = evaluation
        if evaluation.events:
            self.last_result = self._write(conn, evaluation.events)

    def commit(self) -> None:
        """The batch committed: the engine takes its evaluation (pipeline after_commit)."""
        self.places.commit()
        if not self._held:
            return
        try:
            if self._pending is not None and self.engine is not None:
                self.engine.apply(self._pending)
        finally:
            self._release()

    def rollback(self) -> None:
        """The batch rolled back: its evaluation is dropped (pipeline after_rollback)."""
        self.places.rollback()
        self.last_result = AlarmWriteResult()
        if self._held:
            self._release()

    def _release(self) -> None:
        self._pending = None
        self._held = False
        self.lock.release()

    # --- the clock (ticker thread) -------------------------------------------

    def tick(self, conn: Conn, now: float) -> list[AlarmEvent]:
        """No-data and duration alarms due at ``now`` (epoch s), persisted in their own
        transaction on ``conn`` (autocommit), then applied."""
        rows = self._devices_to_refresh(conn, now)  # outside the lock: batches go on
        with self.lock:
            engine = self._ensure(conn)
            self._refresh_devices(conn, engine, rows)
            evaluation = engine.tick(now)
            if evaluation.events:
                with conn.transaction():
                    self._write(conn, evaluation.events)
            engine.apply(evaluation)
            return list(evaluation.events)

    def devices_changed(self) -> None:
        """A community was re-imported: the next tick re-reads every device."""
        self._full_at = -math.inf

    def _devices_to_refresh(self, conn: Conn, now: float) -> list[Any]:
        """Every device now and then, else those added since the last read (a
        device that never reports must still get its no-data alarm). Before the
        engine is loaded, nothing: loading reads every device."""
        if self.engine is None:
            self._full_at = now
            return []
        if now - self._full_at >= FULL_REFRESH_S:
            self._full_at = now
            return conn.execute(_DEVICES, {"scope": self._scope}).fetchall()
        return conn.execute(
            _DEVICES_AFTER, {"scope": self._scope, "after": self._max_key}
        ).fetchall()

    # --- state -------------------------------------------------------------

    def _ensure(self, conn: Conn) -> RuleEngine:
        if self.engine is None:
            self.engine = self.load(conn)
        return self.engine

    def load(self, conn: Conn) -> RuleEngine:
        """Rebuild the engine from the database (what a previous process left)."""
        devices = conn.execute(_DEVICES, {"scope": self._scope}).fetchall()
        metrics = {int(k): str(n) for k, n in conn.execute(_METRICS).fetchall()}
        # Care alarms belong to ingest.care_stage, not to the rules: not orphans.
        active = [
            ActiveAlarm(c, d, r, s, float(t), v)
            for c, d, r, s, t, v in conn.execute(_ACTIVE, {"scope": self._scope})
            if r not in CARE_RULE_IDS
        ]
        watched = {name for name in (r.metric for r in self.rules.rules) if name is not None}
        metric_keys = {name: key for key, name in metrics.items() if name in watched}
        pairs: list[tuple[int, int]] = []
        for key, _c, _i, kind, _seen in devices:
            for rule in self.rules.rules:
                mk = metric_keys.get(rule.metric) if rule.metric is not None else None
                if mk is not None and rule.applies_to(kind):
                    pairs.append((int(key), mk))
        pairs = sorted(set(pairs))
        # Times, not now() - window, and raw readings only from the hourly
        # rollup's split on (schemas.rollup_window.NEWEST): the planner then
        # keeps only the few raw partitions between them, and with the default
        # partition out of the way scans them newest first and stops at the
        # first reading. Ingest takes no reading more than 5 minutes ahead
        # (ingest.timestamps), so an hour ahead loses none.
        row = conn.execute(
            "SELECT now() - %s::interval, now() + interval '1 hour'", (LAST_READINGS_WINDOW,)
        ).fetchone()
        assert row is not None
        split = split_of(conn.execute(SPLIT, {"source": "readings_1h"}).fetchone())
        bounds = newest_bounds(row[0], row[1], split)
        keys = {"keys": [p[0] for p in pairs], "metrics": [p[1] for p in pairs]}
        last = [
            LastReading(int(d), int(m), float(t), float(v))
            for d, m, t, v in conn.execute(_LAST, {**keys, **bounds}).fetchall()
        ]
        engine = RuleEngine(
            self.rules, devices=_refs(devices), metrics=metrics, active=active, last=last
        )
        self._known = {int(row[0]) for row in devices}
        self._max_key = max(self._known, default=0)
        self._metrics = set(metrics)
        log.info(
            "alarm engine loaded: %d devices, %d active alarms, %d latest readings",
            len(devices),
            len(active),
            len(last),
        )
        if engine.orphans:
            self._clear_orphans(conn, engine.orphans)
        return engine

    def _clear_orphans(self, conn: Conn, orphans: tuple[ActiveAlarm, ...]) -> None:
        """Clear the active alarms no rule covers any more (rule removed or
        disabled, device gone or of another kind): nothing would ever clear them."""
        now = time.time()
        events = [
            AlarmEvent(
                "cleared",
                a.community,
                a.device,
                a.rule_id,
                None,
                a.severity,
                None,
                max(now, a.raised_at),
                "cleared: no alarm rule covers it any more",
            )
            for a in orphans
        ]
        for a in orphans:
            log.warning("alarm %s/%s/%s: no rule covers it", a.community, a.device, a.rule_id)
        with conn.transaction():
            write_alarm_events(conn, events, place_of=self.place_of, book=None)

    def _register_unknown(
        self, conn: Conn, engine: RuleEngine, device: np.ndarray, metric: np.ndarray
    ) -> None:
        """Devices and metrics first seen in this batch (registered by it, or since the load)."""
        new = [k for k in np.unique(device).tolist() if k not in self._known]
        if new:
            rows = conn.execute(_DEVICES_BY_KEY, {"scope": self._scope, "keys": new}).fetchall()
            self._refresh_devices(conn, engine, rows)
        if any(k not in self._metrics for k in np.unique(metric).tolist()):
            for key, name in conn.execute(_METRICS).fetchall():
                engine.register_metric(int(key), str(name))
                self._metrics.add(int(key))

    def _refresh_devices(self, conn: Conn, engine: RuleEngine, rows: list[Any]) -> None:
        for ref in _refs(rows):
            engine.register_device(ref)
            self._known.add(ref.key)
            self._max_key = max(self._max_key, ref.key)

    def _write(self, conn: Conn, events: Iterable[AlarmEvent]) -> AlarmWriteResult:
        return write_alarm_events(conn, list(events), place_of=self.place_of, book=self.book)

    def place_of(self, conn: Conn, community: str, device: str) -> AlarmPlace:
        """Where a device's alarm is: its placement, or where a mobile device last was."""
        info = self.places.device(conn, community, device)
        if info is None:
            return NOWHERE
        if info.mobile:
            p = self.places.last_place(info.key)
            if p is not None:
                return AlarmPlace(p.building, p.storey, p.unit, p.grid)
        return AlarmPlace(info.building, info.storey, info.unit, info.grid, info.x, info.y, info.z)


def _refs(rows: Iterable[Any]) -> list[DeviceRef]:
    return [
        DeviceRef(int(key), str(c), str(i), kind, None if seen is None else float(seen))
        for key, c, i, kind, seen in rows
    ]
