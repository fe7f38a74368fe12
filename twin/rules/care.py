"""The daily check of elderly people living alone: a quiet daytime raises ``care_check``.

A home whose household :attr:`~twin.model.households.Household.needs_daily_check`
(a care home whose resident lives alone) is *quiet* while none of its
devices shows a sign of life: no water drawn (a ``water_meter``'s
``flow_lpm`` above :attr:`CareConfig.min_flow_lpm`, or its ``water_m3``
counter going up), no opening of the home's ``door``, no ``motion``. Only
daytime counts (:attr:`CareConfig.day_start_h` to ``day_end_h`` local time):
a night's sleep is not quiet. When the quiet daytime reaches
:attr:`CareConfig.quiet_hours`, :meth:`CareEngine.tick` raises a critical
``care_check`` alarm dated at that moment, which opens an incident for the
home's grid worker (``ingest.care_stage``); the next sign of life clears it.

The alarm needs evidence: a home none of whose care devices has reported for
:attr:`CareConfig.alive_hours` is not raised (dead batteries are the no-data
rules' business), nor is a home never heard from.

The engine is pure and takes the clock as an argument, like ``twin.rules.engine``:
``evaluate``/``tick`` return an evaluation (events + state), ``apply`` makes
it the engine's state once the events are persisted.

>>> cfg = CareConfig(quiet_hours=4, day_start_h=7, day_end_h=21, utc_offset_h=0)
>>> home = CareHome("lanting", "b01", "1-101", anchor="motion-1")
>>> engine = CareEngine(cfg, [home], [CareDevice(5, 0, "motion")], {9: "motion"})
>>> H = 3600.0
>>> rows = [(5, 9, 8 * H, 1.0), (5, 9, 10 * H, 0.0), (5, 9, 12.5 * H, 0.0)]  # 0: heartbeat
>>> engine.apply(engine.evaluate(ReadingBatch.from_rows(rows)))
>>> engine.tick(11.5 * H).events, [e.ts / H for e in engine.tick(13 * H).events]
((), [12.0])
>>> engine.apply(engine.tick(13 * H))
>>> [(e.kind, e.ts / H) for e in engine.evaluate(
...     ReadingBatch.from_rows([(5, 9, 13.5 * H, 1.0)])).events]
[('cleared', 13.5)]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from twin.model.community import Community
from twin.rules.keys import KeyIndex
from twin.rules.readings import AlarmEvent, Floats, Int64s, ReadingBatch

CARE_CHECK = "care_check"
CARE_ANOMALY = "care_anomaly"
# Care alarms are not rules of twin.rules.engine: the rule engine leaves them alone.
CARE_RULE_IDS: frozenset[str] = frozenset({CARE_CHECK, CARE_ANOMALY})
# Rule id → category of the incident its critical alarm opens.
CARE_INCIDENT_CATEGORIES: Mapping[str, str] = {CARE_CHECK: "care_check"}
# Devices whose readings are signs of life, and the metric of each that counts.
ACTIVITY_METRICS: Mapping[str, tuple[str, ...]] = {
    "water_meter": ("flow_lpm", "water_m3"),
    "door": ("open",),
    "motion": ("motion",),
}
_ANCHOR_PREFERENCE = ("motion", "water_meter", "door")
DAY = 86400.0


@dataclass(frozen=True)
class CareConfig:
    quiet_hours: float = 4.0
    day_start_h: float = 7.0
    day_end_h: float = 21.0
    utc_offset_h: float = 8.0  # China Standard Time has no daylight saving
    min_flow_lpm: float = 0.5  # a dripping tap is not a sign of life
    alive_hours: float = 2.0
    severity: str = "critical"

    def __post_init__(self) -> None:
        if not 0 <= self.day_start_h < self.day_end_h <= 24:
            raise ValueError("care check: need 0 <= day_start_h < day_end_h <= 24")
        if not (self.quiet_hours > 0 and self.alive_hours > 0):
            raise ValueError("care check: quiet_hours and alive_hours must be positive")


def daytime_clock(t: Floats | float, cfg: CareConfig) -> Floats:
    """Daytime seconds since the epoch: flat at night, so differences count daytime only.

    >>> cfg = CareConfig(day_start_h=7, day_end_h=21, utc_offset_h=8)
    >>> H = 3600.0
    >>> float(daytime_clock(1 * H, cfg) - daytime_clock(-3 * H, cfg)) / H  # 05:00-09:00 local
    2.0
    >>> float(daytime_clock(14 * H, cfg) - daytime_clock(13 * H, cfg))  # 21:00-22:00 local
    0.0
    """
    local = np.asarray(t, dtype=np.float64) + cfg.utc_offset_h * 3600.0
    day = np.floor(local / DAY)
    start, length = cfg.day_start_h * 3600.0, (cfg.day_end_h - cfg.day_start_h) * 3600.0
    return np.asarray(day * length + np.clip(local - day * DAY - start, 0.0, length))


def daytime_moment(clock: Floats | float, cfg: CareConfig) -> Floats:
    """The first epoch time at which :func:`daytime_clock` reaches ``clock``.

    >>> cfg = CareConfig(day_start_h=7, day_end_h=21, utc_offset_h=0)
    >>> H = 3600.0
    >>> [float(daytime_moment(daytime_clock(t, cfg), cfg)) / H for t in (8 * H, 23 * H)]
    [8.0, 21.0]
    """
    c = np.asarray(clock, dtype=np.float64)
    start, length = cfg.day_start_h * 3600.0, (cfg.day_end_h - cfg.day_start_h) * 3600.0
    day = np.floor(c / length)
    into = c - day * length
    # Exactly at a day's worth: reached at the previous day's end, not the next start.
    at_end = into <= 1e-4  # (float rounding of day * length)
    local = np.where(at_end, (day - 1) * DAY + start + length, day * DAY + start + into)
    return np.asarray(local - cfg.utc_offset_h * 3600.0)


@dataclass(frozen=True)
class CareHome:
    """A home under the daily check; ``anchor`` is the device its alarm is raised on."""

    community: str
    building: str
    unit: str
    anchor: str


@dataclass(frozen=True)
class CareDevice:
    """A device of a checked home: ``key`` is ``devices.key``, ``home`` an index into
    the engine's homes."""

    key: int
    home: int
    kind: str


def care_homes(
    community: Community, devices: Iterable[tuple[int, str, str | None, str | None, str | None]]
) -> tuple[list[CareHome], list[CareDevice]]:
    """The homes a community's daily check watches, and their activity devices.

    ``devices`` are ``(key, id, kind, building, unit)`` rows. A home needs a
    household that :attr:`~twin.model.households.Household.needs_daily_check` and at
    least one activity device; its alarm goes on its motion sensor, else its
    water meter, else its door (the first by id), so it shows in the elderly scene
    whenever the home has an elderly-scene device.
    """
    checked = {
        (b.id, u.id)
        for b in community.buildings
        for u in b.units
        if u.household is not None and u.household.needs_daily_check
    }
    by_home: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
    for key, did, kind, building, unit in devices:
        if kind is None or kind not in ACTIVITY_METRICS or building is None or unit is None:
            continue
        if (building, unit) in checked:
            by_home.setdefault((building, unit), []).append((key, did, kind))
    homes: list[CareHome] = []
    members: list[CareDevice] = []
    for (building, unit), found in sorted(by_home.items()):
        found.sort(key=lambda d: (_ANCHOR_PREFERENCE.index(d[2]), d[1]))
        homes.append(CareHome(community.id, building, unit, anchor=found[0][1]))
        members.extend(CareDevice(key, len(homes) - 1, kind) for key, _, kind in found)
    return homes, members


@dataclass(frozen=True, eq=False)
class CareEvaluation:
    events: tuple[AlarmEvent, ...]
    generation: int
    active: Int64s  # homes whose alarm state changed ...
    active_to: np.ndarray  # ... to this (bool)
    activity: Floats  # per home: newest sign of life (NaN: unchanged)
    seen: Floats  # per home: newest reading of any of its devices
    first: Floats  # per home: first reading ever seen
    counter_keys: Int64s  # water counters: device slot ...
    counter_values: Floats  # ... and its newest value


_NO_I64 = np.empty(0, dtype=np.int64)
HomeKey = tuple[str, str, str]  # community, building, unit
HomeState = tuple[float, float, float, bool]  # activity, seen, first, active


class CareEngine:
    """The daily-check state of every watched home (see the module doc)."""

    def __init__(
        self,
        config: CareConfig,
        homes: Sequence[CareHome],
        devices: Sequence[CareDevice],
        metrics: Mapping[int, str],
        *,
        active: Iterable[tuple[str, str]] = (),
        last_activity: Mapping[tuple[str, str, str], float] | None = None,
    ) -> None:
        self.config = config
        self.homes = tuple(homes)
        n = len(self.homes)
        self._slot = KeyIndex()
        self._home_of = np.array([d.home for d in devices], dtype=np.int64)
        kinds = [d.kind for d in devices]
        for slot, d in enumerate(devices):
            self._slot[d.key] = slot
        self._is = {k: np.array([x == k for x in kinds], dtype=np.bool_) for k in ACTIVITY_METRICS}
        self._metric = KeyIndex()
        self._names = ("flow_lpm", "water_m3", "open", "motion")
        for key, name in metrics.items():
            self.register_metric(key, name)
        self._counter = np.full(len(devices), np.nan)
        self._activity = np.full(n, np.nan)
        self._seen = np.full(n, np.nan)
        self._first = np.full(n, np.nan)
        anchors = {(h.community, h.anchor): i for i, h in enumerate(self.homes)}
        self._active = np.zeros(n, dtype=np.bool_)
        for pair in active:
            if pair in anchors:
                self._active[anchors[pair]] = True
        for i, h in enumerate(self.homes):
            t = (last_activity or {}).get((h.community, h.building, h.unit))
            if t is not None:
                self._activity[i] = t
        self.generation = 0

    def register_metric(self, key: int, name: str) -> None:
        self._metric[key] = self._names.index(name) if name in self._names else -1

    def state(self) -> dict[HomeKey, HomeState]:
        """Per home ``(community, building, unit)``: newest activity, newest reading,
        first reading, alarm active. Carried over when the homes change."""
        return {
            (h.community, h.building, h.unit): (
                float(self._activity[i]),
                float(self._seen[i]),
                float(self._first[i]),
                bool(self._active[i]),
            )
            for i, h in enumerate(self.homes)
        }

    def restore(
        self, state: Mapping[tuple[str, str, str], tuple[float, float, float, bool]]
    ) -> None:
        for i, h in enumerate(self.homes):
            got = state.get((h.community, h.building, h.unit))
            if got is not None:
                self._activity[i] = np.fmax(self._activity[i], got[0])
                self._seen[i], self._first[i] = got[1], got[2]
                self._active[i] |= got[3]

    def evaluate(self, batch: ReadingBatch) -> CareEvaluation:
        """Signs of life in a batch of readings; clears the alarms they end."""
        n = len(self.homes)
        slot = self._slot.lookup(batch.device_key)
        known = slot >= 0
        slot, ts = slot[known], batch.ts[known]
        value, metric = batch.value[known], self._metric.lookup(batch.metric_key[known])
        home = self._home_of[slot]
        seen = np.full(n, np.nan)
        first = np.full(n, np.nan)
        np.fmax.at(seen, home, ts)
        np.fmin.at(first, home, ts)
        water = self._is["water_meter"][slot]
        alive = (water & (metric == 0) & (value > self.config.min_flow_lpm)) | (
            (metric >= 2) & (value >= 0.5) & ~water
        )
        # A counter going up (readings of one meter in time order) is water drawn.
        counting = np.flatnonzero(water & (metric == 1))
        counter_keys, counter_values = _NO_I64, np.empty(0)
        if counting.size:
            order = counting[np.lexsort((ts[counting], slot[counting]))]
            s, v = slot[order], value[order]
            prev = np.empty_like(v)
            prev[1:] = v[:-1]
            starts = np.ones(s.shape, dtype=np.bool_)
            starts[1:] = s[1:] != s[:-1]
            prev[starts] = self._counter[s[starts]]
            alive[order[v > prev]] = True
            ends = np.ones(s.shape, dtype=np.bool_)
            ends[:-1] = ~starts[1:]
            counter_keys, counter_values = s[ends], v[ends]
        activity = np.full(n, np.nan)
        np.fmax.at(activity, home[alive], ts[alive])
        # The alarm ends at the first sign of life after it was raised.
        earliest = np.full(n, np.nan)
        np.fmin.at(earliest, home[alive], ts[alive])
        ending = np.flatnonzero(self._active & ~np.isnan(earliest))
        events = tuple(self._event("cleared", int(i), float(earliest[i])) for i in ending)
        return CareEvaluation(
            events,
            self.generation,
            ending,
            np.zeros(ending.shape, dtype=np.bool_),
            activity,
            seen,
            first,
            counter_keys,
            counter_values,
        )

    def tick(self, now: float) -> CareEvaluation:
        """The ``care_check`` alarms due at ``now`` (epoch s), dated when the quiet
        daytime reached the limit."""
        cfg = self.config
        n = len(self.homes)
        # Quiet since the newest sign of life; without one, since first heard from.
        since = np.where(np.isnan(self._activity), self._first, self._activity)
        quiet_s = cfg.quiet_hours * 3600.0
        reached = daytime_clock(since, cfg) + quiet_s
        due = (
            ~self._active
            & ~np.isnan(since)
            & (daytime_clock(now, cfg) >= reached)
            & (self._seen >= now - cfg.alive_hours * 3600.0)
        )
        raised = np.flatnonzero(due)
        at = daytime_moment(reached[raised], cfg) if raised.size else np.empty(0)
        events = tuple(
            self._event("raised", int(i), float(t)) for i, t in zip(raised, at, strict=True)
        )
        none = np.full(n, np.nan)
        return CareEvaluation(
            events,
            self.generation,
            raised,
            np.ones(raised.shape, dtype=np.bool_),
            none,
            none,
            none,
            _NO_I64,
            np.empty(0),
        )

    def apply(self, ev: CareEvaluation) -> None:
        if ev.generation != self.generation:
            raise RuntimeError("care evaluation applied after another one: evaluate again")
        self._activity = np.fmax(self._activity, ev.activity)
        self._seen = np.fmax(self._seen, ev.seen)
        self._first = np.fmin(self._first, ev.first)
        self._counter[ev.counter_keys] = ev.counter_values
        self._active[ev.active] = ev.active_to
        self.generation += 1

    def active_homes(self) -> list[CareHome]:
        return [h for h, on in zip(self.homes, self._active.tolist(), strict=True) if on]

    def _event(self, kind: str, i: int, ts: float) -> AlarmEvent:
        h, hours = self.homes[i], self.config.quiet_hours
        quiet = f"no water use, door or motion in home {h.unit} for {hours:g} daytime hours"
        message = quiet if kind == "raised" else f"cleared: sign of life in home {h.unit}"
        return AlarmEvent(
            "raised" if kind == "raised" else "cleared",
            h.community,
            h.anchor,
            CARE_CHECK,
            None,
            self.config.severity,
            None,
            ts,
            message,
        )
