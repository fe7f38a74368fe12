"""Service levels: how soon an incident must be responded to (accepted) and resolved.

Terms are looked up per incident: an explicit per-category entry first, then
the ``critical`` terms for a critical category or a ``critical`` priority,
else the ``default`` terms. Deadlines run from ``reported_at`` and do not move
when the incident is reopened: they measure how long the resident waits.

>>> from datetime import datetime, timezone
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> [str(d - t) for d in DEFAULT_SLA.due(t, "noise", "normal")]
['0:30:00', '1 day, 0:00:00']
>>> [str(d - t) for d in DEFAULT_SLA.due(t, "fire", "normal")]
['0:05:00', '2:00:00']
>>> p = load_sla_policy({"categories": {"noise": {"respond": "1h", "resolve": "3d"}}})
>>> p.terms_for("noise", "normal")
SlaTerms(respond=datetime.timedelta(seconds=3600), resolve=datetime.timedelta(days=3))
>>> load_sla_policy({"default": {"respond": "soon", "resolve": "1d"}})
Traceback (most recent call last):
...
twin.incidents.events.SlaConfigError: sla.default.respond: expected a positive duration \
like 90s, 30m, 2h or 1d (or seconds as a number), got 'soon'
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType

from twin.incidents.events import SlaConfigError


@dataclass(frozen=True)
class SlaTerms:
    """Respond (first acceptance) and resolve deadlines, counted from the report."""

    respond: timedelta
    resolve: timedelta

    def __post_init__(self) -> None:
        if self.respond <= timedelta(0) or self.resolve <= timedelta(0):
            raise SlaConfigError("SLA durations must be positive")
        if self.respond > self.resolve:
            raise SlaConfigError(
                f"respond ({self.respond}) must not be longer than resolve ({self.resolve})"
            )


ORDINARY = SlaTerms(respond=timedelta(minutes=30), resolve=timedelta(hours=24))
CRITICAL = SlaTerms(respond=timedelta(minutes=5), resolve=timedelta(hours=2))
CRITICAL_CATEGORIES: frozenset[str] = frozenset({"fire", "fall", "sos", "water_leak", "gas_leak"})


@dataclass(frozen=True)
class SlaPolicy:
    default: SlaTerms = ORDINARY
    critical: SlaTerms = CRITICAL
    critical_categories: frozenset[str] = CRITICAL_CATEGORIES
    # Read-only view; excluded from hashing because mappings are unhashable.
    categories: Mapping[str, SlaTerms] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )

    def terms_for(self, category: str | None, priority: str | None) -> SlaTerms:
        if category is not None and category in self.categories:
            return self.categories[category]
        if priority == "critical" or category in self.critical_categories:
            return self.critical
        return self.default

    def due(
        self, reported_at: datetime, category: str | None, priority: str | None
    ) -> tuple[datetime, datetime]:
        """``(respond_due_at, resolve_due_at)`` of an incident reported at ``reported_at``."""
        terms = self.terms_for(category, priority)
        return reported_at + terms.respond, reported_at + terms.resolve


DEFAULT_SLA = SlaPolicy()

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_TOP_KEYS = frozenset({"default", "critical", "critical_categories", "categories"})


def parse_duration(value: object, where: str) -> timedelta:
    """``90s``, ``30m``, ``2h``, ``1d`` or a number of seconds, as a positive timedelta."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (m := _DURATION.match(value)):
        seconds = float(m.group(1)) * _UNIT_SECONDS[m.group(2)]
    if seconds is None or not math.isfinite(seconds) or seconds <= 0:
        raise SlaConfigError(
            f"{where}: expected a positive duration like 90s, 30m, 2h or 1d"
            f" (or seconds as a number), got {value!r}"
        )
    return timedelta(seconds=seconds)


def _terms(value: object, where: str, fallback: SlaTerms) -> SlaTerms:
    if not isinstance(value, Mapping):
        raise SlaConfigError(f"{where}: expected an object with respond and resolve")
    unknown = set(value) - {"respond", "resolve"}
    if unknown:
        raise SlaConfigError(f"{where}: unknown key {sorted(map(str, unknown))[0]!r}")
    respond = (
        parse_duration(value["respond"], f"{where}.respond")
        if "respond" in value
        else fallback.respond
    )
    resolve = (
        parse_duration(value["resolve"], f"{where}.resolve")
        if "resolve" in value
        else fallback.resolve
    )
    try:
        return SlaTerms(respond=respond, resolve=resolve)
    except SlaConfigError as e:
        raise SlaConfigError(f"{where}: {e}") from None


def load_sla_policy(data: object) -> SlaPolicy:
    """Build and validate a policy from a JSON-like mapping; missing keys keep defaults.

    Shape: ``{"default": {"respond": "30m", "resolve": "24h"}, "critical": {...},
    "critical_categories": ["fire", ...], "categories": {"noise": {...}}}``.
    A category entry may give only one of respond/resolve; the other comes
    from the terms that category would have had without the entry.
    """
    if not isinstance(data, Mapping):
        raise SlaConfigError("sla: expected an object")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise SlaConfigError(f"sla: unknown key {sorted(map(str, unknown))[0]!r}")
    default = _terms(data.get("default", {}), "sla.default", ORDINARY)
    critical = _terms(data.get("critical", {}), "sla.critical", CRITICAL)
    crit_cats = data.get("critical_categories", sorted(CRITICAL_CATEGORIES))
    if not isinstance(crit_cats, list) or not all(isinstance(c, str) and c for c in crit_cats):
        raise SlaConfigError("sla.critical_categories: expected a list of category names")
    base = SlaPolicy(default=default, critical=critical, critical_categories=frozenset(crit_cats))
    cats = data.get("categories", {})
    if not isinstance(cats, Mapping):
        raise SlaConfigError("sla.categories: expected an object of category: terms")
    by_category: dict[str, SlaTerms] = {}
    for name, value in cats.items():
        if not isinstance(name, str) or not name:
            raise SlaConfigError("sla.categories: category names must be non-empty strings")
        by_category[name] = _terms(value, f"sla.categories.{name}", base.terms_for(name, None))
    return SlaPolicy(
        default=default,
        critical=critical,
        critical_categories=base.critical_categories,
        categories=MappingProxyType(by_category),
    )


def load_sla_policy_json(text: str | bytes) -> SlaPolicy:
    """:func:`load_sla_policy` from JSON text; malformed JSON is a :class:`SlaConfigError`."""
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise SlaConfigError(f"sla: not valid JSON ({e})") from None
    return load_sla_policy(data)
