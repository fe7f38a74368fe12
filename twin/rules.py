"""The alarm rule engine: reading batches (numpy arrays) in, alarm events out.

Evaluation is deterministic and takes the clock as an argument. It does not
change the engine: ``evaluate``/``tick`` return an `Evaluation` (events plus
the state change), and the caller ``apply``s it once the events are persisted,
so a rolled-back transaction leaves the engine as it was.

>>> from twin.rules_defaults import default_rules
>>> engine = RuleEngine(default_rules(), devices=[DeviceRef(1, "lanting", "smoke-1", "smoke")],
...                     metrics={10: "smoke", 11: "temperature"})
>>> ev = engine.evaluate(ReadingBatch.from_rows([(1, 10, 100.0, 0.0), (1, 10, 101.0, 1.0)]))
>>> [(e.kind, e.rule_id, e.severity, e.ts, e.message) for e in ev.events]
[('raised', 'smoke', 'critical', 101.0, 'smoke detected')]
>>> engine.apply(ev)
>>> [(e.kind, e.ts) for e in engine.step(ReadingBatch.from_rows([(1, 10, 102.0, 0.0)]))]
[('cleared', 102.0)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from twin.rules_config import (
    RULE_TYPES,
    SEVERITIES,
    Rule,
    RuleError,
    RuleSet,
    load_rules,
    load_rules_file,
)
from twin.rules_defaults import critical_incident_category, default_rules
from twin.rules_readings import (
    ActiveAlarm,
    AlarmEvent,
    DeviceRef,
    Floats,
    Int64s,
    LastReading,
    ReadingBatch,
)
from twin.rules_transitions import (
    Devices,
    Levels,
    Outcome,
    duration_due,
    duration_transitions,
    level_transitions,
    levels_and_clear,
    no_data_clears,
    no_data_due,
    rates,
)

__all__ = [
    "RULE_TYPES",
    "SEVERITIES",
    "ActiveAlarm",
    "AlarmEvent",
    "DeviceRef",
    "Evaluation",
    "LastReading",
    "ReadingBatch",
    "Rule",
    "RuleEngine",
    "RuleError",
    "RuleSet",
    "StaleEvaluationError",
    "critical_incident_category",
    "default_rules",
    "load_rules",
    "load_rules_file",
]


class StaleEvaluationError(RuntimeError):
    """An evaluation applied after another one changed the engine's state."""


@dataclass(frozen=True, eq=False)
class RuleChange:
    rule: int
    slots: Int64s
    levels: Levels
    since: Floats


@dataclass(frozen=True, eq=False)
class Evaluation:
    """Alarm events of one batch or tick, and the state change that goes with them."""

    events: tuple[AlarmEvent, ...]
    generation: int
    seen_slots: Int64s
    seen_ts: Floats
    last_slots: Int64s
    last_cols: Int64s
    last_ts: Floats
    last_values: Floats
    rule_changes: tuple[RuleChange, ...]


def _lookup(keys: Int64s, values: Int64s, wanted: Int64s) -> Int64s:
    """``values[i]`` where ``keys[i] == wanted`` (keys sorted), else -1."""
    if keys.size == 0:
        return np.full(wanted.shape, -1, dtype=np.int64)
    pos = np.minimum(np.searchsorted(keys, wanted), keys.size - 1)
    return np.where(keys[pos] == wanted, values[pos], -1)


def _i64(values: Iterable[int]) -> Int64s:
    return np.fromiter(values, dtype=np.int64)


_NONE_I64 = np.empty(0, dtype=np.int64)
_NONE_F64 = np.empty(0, dtype=np.float64)


class RuleEngine:
    """Alarm state of every registered device, evaluated batch by batch.

    Readings of devices not registered, and of metrics no rule watches, only
    count for no-data rules (or nothing, for unregistered devices). A reading
    older than the newest one already seen for its device/metric is ignored:
    alarms follow the newest reading (redelivered or late data cannot re-raise
    a cleared alarm).
    """

    def __init__(
        self,
        rules: RuleSet,
        devices: Iterable[DeviceRef] = (),
        metrics: Mapping[int, str] = {},
        active: Iterable[ActiveAlarm] = (),
        last: Iterable[LastReading] = (),
    ) -> None:
        self.rules = rules
        self._rules = rules.rules
        self._cols = sorted({r.metric for r in self._rules if r.metric is not None})
        self._col_of_name = {name: i for i, name in enumerate(self._cols)}
        self._rule_col = [
            self._col_of_name[r.metric] if r.metric is not None else -1 for r in self._rules
        ]
        self._generation = 0
        self._n = 0
        self._slot_of_key: dict[int, int] = {}
        self._slot_of_id: dict[tuple[str, str], int] = {}
        self._keys: list[int] = []
        self._devices = Devices(community=[], id=[], kind=[])
        self._kind_codes: dict[str | None, int] = {}
        self._applies = np.zeros((len(self._rules), 0), dtype=np.bool_)
        self._alloc(64)
        self._metric_cols: dict[int, int] = {}
        self._dev_index: tuple[Int64s, Int64s] = (_NONE_I64, _NONE_I64)
        self._met_index: tuple[Int64s, Int64s] = (_NONE_I64, _NONE_I64)
        for ref in devices:
            self.register_device(ref)
        for key, name in metrics.items():
            self.register_metric(key, name)
        self._restore(list(last), list(active))

    # ----------------------------------------------------------- registration
    def _alloc(self, cap: int) -> None:
        """Grow the per-slot arrays to ``cap`` slots (doubling keeps appends cheap)."""
        ncol, nrule = len(self._cols), len(self._rules)
        old = getattr(self, "_cap", 0)
        pad = cap - old
        if old == 0:
            self._kind_code: Int64s = np.zeros(0, dtype=np.int64)
            self._last_seen: Floats = np.zeros(0)
            self._last_ts: Floats = np.zeros((0, ncol))
            self._last_val: Floats = np.zeros((0, ncol))
            self._level: Levels = np.zeros((nrule, 0), dtype=np.int8)
            self._since: Floats = np.zeros((nrule, 0))
        self._cap = cap
        self._kind_code = np.concatenate([self._kind_code, np.zeros(pad, np.int64)])
        self._last_seen = np.concatenate([self._last_seen, np.full(pad, np.nan)])
        self._last_ts = np.vstack([self._last_ts, np.full((pad, ncol), np.nan)])
        self._last_val = np.vstack([self._last_val, np.full((pad, ncol), np.nan)])
        self._level = np.hstack([self._level, np.zeros((nrule, pad), np.int8)])
        self._since = np.hstack([self._since, np.full((nrule, pad), np.nan)])

    def _kind(self, kind: str | None) -> int:
        code = self._kind_codes.get(kind)
        if code is None:
            code = self._kind_codes[kind] = len(self._kind_codes)
            column = np.array([[r.applies_to(kind)] for r in self._rules], dtype=np.bool_)
            self._applies = np.hstack([self._applies, column.reshape(len(self._rules), 1)])
        return code

    def register_device(self, ref: DeviceRef) -> None:
        """Add a device, or update its kind/id (same key). Call before its readings."""
        slot = self._slot_of_key.get(ref.key)
        if slot is None:
            slot = self._n
            if slot == self._cap:
                self._alloc(self._cap * 2)
            self._n += 1
            self._slot_of_key[ref.key] = slot
            self._keys.append(ref.key)
            assert isinstance(self._devices.community, list)
            assert isinstance(self._devices.id, list)
            assert isinstance(self._devices.kind, list)
            self._devices.community.append(ref.community)
            self._devices.id.append(ref.id)
            self._devices.kind.append(ref.kind)
            self._dev_index = (_NONE_I64, _NONE_I64)  # rebuilt on next use
        else:
            old = (self._devices.community[slot], self._devices.id[slot])
            self._slot_of_id.pop(old, None)
            self._devices.community[slot] = ref.community  # type: ignore[index]
            self._devices.id[slot] = ref.id  # type: ignore[index]
            self._devices.kind[slot] = ref.kind  # type: ignore[index]
        self._slot_of_id[(ref.community, ref.id)] = slot
        self._kind_code[slot] = self._kind(ref.kind)
        if ref.last_seen is not None:
            self._last_seen[slot] = np.fmax(self._last_seen[slot], ref.last_seen)

    def register_metric(self, key: int, name: str) -> None:
        """Tell the engine which ``metrics.key`` stands for which metric name."""
        col = self._col_of_name.get(name, -1)
        if self._metric_cols.get(key) != col:
            self._metric_cols[key] = col
            self._met_index = (_NONE_I64, _NONE_I64)

    def _indexes(self) -> tuple[tuple[Int64s, Int64s], tuple[Int64s, Int64s]]:
        if self._dev_index[0].size != self._n:
            keys = _i64(self._keys)
            order = np.argsort(keys)
            self._dev_index = (keys[order], order.astype(np.int64))
        if self._met_index[0].size != len(self._metric_cols):
            mk = _i64(self._metric_cols)
            mc = _i64(self._metric_cols.values())
            order = np.argsort(mk)
            self._met_index = (mk[order], mc[order])
        return self._dev_index, self._met_index

    # ------------------------------------------------------------- rebuild
    def _restore(self, last: list[LastReading], active: list[ActiveAlarm]) -> None:
        """State after a restart: latest readings, then the active alarms."""
        for r in last:
            slot = self._slot_of_key.get(r.device_key)
            col = self._metric_cols.get(r.metric_key, -1)
            if slot is None:
                continue
            self._last_seen[slot] = np.fmax(self._last_seen[slot], r.ts)
            if col >= 0 and not r.ts <= self._last_ts[slot, col]:
                self._last_ts[slot, col] = r.ts
                self._last_val[slot, col] = r.value
        n = self._n
        for i, rule in enumerate(self._rules):
            if rule.type != "duration":
                continue
            col = self._rule_col[i]
            level, _ = levels_and_clear(rule, self._last_val[:n, col])
            holding = (level > 0) & self._applies[i][self._kind_code[:n]]
            self._since[i, :n] = np.where(holding, self._last_ts[:n, col], np.nan)
        index = {r.id: i for i, r in enumerate(self._rules)}
        orphans: list[ActiveAlarm] = []
        for alarm in active:
            i = index.get(alarm.rule_id, -1)
            slot = self._slot_of_id.get((alarm.community, alarm.device), -1)
            if i < 0 or slot < 0 or not self._applies[i, self._kind_code[slot]]:
                orphans.append(alarm)
                continue
            rule = self._rules[i]
            severities = [lv.severity for lv in rule.levels]
            found = severities.index(alarm.severity) + 1 if alarm.severity in severities else 1
            self._level[i, slot] = max(int(self._level[i, slot]), found)
            if rule.type == "duration":
                self._since[i, slot] = alarm.raised_at - rule.for_s
            elif rule.type == "no_data":
                self._since[i, slot] = alarm.raised_at
        # Active alarms the rules no longer cover (rule removed, device gone or
        # of another kind): the caller decides whether to clear them.
        self.orphans: tuple[ActiveAlarm, ...] = tuple(orphans)

    def active(self) -> dict[tuple[str, str, str], str]:
        """Active alarms: ``(community, device, rule_id) -> severity``."""
        out: dict[tuple[str, str, str], str] = {}
        for i, rule in enumerate(self._rules):
            for slot in np.flatnonzero(self._level[i, : self._n]).tolist():
                level = int(self._level[i, slot])
                key = (self._devices.community[slot], self._devices.id[slot], rule.id)
                out[key] = rule.levels[level - 1].severity
        return out

    @property
    def generation(self) -> int:
        """How many evaluations have been applied."""
        return self._generation

    # ----------------------------------------------------------- evaluation
    def evaluate(self, batch: ReadingBatch) -> Evaluation:
        """Alarm events caused by a batch of readings (the engine is not changed)."""
        (dev_keys, dev_slots), (met_keys, met_cols) = self._indexes()
        slot = _lookup(dev_keys, dev_slots, batch.device_key)
        known = slot >= 0
        ts, value, metric_key = batch.ts, batch.value, batch.metric_key
        if not known.all():
            slot, ts, value, metric_key = slot[known], ts[known], value[known], metric_key[known]
        col = _lookup(met_keys, met_cols, metric_key)

        n = self._n
        seen = self._last_seen[:n].copy()
        np.fmax.at(seen, slot, ts)
        old_seen = self._last_seen[:n]
        seen_slots = np.flatnonzero((seen > old_seen) | (np.isnan(old_seen) & ~np.isnan(seen)))

        watched = col >= 0
        rs, rc, rt, rv = slot[watched], col[watched], ts[watched], value[watched]
        fresh = ~(rt <= self._last_ts[rs, rc])
        rs, rc, rt, rv = rs[fresh], rc[fresh], rt[fresh], rv[fresh]
        order = np.lexsort((rt, rc, rs))
        rs, rc, rt, rv = rs[order], rc[order], rt[order], rv[order]
        # One reading per device/metric/time, the first to arrive (as the
        # database's dedup key keeps it).
        dup = (rs[1:] == rs[:-1]) & (rc[1:] == rc[:-1]) & (rt[1:] == rt[:-1])
        if dup.any():
            keep = np.concatenate([[True], ~dup])
            rs, rc, rt, rv = rs[keep], rc[keep], rt[keep], rv[keep]
        ends = np.ones(rs.shape, dtype=np.bool_)
        ends[:-1] = (rs[1:] != rs[:-1]) | (rc[1:] != rc[:-1])

        outcomes: list[tuple[int, Outcome]] = []
        by_col = {c: np.flatnonzero(rc == c) for c in np.unique(rc).tolist()}
        for i, rule in enumerate(self._rules):
            if rule.type == "no_data" and rule.metric is None:
                # Any newer reading of the device ends its silence.
                hit = self._applies[i][self._kind_code[slot]] & ~(ts <= self._last_seen[slot])
                outcomes.append((i, self._evaluate_rule(i, rule, slot[hit], ts[hit], value[hit])))
                continue
            rows = by_col.get(self._rule_col[i])
            if rows is None:
                continue
            rows = rows[self._applies[i][self._kind_code[rs[rows]]]]
            if rows.size:
                outcomes.append((i, self._evaluate_rule(i, rule, rs[rows], rt[rows], rv[rows])))
        return self._evaluation(
            outcomes,
            seen_slots=seen_slots,
            seen_ts=seen[seen_slots],
            last=(rs[ends], rc[ends], rt[ends], rv[ends]),
        )

    def _evaluate_rule(
        self, i: int, rule: Rule, slots: Int64s, ts: Floats, values: Floats
    ) -> Outcome:
        level, since, devices = self._level[i], self._since[i], self._devices
        if rule.type == "no_data":
            return no_data_clears(
                rule, devices=devices, slots=slots, ts=ts, state=level, since=since
            )
        if rule.type == "duration":
            return duration_transitions(
                rule, devices=devices, slots=slots, ts=ts, x=values, state=level, since=since
            )
        if rule.type == "rate":
            col = self._rule_col[i]
            values = rates(
                rule,
                slots=slots,
                ts=ts,
                value=values,
                prev_ts=self._last_ts[:, col],
                prev_value=self._last_val[:, col],
            )
        return level_transitions(rule, devices=devices, slots=slots, ts=ts, x=values, state=level)

    def tick(self, now: float) -> Evaluation:
        """Alarms raised by the passage of time: no data, conditions held too long."""
        n = self._n
        outcomes: list[tuple[int, Outcome]] = []
        for i, rule in enumerate(self._rules):
            col = self._rule_col[i]
            if rule.type == "duration":
                out = duration_due(
                    rule,
                    devices=self._devices,
                    state=self._level[i, :n],
                    since=self._since[i, :n],
                    last_value=self._last_val[:n, col],
                    now=now,
                )
            elif rule.type == "no_data":
                last = self._last_seen[:n] if col < 0 else self._last_ts[:n, col]
                out = no_data_due(
                    rule,
                    devices=self._devices,
                    state=self._level[i, :n],
                    last=last,
                    applies=self._applies[i][self._kind_code[:n]],
                    now=now,
                )
            else:
                continue
            outcomes.append((i, out))
        return self._evaluation(outcomes)

    def _evaluation(
        self,
        outcomes: list[tuple[int, Outcome]],
        seen_slots: Int64s = _NONE_I64,
        seen_ts: Floats = _NONE_F64,
        last: tuple[Int64s, Int64s, Floats, Floats] = (_NONE_I64, _NONE_I64, _NONE_F64, _NONE_F64),
    ) -> Evaluation:
        events = [e for _, out in outcomes for e in out.events]
        events.sort(key=lambda e: e.ts)  # stable: per device and rule, in order
        changes = tuple(
            RuleChange(
                rule=i,
                slots=_i64(out.slots),
                levels=np.array(out.levels, dtype=np.int8),
                since=np.array(out.since, dtype=np.float64),
            )
            for i, out in outcomes
            if out.slots
        )
        return Evaluation(
            events=tuple(events),
            generation=self._generation,
            seen_slots=seen_slots,
            seen_ts=seen_ts,
            last_slots=last[0],
            last_cols=last[1],
            last_ts=last[2],
            last_values=last[3],
            rule_changes=changes,
        )

    def apply(self, evaluation: Evaluation) -> None:
        """Make an evaluation's state change the engine's state (after persisting)."""
        if evaluation.generation != self._generation:
            raise StaleEvaluationError(
                f"evaluation of generation {evaluation.generation} applied at"
                f" generation {self._generation}: evaluate again"
            )
        self._last_seen[evaluation.seen_slots] = evaluation.seen_ts
        self._last_ts[evaluation.last_slots, evaluation.last_cols] = evaluation.last_ts
        self._last_val[evaluation.last_slots, evaluation.last_cols] = evaluation.last_values
        for change in evaluation.rule_changes:
            self._level[change.rule, change.slots] = change.levels
            self._since[change.rule, change.slots] = change.since
        self._generation += 1

    def step(self, batch: ReadingBatch) -> list[AlarmEvent]:
        """Evaluate and apply at once (when nothing can roll back in between)."""
        evaluation = self.evaluate(batch)
        self.apply(evaluation)
        return list(evaluation.events)

    def step_tick(self, now: float) -> list[AlarmEvent]:
        evaluation = self.tick(now)
        self.apply(evaluation)
        return list(evaluation.events)

    def opens_incident(self, event: AlarmEvent) -> str | None:
        """The incident category to open for this event: a critical raise or
        escalation of a rule configured with an ``incident`` category."""
        if event.kind == "cleared" or event.severity != "critical":
            return None
        return self.rules.incident_category(event.rule_id)
