"""Elderly care in ingest: the daily check per batch and tick, the baseline job hourly.

* The daily check (:class:`twin.rules.care.CareEngine`) sees every batch's
  readings (a pipeline hook after the alarm stage's, inside the batch's
  transaction, under the alarm stage's lock) and clears ``care_check`` alarms
  at the first sign of life; the ticker's :meth:`CareStage.tick` raises the
  ones due. Its homes come from the community models :class:`ingest.places.Places`
  caches (households with :attr:`~twin.model.households.Household.needs_daily_check`
  and their activity devices), rebuilt when a model changes, state carried over.
  After a restart it restores the active alarms and each home's newest sign of
  life (flow, door opening, motion) of the last :data:`RESTORE_WINDOW`.
* The baseline job (:meth:`CareStage.baseline`, from the ticker every
  ``baseline_every_s``) scores the hour just ended of every care home's meter
  (``water_meter`` → ``water_m3``, ``home_meter`` → ``energy_kwh``) against
  the same hour of its previous 14 days (:mod:`twin.rules.care_baseline`), from
  ``readings_1h``, and raises or clears ``care_anomaly`` on the meter. It is
  stateless: the active alarms are read back each run, so running it again on
  the same hour (late readings) only ever corrects it.

Both write through :func:`ingest.alarm_writer.write_alarm_events`, so their
alarms are ordinary alarms (change log, /live, the cockpit) and a critical
``care_check`` opens an incident (category ``care_check``) dispatched to the
home's grid worker.
"""

from __future__ import annotations

import logging
import math
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
import psycopg

from ingest import care_sql
from ingest.alarm_engine import AlarmStage
from ingest.alarm_writer import write_alarm_events
from ingest.incident_writer import IncidentBook
from ingest.pipeline import BatchView
from ingest.policy import CareOptions
from twin.rules import care_baseline as cb
from twin.rules.care import (
    CARE_ANOMALY,
    CARE_CHECK,
    CareDevice,
    CareEngine,
    CareEvaluation,
    CareHome,
    care_homes,
)
from twin.rules.engine import AlarmEvent, ReadingBatch

log = logging.getLogger(__name__)

Conn = psycopg.Connection[Any]
RESTORE_WINDOW: Final = timedelta(days=2)
METER_METRIC: Final = {"water_meter": "water_m3", "home_meter": "energy_kwh"}
_ACTIVITY_PROBES: Final = {"water_meter": "flow_lpm", "door": "open", "motion": "motion"}
_METRICS: Final = "SELECT key, name FROM metrics"


REFRESH_S = 300.0
"""The clock re-reads the watched homes at least this often (else when a model loads)."""


class CareStage:
    def __init__(
        self,
        options: CareOptions,
        alarms: AlarmStage,
        book: IncidentBook,
        scope: care_sql.Scope = None,
    ) -> None:
        self.options = options
        self.scope = scope  # the communities this ingestor serves; None: all
        self.alarms = alarms
        self.book = book
        self.engine: CareEngine | None = None
        self._members: tuple[tuple[CareHome, ...], tuple[CareDevice, ...]] = ((), ())
        self._places_version = -1
        self._refreshed_at = -math.inf
        self._pending: CareEvaluation | None = None
        self._metric_keys: set[int] = set()

    # --- the batch path (committer thread, alarm stage's lock held) ----------

    def hook(self, conn: Conn, view: BatchView) -> None:
        cols = view.readings
        if cols is None or not len(cols):
            return
        engine = self._ensure(conn)
        metric = np.array(cols.metric, dtype=np.int64)
        unknown = set(np.unique(metric).tolist()) - self._metric_keys
        if unknown:  # metrics first written by this batch (or since the load)
            for key, name in conn.execute(_METRICS).fetchall():
                engine.register_metric(int(key), str(name))
                self._metric_keys.add(int(key))
        batch = ReadingBatch(
            np.array(cols.device, dtype=np.int64),
            metric,
            np.array(cols.ts_us, dtype=np.float64) / 1e6,
            np.array(cols.value, dtype=np.float64),
        )
        evaluation = engine.evaluate(batch)
        self._pending = evaluation
        if evaluation.events:
            self._write(conn, evaluation.events)

    def commit(self) -> None:
        """Before the alarm stage's commit hook, which gives the lock back."""
        if self._pending is not None and self.engine is not None:
            self.engine.apply(self._pending)
        self._pending = None

    def rollback(self) -> None:
        self._pending = None

    # --- the clock (ticker thread) -------------------------------------------

    def tick(self, conn: Conn, now: float) -> list[AlarmEvent]:
        """``care_check`` alarms due at ``now``, persisted in their own transaction."""
        with self.alarms.lock:
            # Re-reading 200 communities' homes every tick held up the batches
            # (this lock) at district size: only when a model was (re)loaded since.
            places = self.alarms.places
            if places.version != self._places_version or now - self._refreshed_at >= REFRESH_S:
                self._refresh(conn)
                self._places_version, self._refreshed_at = places.version, now
            engine = self._ensure(conn)
            evaluation = engine.tick(now)
            if evaluation.events:
                with conn.transaction():
                    self._write(conn, evaluation.events)
            engine.apply(evaluation)
        if evaluation.events:
            log.info("care check: %d homes quiet too long", len(evaluation.events))
        return list(evaluation.events)

    def baseline(self, conn: Conn, now: float) -> list[AlarmEvent]:
        """Score the hour just ended against each care meter's 14-day profile."""
        cfg = self.options.baseline
        target = int(now // cb.HOUR) - 1  # the hour just ended (epoch hours)
        first = target - 24 * cfg.days - 1  # one more: its level starts the first use
        meters = care_sql.care_meters(conn, list(METER_METRIC), self.scope)
        keys = care_sql.metric_keys(conn, list(METER_METRIC.values()))
        events: list[AlarmEvent] = []
        active = set(care_sql.active_alarms(conn, CARE_ANOMALY, self.scope))
        for kind, metric in METER_METRIC.items():
            group = [m for m in meters if m.kind == kind]
            if not group or metric not in keys:
                continue
            row_of = {m.key: i for i, m in enumerate(group)}
            compared = [target - 24 * k - d for k in range(cfg.days + 1) for d in (0, 1)]
            device, hour, last = care_sql.hourly_last(
                conn, [m.key for m in group], keys[metric], [_dt(h * cb.HOUR) for h in compared]
            )
            rows = np.fromiter((row_of[k] for k in device.tolist()), np.int64, device.size)
            usage = cb.hourly_usage(rows, hour - first, last, (len(group), target - first + 1))
            value, history = cb.hour_profile(usage, target - first, cfg.days)
            scores = cb.robust_scores(
                value, history, min_scale=cb.MIN_SCALE[metric], min_days=cfg.min_days
            )
            was = np.array([(m.community, m.id) in active for m in group], dtype=np.bool_)
            up, down = cb.transitions(scores.z, was, cfg)
            ts = (target + 1) * cb.HOUR
            local_h = int(
                ((target * cb.HOUR + self.options.check.utc_offset_h * 3600) // 3600) % 24
            )
            for i in np.flatnonzero(up | down).tolist():
                m = group[i]
                message = cb.describe(metric, scores, i, local_h)
                events.append(
                    AlarmEvent(
                        "raised" if up[i] else "cleared",
                        m.community,
                        m.id,
                        CARE_ANOMALY,
                        metric,
                        cfg.severity,
                        float(scores.value[i]),
                        ts,
                        message if up[i] else f"cleared: {message}",
                    )
                )
        if events:
            with self.alarms.lock, conn.transaction():
                self._write(conn, events)
            log.info("care baseline: %d alarm changes for hour %s", len(events), _dt(target * 3600))
        return events

    # --- state -----------------------------------------------------------------

    def _ensure(self, conn: Conn) -> CareEngine:
        if self.engine is None:
            self._refresh(conn, restore=True)
        assert self.engine is not None
        return self.engine

    def _refresh(self, conn: Conn, *, restore: bool = False) -> None:
        """(Re)build the engine when the watched homes or their devices changed."""
        homes: list[CareHome] = []
        devices: list[CareDevice] = []
        for cid in care_sql.communities(conn, self.scope):
            places = self.alarms.places.get(conn, cid)
            if places is None:
                continue
            rows = [(d.key, d.id, d.kind, d.building, d.unit) for d in places.devices.values()]
            found, members = care_homes(places.model, rows)
            offset = len(homes)
            homes.extend(found)
            devices.extend(CareDevice(d.key, d.home + offset, d.kind) for d in members)
        members_now = (tuple(homes), tuple(devices))
        if self.engine is not None and members_now == self._members:
            return
        metrics = {int(k): str(n) for k, n in conn.execute(_METRICS).fetchall()}
        self._metric_keys = set(metrics)
        old = self.engine
        if old is None or restore:
            engine = CareEngine(
                self.options.check,
                homes,
                devices,
                metrics,
                active=care_sql.active_alarms(conn, CARE_CHECK, self.scope),
                last_activity=self._restored_activity(conn, homes, devices, metrics),
            )
        else:
            engine = CareEngine(self.options.check, homes, devices, metrics)
            engine.restore(old.state())
        log.info("care check: %d homes, %d devices watched", len(homes), len(devices))
        self.engine, self._members = engine, members_now

    def _restored_activity(
        self,
        conn: Conn,
        homes: list[CareHome],
        devices: list[CareDevice],
        metrics: dict[int, str],
    ) -> dict[tuple[str, str, str], float]:
        key_of = {name: key for key, name in metrics.items()}
        probes = []
        for d in devices:
            name = _ACTIVITY_PROBES.get(d.kind)
            if name in key_of:
                above = self.options.check.min_flow_lpm if d.kind == "water_meter" else 0.5
                probes.append((d.key, key_of[name], above))
        since = datetime.now(UTC) - RESTORE_WINDOW
        newest = care_sql.newest_above(conn, probes, since)
        out: dict[tuple[str, str, str], float] = {}
        for d in devices:
            if d.key in newest:
                h = homes[d.home]
                k = (h.community, h.building, h.unit)
                out[k] = max(out.get(k, float("-inf")), newest[d.key])
        return out

    def _write(self, conn: Conn, events: tuple[AlarmEvent, ...] | list[AlarmEvent]) -> None:
        write_alarm_events(conn, list(events), place_of=self.alarms.place_of, book=self.book)


def _dt(epoch_s: float) -> datetime:
    return datetime.fromtimestamp(epoch_s, UTC)
