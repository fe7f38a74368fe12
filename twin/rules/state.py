"""The rule engine's memory: per device, the newest reading of each watched
metric, when it was last heard from, and each rule's alarm level and start.

Devices get dense slots in registration order; every array is indexed by
slot (and by metric column or rule), so a batch reads and writes it with
numpy fancy indexing. Only `apply` (and registration) change it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from twin.rules.config import RuleSet
from twin.rules.keys import KeyIndex
from twin.rules.readings import ActiveAlarm, AlarmEvent, DeviceRef, Floats, Int64s, LastReading
from twin.rules.transitions import Devices, Levels, levels_and_clear


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


class RuleState:
    def __init__(
        self,
        rules: RuleSet,
        devices: Iterable[DeviceRef] = (),
        metrics: Mapping[int, str] | None = None,
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
        self._rules_of_col = [
            [i for i, c in enumerate(self._rule_col) if c == col] for col in range(len(self._cols))
        ]
        self._generation = 0
        self._n = 0
        self._slots = KeyIndex()
        self._metric_cols = KeyIndex()
        self._slot_of_id: dict[tuple[str, str], int] = {}
        self._communities: list[str] = []
        self._ids: list[str] = []
        self._kinds: list[str | None] = []
        self._devices = Devices(self._communities, self._ids, self._kinds)
        self._kind_codes: dict[str | None, int] = {}
        self._applies = np.zeros((len(self._rules), 0), dtype=np.bool_)
        self._cap = 0
        nrule, ncol = len(self._rules), len(self._cols)
        self._kind_code: Int64s = np.zeros(0, dtype=np.int64)
        self._last_seen: Floats = np.zeros(0)
        self._last_ts: Floats = np.zeros((0, ncol))
        self._last_val: Floats = np.zeros((0, ncol))
        self._level: Levels = np.zeros((nrule, 0), dtype=np.int8)
        self._since: Floats = np.zeros((nrule, 0))
        self._grow(64)
        for ref in devices:
            self.register_device(ref)
        for key, name in (metrics or {}).items():
            self.register_metric(key, name)
        self.orphans = self._restore(list(last), list(active))

    def _grow(self, cap: int) -> None:
        """Grow the per-slot arrays to ``cap`` slots (doubling keeps appends cheap)."""
        pad = cap - self._cap
        nrule, ncol = len(self._rules), len(self._cols)
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
        slot = self._slots.get(ref.key)
        if slot < 0:
            slot = self._n
            if slot == self._cap:
                self._grow(self._cap * 2)
            self._n += 1
            self._slots[ref.key] = slot
            self._communities.append(ref.community)
            self._ids.append(ref.id)
            self._kinds.append(ref.kind)
        else:
            self._slot_of_id.pop((self._communities[slot], self._ids[slot]), None)
            self._communities[slot] = ref.community
            self._ids[slot] = ref.id
            self._kinds[slot] = ref.kind
        self._slot_of_id[(ref.community, ref.id)] = slot
        self._kind_code[slot] = self._kind(ref.kind)
        if ref.last_seen is not None:
            self._last_seen[slot] = np.fmax(self._last_seen[slot], ref.last_seen)

    def register_metric(self, key: int, name: str) -> None:
        """Tell the engine which ``metrics.key`` stands for which metric name."""
        self._metric_cols[key] = self._col_of_name.get(name, -1)

    def _restore(
        self, last: list[LastReading], active: list[ActiveAlarm]
    ) -> tuple[ActiveAlarm, ...]:
        """State after a restart: latest readings, then the active alarms. Returns
        the active alarms the rules no longer cover (rule removed, device gone or
        of another kind): the caller decides whether to clear them."""
        for r in last:
            slot = self._slots.get(r.device_key)
            col = self._metric_cols.get(r.metric_key)
            if slot < 0:
                continue
            self._last_seen[slot] = np.fmax(self._last_seen[slot], r.ts)
            if col >= 0 and not r.ts <= self._last_ts[slot, col]:
                self._last_ts[slot, col] = r.ts
                self._last_val[slot, col] = r.value
        n = self._n
        for i, rule in enumerate(self._rules):
            if rule.type == "duration":
                # The condition has held at least since the latest reading.
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
        return tuple(orphans)

    def active(self) -> dict[tuple[str, str, str], str]:
        """Active alarms: ``(community, device, rule_id) -> severity``."""
        out: dict[tuple[str, str, str], str] = {}
        for i, rule in enumerate(self._rules):
            for slot in np.flatnonzero(self._level[i, : self._n]).tolist():
                level = int(self._level[i, slot])
                key = (self._communities[slot], self._ids[slot], rule.id)
                out[key] = rule.levels[level - 1].severity
        return out

    @property
    def generation(self) -> int:
        """How many evaluations have been applied."""
        return self._generation

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
