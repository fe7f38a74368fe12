"""What the ingestor's alarms and closed loop are configured with, and its JSON file.

``commtwin ingest --incident-policy FILE`` reads (every key optional, defaults
from ``twin``)::

    {"sla": {"default": {"respond": "30m", "resolve": "24h"},
             "critical": {"respond": "5m", "resolve": "2h"},
             "critical_categories": ["fire", "fall", "sos", "water_leak", "gas_leak"],
             "categories": {"noise": {"resolve": "3d"}}},
     "alarm_incidents": {"categories": {"smoke": "fire", "sos": "sos"},
                         "severities": ["critical"], "priority": "critical"}}

``sla`` is ``twin.incidents.sla``'s format. ``alarm_incidents.categories``
maps alarm rule ids to the category of the incident their alarm opens; by
default each rule's own ``incident`` field (the defaults: smoke → fire,
water_leak, gas → gas_leak, fall, sos). ``--rules FILE`` is a rules file of
``twin.rules.engine`` (docs/twin.md).

>>> p = load_policy({"alarm_incidents": {"categories": {"smoke": "fire"}}})
>>> dict(p.alarms.categories), sorted(p.alarms.severities), p.sla.default.respond
({'smoke': 'fire'}, ['critical'], datetime.timedelta(seconds=1800))
>>> load_policy({"alarm": {}})
Traceback (most recent call last):
...
ingest.policy.PolicyError: incident policy: unknown key 'alarm' (known: alarm_incidents, sla)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ingest.incident_writer import IncidentPolicy
from twin.incidents.dispatch import AlarmIncidentPolicy
from twin.incidents.events import PRIORITIES, SlaConfigError
from twin.incidents.sla import DEFAULT_SLA, load_sla_policy
from twin.rules.care import CARE_INCIDENT_CATEGORIES, CareConfig
from twin.rules.care_baseline import BaselineConfig
from twin.rules.engine import RuleError, RuleSet, default_rules, load_rules_file

_SEVERITIES = ("critical", "major", "minor", "warning")


class PolicyError(ValueError):
    """A configuration file that does not validate; one line naming the key."""


@dataclass(frozen=True)
class CareOptions:
    """Elderly care in ingest (``commtwin ingest --care-*``, ingest/care_stage.py)."""

    check: CareConfig = field(default_factory=CareConfig)
    baseline: BaselineConfig = field(default_factory=BaselineConfig)
    baseline_every_s: float = 300.0
    enabled: bool = True


@dataclass(frozen=True)
class TwinOptions:
    """The twin side of ``commtwin ingest``: rules, closed-loop policy, clocks."""

    rules: RuleSet = field(default_factory=default_rules)
    policy: IncidentPolicy | None = None  # None: defaults, alarm categories from the rules
    alarm_tick_s: float = 10.0  # no-data and duration rules
    escalate_tick_s: float = 30.0  # SLA escalation
    model_max_age_s: float = 600.0  # reload a community model at least this often
    care: CareOptions = field(default_factory=CareOptions)
    # The communities this ingestor serves (``--communities``): its clocks (no-data
    # rules, care checks, SLA escalation) watch these only. None: every community.
    communities: tuple[str, ...] | None = None

    def incident_policy(self) -> IncidentPolicy:
        if self.policy is not None:
            return self.policy
        return IncidentPolicy(DEFAULT_SLA, alarm_policy_from_rules(self.rules))


def alarm_policy_from_rules(rules: RuleSet) -> AlarmIncidentPolicy:
    """Each rule with an ``incident`` category opens that incident when critical
    (and the care rules' ``care_check``, twin/rules/care.py)."""
    categories = {
        **CARE_INCIDENT_CATEGORIES,
        **{r.id: r.incident for r in rules.rules if r.incident},
    }
    return AlarmIncidentPolicy(categories=MappingProxyType(categories))


def load_policy(data: object, rules: RuleSet | None = None) -> IncidentPolicy:
    """Validate an incident policy document (see the module doc)."""
    if not isinstance(data, Mapping):
        raise PolicyError("incident policy: expected a JSON object")
    unknown = sorted(set(map(str, data)) - {"sla", "alarm_incidents"})
    if unknown:
        raise PolicyError(
            f"incident policy: unknown key {unknown[0]!r} (known: alarm_incidents, sla)"
        )
    try:
        sla = load_sla_policy(data.get("sla", {}))
    except SlaConfigError as exc:
        raise PolicyError(f"incident policy: {exc}") from None
    alarms = data.get("alarm_incidents", {})
    if not isinstance(alarms, Mapping):
        raise PolicyError("incident policy: alarm_incidents: expected an object")
    base = alarm_policy_from_rules(rules or default_rules())
    bad = sorted(set(map(str, alarms)) - {"categories", "severities", "priority"})
    if bad:
        raise PolicyError(f"incident policy: alarm_incidents: unknown key {bad[0]!r}")
    categories = alarms.get("categories", dict(base.categories))
    if not isinstance(categories, Mapping) or not all(
        isinstance(k, str) and k and isinstance(v, str) and v for k, v in categories.items()
    ):
        raise PolicyError(
            "incident policy: alarm_incidents.categories: expected rule id → category names"
        )
    severities = alarms.get("severities", sorted(base.severities))
    if not isinstance(severities, list) or not all(s in _SEVERITIES for s in severities):
        raise PolicyError(
            "incident policy: alarm_incidents.severities: a list of " + ", ".join(_SEVERITIES)
        )
    priority = alarms.get("priority", base.priority)
    if priority not in PRIORITIES:
        raise PolicyError(
            "incident policy: alarm_incidents.priority: one of " + ", ".join(PRIORITIES)
        )
    policy = AlarmIncidentPolicy(
        categories=MappingProxyType(dict(categories)),
        severities=frozenset(severities),
        priority=priority,
    )
    return IncidentPolicy(sla, policy)


def load_policy_file(path: Path, rules: RuleSet | None = None) -> IncidentPolicy:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PolicyError(f"incident policy {path}: cannot read: {exc}") from None
    try:
        return load_policy(data, rules)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from None


def load_rules(path: Path) -> RuleSet:
    """A ``twin.rules.engine`` rules file; :class:`PolicyError` with the rule named."""
    try:
        return load_rules_file(path)
    except RuleError as exc:
        raise PolicyError(str(exc)) from None
