"""Loading alarm rules: defaults, rules files, and errors that name the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from twin.model.kinds import KINDS
from twin.rules.config import parse_rule
from twin.rules.defaults import critical_incident_category
from twin.rules.engine import RuleError, RuleSet, default_rules, load_rules, load_rules_file


def rule(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "hot",
        "kind": "env",
        "metric": "temperature",
        "type": "threshold",
        "op": "gt",
        "value": 40,
        "clear": 35,
        "severity": "major",
        "message": "temperature {value:.1f}",
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def test_defaults_cover_every_kind_and_watch_real_metrics() -> None:
    rules = default_rules()
    covered = {k for r in rules.rules for k in r.kinds}
    assert covered == set(KINDS)
    for r in rules.rules:
        for kind in r.kinds:
            if r.metric is not None:
                assert r.metric in KINDS[kind].metric_names, (r.id, kind)
    wanted = {"smoke", "water_leak", "gas", "elevator_fault", "door_left_open",
              "temperature_high", "temperature_rise", "pm25_high", "co2_high",
              "power_overload", "fall", "sos", "heart_rate_high", "heart_rate_low",
              "parking_full", "no_data", "no_data_safety"}  # fmt: skip
    assert wanted <= set(rules.ids)


def test_incident_categories_of_the_defaults() -> None:
    got = {r.id: r.incident for r in default_rules().rules if r.incident}
    assert got == {
        "smoke": "fire",
        "water_leak": "water_leak",
        "gas": "gas_leak",
        "fall": "fall",
        "sos": "sos",
    }
    assert critical_incident_category("fall") == "fall"
    assert critical_incident_category("parking_full") is None
    assert critical_incident_category("no-such-rule") is None


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"type": "window"}, "type must be one of"),
        ({"op": "gte"}, "op must be one of gt, ge, lt, le, got 'gte'"),
        ({"severity": "fatal"}, "severity must be one of warning, minor, major, critical"),
        ({"clear": 45}, "clear (45.0) must be <= value (40.0) for op gt"),
        ({"op": "lt", "clear": 30}, "clear (30.0) must be >= value (40.0) for op lt"),
        ({"value": "hot"}, "value must be a finite number"),
        ({"value": float("nan")}, "value must be a finite number"),
        ({"metric": "Temp"}, "metric must match"),
        ({"kind": []}, "kind must be a kind name"),
        ({"message": "{value} {colour}"}, "unknown field(s) ['colour']"),
        ({"message": "{value:.1q}"}, "not a valid template"),
        ({"message": "{value"}, "not a valid template"),
        ({"thresold": 3}, "unknown key(s) for a threshold rule: thresold"),
        ({"escalate": [{"value": 30, "severity": "critical"}]}, "escalate[0].value must lie"),
        ({"escalate": [{"value": 50, "severity": "minor"}]}, "more severe than major"),
        ({"escalate": [{"value": 50}]}, "escalate[0] must be an object"),
        ({"incident": ""}, "incident must be a non-empty string"),
    ],
)
def test_invalid_rules_name_the_rule_and_the_problem(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(RuleError) as err:
        parse_rule(rule(**overrides))
    assert err.value.rule == "'hot'"
    assert problem in str(err.value)
    assert str(err.value).startswith("rule 'hot': ")


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"id": "x", "kind": "door", "metric": "open", "type": "duration", "value": True,
          "severity": "minor", "message": "m"}, "for_s must be a positive number"),
        ({"id": "x", "kind": "door", "metric": "open", "type": "duration", "value": True,
          "for_s": -5, "severity": "minor", "message": "m"}, "for_s must be a positive"),
        ({"id": "x", "kind": "door", "type": "no_data", "minutes": 0, "severity": "minor",
          "message": "m"}, "minutes must be a positive number"),
        ({"id": "x", "kind": "door", "type": "no_data", "minutes": 5, "severity": "minor",
          "message": "{value}"}, "unknown field(s) ['value']"),
        ({"id": "x", "kind": "env", "metric": "t", "type": "rate", "op": "gt", "value": 1,
          "per_s": 0, "severity": "minor", "message": "m"}, "per_s must be a positive"),
        ({"id": "x", "kind": "door", "metric": "open", "type": "equals", "value": 1,
          "clear": 0, "severity": "minor", "message": "m"}, "unknown key(s)"),
        ({"id": "x", "kind": "door", "metric": "open", "type": "duration", "op": "eq",
          "value": 1, "clear": 0, "for_s": 5, "severity": "minor", "message": "m"},
         "clear does not apply to op eq"),
    ],
)  # fmt: skip
def test_invalid_rules_of_other_types(raw: dict[str, Any], problem: str) -> None:
    with pytest.raises(RuleError, match=r"^rule 'x': ") as err:
        parse_rule(raw)
    assert problem in str(err.value)


def test_a_rule_without_a_usable_id_is_named_by_position() -> None:
    with pytest.raises(RuleError, match=r"^rule #1: id must match"):
        load_rules([rule(), rule(id="Bad Id")])
    with pytest.raises(RuleError, match=r"^rule #0: must be a JSON object"):
        load_rules(["hot"])


def test_duplicate_ids_are_rejected() -> None:
    with pytest.raises(RuleError, match="rule 'hot': duplicate rule id"):
        load_rules([rule(), rule(value=50)])


def test_booleans_are_one_and_zero() -> None:
    r = parse_rule({"id": "wet", "kind": "water_leak", "metric": "leak", "type": "equals",
                    "value": True, "severity": "critical", "message": "wet"})  # fmt: skip
    assert r.threshold == 1.0
    assert r.op == "eq"


def test_a_rules_document_extends_the_defaults() -> None:
    defaults = default_rules()
    doc = {
        "disable": ["parking_full"],
        "rules": [rule(id="gas", kind="gas", metric="gas_lel", value=20, clear=10), rule()],
    }
    got = load_rules(doc)
    assert "parking_full" not in got.ids
    assert got.ids[-1] == "hot"
    gas = got.get("gas")
    assert gas is not None
    assert gas.threshold == 20.0
    assert gas.incident is None
    assert len(got.rules) == len(defaults.rules)  # one dropped, one added
    assert load_rules({"defaults": False, "rules": [rule()]}).ids == ("hot",)
    assert load_rules([rule()]).ids == ("hot",)


def test_rules_document_errors() -> None:
    with pytest.raises(RuleError, match="rule 'nope': disabled, but there is no such default"):
        load_rules({"disable": ["nope"]})
    with pytest.raises(RuleError, match="unknown top-level key"):
        load_rules({"rule": []})
    with pytest.raises(RuleError, match="list of rules or an object"):
        load_rules("rules")


def test_rules_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"rules": [rule(value=38)]}), encoding="utf-8")
    got = load_rules_file(path)
    hot = got.get("hot")
    assert hot is not None
    assert hot.threshold == 38.0
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(RuleError, match=r"rules.json: cannot read rules"):
        load_rules_file(path)
    with pytest.raises(RuleError, match="cannot read rules"):
        load_rules_file(tmp_path / "missing.json")
    path.write_text(json.dumps([rule(op="lt", clear=30)]), encoding="utf-8")
    with pytest.raises(RuleError, match="rule 'hot': clear"):
        load_rules_file(path)


def test_rule_set_lookups() -> None:
    rules = RuleSet((parse_rule(rule()), parse_rule(rule(id="cold", op="lt", clear=45))))
    assert rules.ids == ("hot", "cold")
    assert rules.get("cold") is not None
    assert rules.get("warm") is None
    assert rules.incident_category("hot") is None
