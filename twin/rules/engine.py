"""The alarm rule engine: reading batches (numpy arrays) in, alarm events out.

Evaluation is deterministic and takes the clock as an argument. It does not
change the engine: ``evaluate``/``tick`` return an `Evaluation` (events plus
the state change), and the caller ``apply``s it once the events are persisted,
so a rolled-back transaction leaves the engine as it was.

>>> from twin.rules.defaults import default_rules
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

import numpy as np
import numpy.typing as npt

from twin.rules.config import (
    RULE_TYPES,
    SEVERITIES,
    Rule,
    RuleError,
    RuleSet,
)
from twin.rules.defaults import critical_incident_category, default_rules
from twin.rules.loading import load_rules, load_rules_file
from twin.rules.readings import (
    ActiveAlarm,
    AlarmEvent,
    DeviceRef,
    Floats,
    Int64s,
    LastReading,
    ReadingBatch,
)
from twin.rules.state import Evaluation, RuleChange, RuleState, StaleEvaluationError
from twin.rules.transitions import (
    Outcome,
    duration_due,
    duration_transitions,
    level_transitions,
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

_NONE_I64 = np.empty(0, dtype=np.int64)
_NONE_F64 = np.empty(0, dtype=np.float64)
_Last = tuple[Int64s, Int64s, Floats, Floats]


class RuleEngine(RuleState):
    """Alarm state of every registered device, evaluated batch by batch.

    ``RuleEngine(rules, devices=[DeviceRef...], metrics={metric_key: name},
    active=[ActiveAlarm...], last=[LastReading...])`` rebuilds the state a
    previous process left in the database; ``orphans`` lists the active alarms
    the rules no longer cover.

    Readings of devices not registered are ignored; readings of metrics no rule
    watches only end no-data alarms. A reading not newer than the newest one
    already seen for its device/metric is ignored: alarms follow the newest
    reading, so redelivered or late data cannot re-raise a cleared alarm.
    """

    def evaluate(self, batch: ReadingBatch) -> Evaluation:
        """Alarm events caused by a batch of readings (the engine is not changed)."""
        slot = self._slots.lookup(batch.device_key)
        ts, value, metric_key = batch.ts, batch.value, batch.metric_key
        known = slot >= 0
        if not known.all():
            slot, ts, value, metric_key = slot[known], ts[known], value[known], metric_key[known]
        col = self._metric_cols.lookup(metric_key)
        kind = self._kind_code[slot]

        n = self._n
        seen = self._last_seen[:n].copy()
        np.fmax.at(seen, slot, ts)
        old_seen = self._last_seen[:n]
        seen_slots = np.flatnonzero((seen > old_seen) | (np.isnan(old_seen) & ~np.isnan(seen)))

        outcomes: list[tuple[int, Outcome]] = []
        lasts: list[_Last] = []
        present = np.flatnonzero(np.bincount(col[col >= 0], minlength=len(self._cols)))
        for c in present.tolist():
            rows = np.flatnonzero(col == c)
            s, t, v, k = self._ordered(slot[rows], ts[rows], value[rows], kind[rows], c)
            if not s.size:
                continue
            lasts.append(self._newest(s, np.full(s.shape, c, dtype=np.int64), t, v))
            for i in self._rules_of_col[c]:
                ok = self._applies[i][k]
                if ok.all():
                    outcomes.append((i, self._evaluate_rule(i, s, t, v)))
                elif ok.any():
                    outcomes.append((i, self._evaluate_rule(i, s[ok], t[ok], v[ok])))
        for i, rule in enumerate(self._rules):
            if rule.type == "no_data" and rule.metric is None:
                # Any newer reading, of any metric, ends the device's silence.
                hit = self._applies[i][kind] & ~(ts <= self._last_seen[slot])
                hit &= newest_on_arrival(slot, ts)
                outcomes.append((i, self._evaluate_rule(i, slot[hit], ts[hit], value[hit])))
        last: _Last | None = None
        if lasts:
            last = (
                np.concatenate([p[0] for p in lasts]),
                np.concatenate([p[1] for p in lasts]),
                np.concatenate([p[2] for p in lasts]),
                np.concatenate([p[3] for p in lasts]),
            )
        return self._evaluation(
            outcomes, seen_slots=seen_slots, seen_ts=seen[seen_slots], last=last
        )

    def _ordered(
        self, s: Int64s, t: Floats, v: Floats, k: Int64s, c: int
    ) -> tuple[Int64s, Floats, Floats, Int64s]:
        """One metric's readings that are newest on arrival, each device's in time order.

        Event time per device: a reading not newer than one evaluated before it
        (in an earlier batch, or earlier in this one) has no effect, however the
        readings were batched; of equal times the first to arrive counts, as the
        database's dedup key keeps it.
        """
        fresh = ~(t <= self._last_ts[s, c])
        if not fresh.all():
            s, t, v, k = s[fresh], t[fresh], v[fresh], k[fresh]
        by_slot = np.sort(s)
        if not (by_slot[1:] == by_slot[:-1]).any():
            return s, t, v, k  # one reading per device: nothing to order
        keep = newest_on_arrival(s, t)
        s, t, v, k = s[keep], t[keep], v[keep], k[keep]
        order = np.lexsort((t, s))
        return s[order], t[order], v[order], k[order]

    @staticmethod
    def _newest(s: Int64s, c: Int64s, t: Floats, v: Floats) -> _Last:
        """The last row of each device (rows ordered, or one per device)."""
        ends = np.ones(s.shape, dtype=np.bool_)
        ends[:-1] = s[1:] != s[:-1]
        return s[ends], c[ends], t[ends], v[ends]

    def _evaluate_rule(self, i: int, slots: Int64s, ts: Floats, values: Floats) -> Outcome:
        rule: Rule = self._rules[i]
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
        last: _Last | None = None,
    ) -> Evaluation:
        last = last or (_NONE_I64, _NONE_I64, _NONE_F64, _NONE_F64)
        events = [e for _, out in outcomes for e in out.events]
        events.sort(key=lambda e: e.ts)  # stable: per device and rule, in order
        changes = tuple(
            RuleChange(
                rule=i,
                slots=np.array(out.slots, dtype=np.int64),
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


def newest_on_arrival(groups: Int64s, ts: Floats) -> npt.NDArray[np.bool_]:
    """Which rows are newer than every earlier row (in arrival order) of their group.

    >>> newest_on_arrival(np.array([1, 1, 2, 1, 2]), np.array([10.0, 5.0, 3.0, 11.0, 3.0]))
    array([ True, False,  True,  True, False])
    """
    n = groups.shape[0]
    if n < 2:
        return np.ones(n, dtype=np.bool_)
    order = np.argsort(groups, kind="stable")  # arrival order kept within a group
    g = groups[order]
    _, rank = np.unique(ts[order], return_inverse=True)
    starts = np.ones(n, dtype=np.bool_)
    starts[1:] = g[1:] != g[:-1]
    # One increasing key: group number, then time rank, so a running max never
    # crosses from one group into the next.
    key = (np.cumsum(starts) - 1) * (int(rank.max()) + 1) + rank
    before = np.empty(n, dtype=np.int64)
    before[0] = -1
    before[1:] = np.maximum.accumulate(key)[:-1]
    keep = np.empty(n, dtype=np.bool_)
    keep[order] = starts | (key > before)
    return keep
