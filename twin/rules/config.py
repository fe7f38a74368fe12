"""Declarative alarm rules: their shape, and loading them from JSON with clear errors.

A rule watches one metric of one or more device kinds (``"*"`` = every kind):

* ``threshold``: ``op`` gt/ge/lt/le against ``value``; clears on the opposite
  side of ``clear`` (default: ``value``), so ``clear`` below a ``gt`` threshold
  is a hysteresis band. ``escalate`` lists further thresholds with higher
  severities; an active alarm only escalates (never steps down) until it clears.
* ``equals``: raised while the reading equals ``value`` (booleans are 1/0).
* ``rate``: the change per ``per_s`` seconds since the device's previous reading
  of that metric, compared like a threshold; readings more than ``max_gap_s``
  apart say nothing about the rate.
* ``duration``: a condition (``op`` incl. ``eq``) held for ``for_s`` seconds,
  also raised by the clock tick when no new reading arrives (a door left open).
* ``no_data``: no reading (of ``metric``, or of any metric) for ``minutes``;
  raised by the clock tick, cleared by the next reading.

>>> r = parse_rule({"id": "hot", "kind": "env", "metric": "temperature", "type": "threshold",
...                 "op": "gt", "value": 40, "clear": 35, "severity": "major",
...                 "message": "{value:.0f} °C"})
>>> r.severity, r.threshold, r.clear, r.render(r.message, value=41.2, device="d1")
('major', 40.0, 35.0, '41 °C')
>>> parse_rule({"id": "x", "kind": "env", "metric": "t", "type": "threshold", "op": "gt",
...             "value": 40, "clear": 45, "severity": "major", "message": "m"})
Traceback (most recent call last):
twin.rules.config.RuleError: rule 'x': clear (45.0) must be <= value (40.0) for op gt
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Ascending rank: an index into this tuple orders severities.
SEVERITIES: tuple[str, ...] = ("warning", "minor", "major", "critical")
RULE_TYPES: tuple[str, ...] = ("threshold", "equals", "rate", "duration", "no_data")
ANY_KIND = "*"

_UPPER = ("gt", "ge")
_LOWER = ("lt", "le")
_ID = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_METRIC = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_FIELDS = ("device", "kind", "metric", "value", "threshold", "severity", "for_s", "minutes")
_COMMON_KEYS = {"id", "kind", "type", "severity", "message", "clear_message", "incident"}
_KEYS_BY_TYPE: Mapping[str, set[str]] = {
    "threshold": {"metric", "op", "value", "clear", "escalate"},
    "equals": {"metric", "value"},
    "rate": {"metric", "op", "value", "clear", "escalate", "per_s", "max_gap_s"},
    "duration": {"metric", "op", "value", "clear", "for_s"},
    "no_data": {"metric", "minutes"},
}


class RuleError(ValueError):
    """A rule that cannot be used, with the rule's id (or position) in the message."""

    def __init__(self, rule: str, problem: str) -> None:
        super().__init__(f"rule {rule}: {problem}")
        self.rule = rule
        self.problem = problem


@dataclass(frozen=True)
class Level:
    """A threshold and the severity of crossing it."""

    threshold: float
    severity: str


@dataclass(frozen=True)
class Rule:
    id: str
    kinds: tuple[str, ...]
    metric: str | None  # None only for a no_data rule watching every metric
    type: str
    op: str  # gt|ge|lt|le|eq, "" for no_data
    levels: tuple[Level, ...]  # base level first, then escalations
    clear: float | None  # the clear threshold (threshold/rate/duration)
    message: str
    clear_message: str | None = None
    incident: str | None = None
    per_s: float = 60.0
    max_gap_s: float | None = None
    for_s: float = 0.0  # duration rules; no_data: minutes * 60

    @property
    def severity(self) -> str:
        return self.levels[0].severity

    @property
    def threshold(self) -> float:
        return self.levels[0].threshold

    def applies_to(self, kind: str | None) -> bool:
        return ANY_KIND in self.kinds or (kind is not None and kind in self.kinds)

    def render(
        self,
        template: str,
        *,
        value: float | None,
        device: str,
        kind: str = "",
        severity: str | None = None,
        threshold: float | None = None,
    ) -> str:
        """The message for one event (templates were checked when the rule loaded)."""
        return template.format(
            device=device,
            kind=kind,
            metric=self.metric or "",
            value=value,
            threshold=self.threshold if threshold is None else threshold,
            severity=severity or self.severity,
            for_s=self.for_s,
            minutes=self.for_s / 60.0,
        )


@dataclass(frozen=True)
class RuleSet:
    rules: tuple[Rule, ...]

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for r in self.rules:
            if r.id in seen:
                raise RuleError(repr(r.id), "duplicate rule id")
            seen.add(r.id)

    def get(self, rule_id: str) -> Rule | None:
        for r in self.rules:
            if r.id == rule_id:
                return r
        return None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def incident_category(self, rule_id: str) -> str | None:
        """The incident category a critical alarm of this rule opens, if any."""
        rule = self.get(rule_id)
        return rule.incident if rule is not None else None


def parse_rule(raw: object, position: int | None = None) -> Rule:
    """One rule from its JSON form; RuleError names the rule and the problem."""
    where = f"#{position}" if position is not None else "(unnamed)"
    if not isinstance(raw, Mapping):
        raise RuleError(where, "must be a JSON object")
    rid = raw.get("id")
    if not isinstance(rid, str) or not _ID.match(rid):
        raise RuleError(where, f"id must match {_ID.pattern}, got {rid!r}")
    return _Parser(rid, raw).rule()


class _Parser:
    def __init__(self, rid: str, raw: Mapping[str, Any]) -> None:
        self.rid = rid
        self.raw = raw

    def fail(self, problem: str) -> RuleError:
        return RuleError(repr(self.rid), problem)

    def rule(self) -> Rule:
        rtype = self.raw.get("type")
        if rtype not in RULE_TYPES:
            raise self.fail(f"type must be one of {', '.join(RULE_TYPES)}, got {rtype!r}")
        unknown = set(self.raw) - _COMMON_KEYS - _KEYS_BY_TYPE[rtype]
        if unknown:
            raise self.fail(f"unknown key(s) for a {rtype} rule: {', '.join(sorted(unknown))}")
        kinds = self.kinds()
        severity = self.raw.get("severity")
        if severity not in SEVERITIES:
            raise self.fail(f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
        metric = self.metric(required=rtype != "no_data")
        incident = self.optional_text("incident")
        message = self.template("message", rtype, required=True)
        clear_message = self.template("clear_message", rtype, required=False)
        assert message is not None
        op, clear, per_s, max_gap_s, for_s = "", None, 60.0, None, 0.0
        if rtype == "no_data":
            levels: tuple[Level, ...] = (Level(math.nan, severity),)
            for_s = self.positive("minutes") * 60.0
        elif rtype == "equals":
            op, levels = "eq", (Level(self.number("value"), severity),)
        else:
            allowed = (*_UPPER, *_LOWER, "eq") if rtype == "duration" else (*_UPPER, *_LOWER)
            op = self.raw.get("op", "eq" if rtype == "duration" else None)
            if op not in allowed:
                raise self.fail(f"op must be one of {', '.join(allowed)}, got {op!r}")
            value = self.number("value")
            clear = self.clear(op, value)
            levels = (Level(value, severity), *self.escalations(op, value, severity))
            if rtype == "rate":
                per_s = self.positive("per_s", default=60.0)
                if self.raw.get("max_gap_s") is not None:
                    max_gap_s = self.positive("max_gap_s")
            if rtype == "duration":
                for_s = self.positive("for_s")
        return Rule(
            id=self.rid,
            kinds=kinds,
            metric=metric,
            type=rtype,
            op=op,
            levels=levels,
            clear=clear,
            message=message,
            clear_message=clear_message,
            incident=incident,
            per_s=per_s,
            max_gap_s=max_gap_s,
            for_s=for_s,
        )

    def kinds(self) -> tuple[str, ...]:
        raw = self.raw.get("kind")
        kinds = [raw] if isinstance(raw, str) else raw
        if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) for k in kinds):
            raise self.fail('kind must be a kind name, a list of them, or "*"')
        if any(not k for k in kinds):
            raise self.fail("kind names must not be empty")
        return tuple(kinds)

    def metric(self, *, required: bool) -> str | None:
        metric = self.raw.get("metric")
        if metric is None and not required:
            return None
        if not isinstance(metric, str) or not _METRIC.match(metric):
            raise self.fail(f"metric must match {_METRIC.pattern}, got {metric!r}")
        return metric

    def number(self, key: str, default: float | None = None) -> float:
        raw = self.raw.get(key, default)
        if isinstance(raw, bool):
            return 1.0 if raw else 0.0
        if not isinstance(raw, int | float) or not math.isfinite(raw):
            raise self.fail(f"{key} must be a finite number or a boolean, got {raw!r}")
        return float(raw)

    def positive(self, key: str, default: float | None = None) -> float:
        raw = self.raw.get(key, default)
        ok = isinstance(raw, int | float) and not isinstance(raw, bool)
        if not ok or not math.isfinite(raw) or raw <= 0:
            raise self.fail(f"{key} must be a positive number, got {self.raw.get(key)!r}")
        return float(raw)

    def optional_text(self, key: str) -> str | None:
        raw = self.raw.get(key)
        if raw is not None and (not isinstance(raw, str) or not raw):
            raise self.fail(f"{key} must be a non-empty string or null, got {raw!r}")
        return raw

    def clear(self, op: str, value: float) -> float | None:
        if op == "eq":
            if "clear" in self.raw:
                raise self.fail("clear does not apply to op eq (it clears when unequal)")
            return None
        clear = self.number("clear", default=value)
        if op in _UPPER and clear > value:
            raise self.fail(f"clear ({clear}) must be <= value ({value}) for op {op}")
        if op in _LOWER and clear < value:
            raise self.fail(f"clear ({clear}) must be >= value ({value}) for op {op}")
        return clear

    def escalations(self, op: str, value: float, severity: str) -> list[Level]:
        raw = self.raw.get("escalate", [])
        if not isinstance(raw, list):
            raise self.fail("escalate must be a list of {value, severity} objects")
        levels: list[Level] = []
        last, last_sev = value, severity
        for i, step in enumerate(raw):
            if not isinstance(step, Mapping) or set(step) != {"value", "severity"}:
                raise self.fail(f"escalate[{i}] must be an object with value and severity")
            threshold = step["value"]
            if not isinstance(threshold, int | float) or isinstance(threshold, bool):
                raise self.fail(f"escalate[{i}].value must be a number, got {threshold!r}")
            sev = step["severity"]
            if sev not in SEVERITIES or SEVERITIES.index(sev) <= SEVERITIES.index(last_sev):
                raise self.fail(f"escalate[{i}].severity must be more severe than {last_sev}")
            beyond = threshold > last if op in _UPPER else threshold < last
            if not beyond or not math.isfinite(threshold):
                raise self.fail(f"escalate[{i}].value must lie beyond {last} for op {op}")
            levels.append(Level(float(threshold), sev))
            last, last_sev = float(threshold), sev
        return levels

    def template(self, key: str, rtype: str, *, required: bool) -> str | None:
        raw = self.raw.get(key)
        if raw is None and not required:
            return None
        if not isinstance(raw, str) or not raw:
            raise self.fail(f"{key} must be a non-empty string")
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(raw) if f is not None}
        except ValueError as exc:
            raise self.fail(f"{key} is not a valid template: {exc}") from None
        unknown = names - set(_FIELDS)
        if "value" in names and rtype == "no_data":
            unknown.add("value")
        if unknown:
            allowed = ", ".join(f"{{{f}}}" for f in _FIELDS)
            raise self.fail(f"{key} uses unknown field(s) {sorted(unknown)}; allowed: {allowed}")
        try:
            raw.format(**{f: 1.0 for f in _FIELDS})
        except (ValueError, TypeError, IndexError, KeyError) as exc:
            raise self.fail(f"{key} is not a valid template: {exc}") from None
        return raw


def parse_rules(raw: Iterable[object]) -> RuleSet:
    return RuleSet(tuple(parse_rule(r, i) for i, r in enumerate(raw)))
