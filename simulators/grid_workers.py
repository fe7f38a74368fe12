"""Simulated grid workers: when each incident is accepted, resolved and closed.

Pure and deterministic: times are simulated epoch seconds passed in, and each
incident's randomness comes from its own generator (seed and incident id), so
a plan depends only on the incident and on what its worker already has on
their desk. The residents' flow (:mod:`simulators.residents`) asks for the
plan of each report it makes; the worker desk shell
(:mod:`simulators.worker_desk`) does the same for incidents it learns of from
the API, e.g. those the ingestor opens from critical alarms (``alarm-<id>``).

The model (the figures are in docs/simulators.md):

* **Reaction**: the worker's app buzzes; they look within a lognormal delay
  (median 1.5 min for critical incidents, 4 min for urgent categories, 6 min
  otherwise; at night the on-call worker takes 12 min for ordinary reports).
* **Desk** (one per worker, the capacity): accepting an ordinary job takes the
  worker 0.5-2 minutes (a call, a look at the photo), one job after the other;
  a critical one is accepted at once but sends the worker on site for 8-20
  minutes, during which nothing else is accepted. A burst therefore queues,
  and the last ones of a burst miss the 30-minute respond deadline: the
  ingestor escalates them.
* **Work**: acceptance to resolution is lognormal around the category's
  median; ordinary work waits for the 07:30-21:00 shift. Workers work to the
  resolve deadline (the SLA of the ingestor's default policy): a job that
  would miss it is squeezed in before it 98 times out of 100. 4 % of repairs
  (lifts, lighting, facades, door access, greening) wait for a part or a
  contractor and are resolved 4-60 hours after the deadline.
* **Closure**: the resident confirms and rates it (median 2 h after the
  resolution); 5 % reopen it once (the worker accepts and works it again);
  7 % never answer, and the worker closes it after the follow-up call
  (回访) the next day. Alarm incidents are closed by the worker after the
  follow-up visit with the household's rating, 2 % are reopened.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from simulators import climate

MINUTE, HOUR = 60.0, 3600.0
WORK_START_H, WORK_END_H = 7.5, 21.0
RESPOND_S = {"critical": 5 * MINUTE, "ordinary": 30 * MINUTE}  # ingestor's DEFAULT_SLA
RESOLVE_S = {"critical": 2 * HOUR, "ordinary": 24 * HOUR}
CRITICAL_CATEGORIES = frozenset({"fire", "fall", "sos", "water_leak", "gas_leak"})
URGENT_CATEGORIES = frozenset({"water_leak", "elevator", "security", *CRITICAL_CATEGORIES})
REPAIRS = frozenset({"elevator", "lighting", "facade", "security", "greening"})
# Median hours from acceptance to resolution.
WORK_H: dict[str, float] = {
    "noise": 1.5,
    "garbage": 2.0,
    "parking": 1.0,
    "water_leak": 0.8,
    "elevator": 1.5,
    "lighting": 6.0,
    "greening": 10.0,
    "pets": 3.0,
    "security": 2.0,
    "facade": 16.0,
    "other": 5.0,
    "fire": 0.4,
    "gas_leak": 0.6,
    "fall": 0.7,
    "sos": 0.5,
    "care_check": 0.5,
}
SATISFACTION = ((5, 0.55), (4, 0.28), (3, 0.10), (2, 0.05), (1, 0.02))
ALARM_SATISFACTION = ((5, 0.70), (4, 0.25), (3, 0.05))


@dataclass(frozen=True, slots=True)
class Job:
    """An incident as a worker sees it, and where its life stands."""

    incident: str
    category: str | None
    priority: str  # low | normal | high | critical
    reported_at: float
    worker: str
    status: str = "dispatched"  # the state to continue from
    since: float | None = None  # no event before this (default: reported_at)
    reporter: str | None = None  # None: nobody to confirm (alarm-opened)

    @property
    def critical(self) -> bool:
        return self.priority == "critical" or self.category in CRITICAL_CATEGORIES

    @property
    def urgent(self) -> bool:
        return self.critical or self.priority == "high" or self.category in URGENT_CATEGORIES


@dataclass(frozen=True, slots=True)
class Step:
    """One planned incident event (``fields`` go into its payload)."""

    type: str
    at: float
    fields: dict[str, Any] = field(default_factory=dict)


def lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return rng.lognormvariate(math.log(median), sigma)


def weighted(rng: random.Random, pairs: tuple[tuple[int, float], ...]) -> int:
    return rng.choices([v for v, _ in pairs], weights=[w for _, w in pairs])[0]


def on_shift(t: float) -> bool:
    return WORK_START_H <= climate.local_hour(t) < WORK_END_H


def next_shift(t: float) -> float:
    """``t`` on shift, else the next 07:30 (Hangzhou time)."""
    if on_shift(t):
        return t
    return t + ((WORK_START_H - climate.local_hour(t)) % 24) * HOUR


def react_median_s(job: Job, t: float) -> float:
    if job.critical:
        return 1.5 * MINUTE
    if job.urgent:
        return 4 * MINUTE
    return 6 * MINUTE if on_shift(t) else 12 * MINUTE


class Desk:
    """One worker's time: the intervals already booked (accepting, on site).

    Jobs are planned roughly, not exactly, in time order (a neighbour's report
    planned with the first one, an incident learnt of late), so a booking goes
    into the first gap long enough, not just after the last one.

    >>> d = Desk()
    >>> d.book(100.0, 50.0), d.book(120.0, 50.0), d.book(0.0, 60.0), d.book(0.0, 200.0)
    (100.0, 150.0, 0.0, 200.0)
    """

    def __init__(self) -> None:
        self.busy: list[tuple[float, float]] = []  # sorted (emergencies may overlap)
        self.taken = 0  # jobs booked

    def book(self, earliest: float, length: float) -> float:
        """Book ``length`` seconds from the first free moment at or after ``earliest``."""
        self.taken += 1
        # Old bookings cannot matter any more: planning never goes days back.
        while self.busy and self.busy[0][1] < earliest - 2 * 86400.0:
            self.busy.pop(0)
        start = earliest
        at = 0
        for i, (b, e) in enumerate(self.busy):
            if e <= start:
                at = i + 1
                continue
            if b >= start + length:
                break
            start, at = max(start, e), i + 1
        self.busy.insert(at, (start, start + length))
        return start

    def force(self, start: float, length: float) -> None:
        """Book ``length`` from ``start`` whatever else is booked (an emergency)."""
        self.taken += 1
        self.busy.append((start, start + length))
        self.busy.sort()


@dataclass(frozen=True, slots=True)
class WorkerPace:
    """The knobs of the model (defaults: the figures of the module doc)."""

    triage_s: tuple[float, float] = (0.5 * MINUTE, 2 * MINUTE)
    on_site_s: tuple[float, float] = (8 * MINUTE, 20 * MINUTE)
    work_sigma: float = 0.7
    make_deadline: float = 0.98  # share of jobs at risk squeezed in before the deadline
    parts_wait: float = 0.04  # repairs waiting for a part or a contractor (past the deadline)
    reopen_resident: float = 0.05
    reopen_alarm: float = 0.02
    silent_resident: float = 0.07  # never confirm: closed after the follow-up call


class GridWorkers:
    """Every worker's desk, and the plan of each job they are given."""

    def __init__(self, seed: int, pace: WorkerPace | None = None) -> None:
        self.seed = seed
        self.pace = pace or WorkerPace()
        self.desks: dict[str, Desk] = {}
        self.planned: set[str] = set()  # incidents with a plan (never planned twice)

    def rng(self, incident: str) -> random.Random:
        return random.Random(f"{self.seed}/work/{incident}")

    def knows(self, incident: str) -> bool:
        return incident in self.planned

    def plan(self, job: Job, rng: random.Random | None = None) -> list[Step]:
        """The events that take ``job`` from its status to closed, in time order."""
        self.planned.add(job.incident)
        r = rng or self.rng(job.incident)
        desk = self.desks.setdefault(job.worker, Desk())
        t = max(job.since if job.since is not None else job.reported_at, job.reported_at)
        steps: list[Step] = []
        status = job.status
        if status == "reported":  # a grid without worker: the duty desk dispatches
            t += r.uniform(MINUTE, 5 * MINUTE)
            steps.append(Step("dispatched", t, {"assignee": job.worker, "note": "网格派单"}))
            status = "dispatched"
        for round_ in (1, 2):
            if status == "dispatched":
                t = self._accept(job, desk, t, r, rework=round_ > 1)
                steps.append(Step("accepted", t, {"assignee": job.worker, "note": "已接单"}))
                status = "accepted"
            if status == "accepted":
                t = self._resolve(job, t, r, rework=round_ > 1)
                steps.append(Step("resolved", t, {"assignee": job.worker, "note": "已处理完毕"}))
                status = "resolved"
            if status != "resolved":
                return steps  # closed or cancelled already: nothing to do
            t, step = self._after_resolution(job, t, r, last_round=round_ > 1)
            steps.append(step)
            if step.type == "closed":
                return steps
            status = "dispatched"  # reopened: back to the worker
        return steps

    def _accept(self, job: Job, desk: Desk, t: float, r: random.Random, *, rework: bool) -> float:
        p = self.pace
        looked = t + lognormal(r, react_median_s(job, t), 0.5)
        if rework:
            # Planned now for a reopening hours ahead: the worker knows the case.
            return looked + r.uniform(*p.triage_s)
        if job.critical:
            # Drop everything: accepted at once, then on site; the desk waits.
            desk.force(looked, r.uniform(*p.on_site_s))
            return looked
        length = r.uniform(*p.triage_s)
        return desk.book(looked, length) + length

    def _resolve(self, job: Job, accepted: float, r: random.Random, *, rework: bool) -> float:
        median_h = WORK_H.get(job.category or "other", WORK_H["other"]) * (0.5 if rework else 1.0)
        work = lognormal(r, median_h * HOUR, 0.5 if job.critical else self.pace.work_sigma)
        start = accepted if job.urgent else next_shift(accepted)
        done = start + work
        if not job.urgent and not on_shift(done):
            done = next_shift(done) + r.uniform(10 * MINUTE, 90 * MINUTE)
        due = job.reported_at + RESOLVE_S["critical" if job.critical else "ordinary"]
        squeezed_from = max(accepted + 10 * MINUTE, due - 0.25 * (due - job.reported_at))
        if job.category in REPAIRS and not rework and r.random() < self.pace.parts_wait:
            # A part to order, a contractor to book: resolved days later, overdue meanwhile.
            return next_shift(max(done, due) + r.uniform(4 * HOUR, 60 * HOUR))
        latest = due - 5 * MINUTE
        if done > latest and squeezed_from < latest and r.random() < self.pace.make_deadline:
            done = r.uniform(squeezed_from, latest)
        return done

    def _after_resolution(
        self, job: Job, t: float, r: random.Random, *, last_round: bool
    ) -> tuple[float, Step]:
        p = self.pace
        roll = r.random()
        if job.reporter is None:  # alarm-opened: the worker's follow-up visit closes it
            t += lognormal(r, 1.5 * HOUR, 0.5)
            if not last_round and roll < p.reopen_alarm:
                return t, Step("reopened", t, {"note": "报警复发，再次处理"})
            score = weighted(r, ALARM_SATISFACTION)
            fields = {"assignee": job.worker, "satisfaction": score, "note": "回访确认，已办结"}
            return t, Step("closed", t, fields)
        confirm = t + lognormal(r, 2 * HOUR, 0.8)
        if not job.urgent:
            confirm = next_shift(confirm)
        if not last_round and roll < p.reopen_resident:
            fields = {"reporter": job.reporter, "note": "问题仍未解决"}
            return confirm, Step("reopened", confirm, fields)
        if roll < p.reopen_resident + p.silent_resident:
            # No answer: the worker calls back the next day and closes it.
            t = next_shift(t + 20 * HOUR + r.uniform(0, 4 * HOUR))
            fields = {"assignee": job.worker, "satisfaction": weighted(r, SATISFACTION)}
            return t, Step("closed", t, {**fields, "note": "回访确认，已办结"})
        score = weighted(r, SATISFACTION) if not last_round else r.randint(2, 4)
        note = "满意" if score >= 4 else ("一般" if score == 3 else "不满意")
        fields = {"reporter": job.reporter, "satisfaction": score, "note": note}
        return confirm, Step("closed", confirm, fields)
