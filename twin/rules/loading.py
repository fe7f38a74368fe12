"""Loading a rule set from a rules document or file, over commtwin's defaults.

Apart from ``config`` (the rules' shape) because it starts from ``defaults``,
which is itself written in that shape: config <- defaults <- loading, one way.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from twin.rules.config import RuleError, RuleSet, parse_rule, parse_rules
from twin.rules.defaults import default_rules


def load_rules(data: object, defaults: RuleSet | None = None) -> RuleSet:
    """A rule set from a rules document.

    A JSON list is the complete rule set. An object
    ``{"defaults": true, "disable": [ids], "rules": [...]}`` starts from
    ``defaults`` (commtwin's default rules when not given; none with
    ``"defaults": false``), drops the disabled ids, and replaces rules of the
    same id or appends new ones.
    """
    if defaults is None:
        defaults = default_rules()
    if isinstance(data, list):
        return parse_rules(data)
    if not isinstance(data, Mapping):
        raise RuleError("file", "a rules document is a list of rules or an object")
    unknown = set(data) - {"defaults", "disable", "rules"}
    if unknown:
        raise RuleError("file", f"unknown top-level key(s): {', '.join(sorted(unknown))}")
    use_defaults = data.get("defaults", True)
    disable = data.get("disable", [])
    own = data.get("rules", [])
    if not isinstance(use_defaults, bool) or not isinstance(disable, list):
        raise RuleError("file", "defaults must be a boolean and disable a list of rule ids")
    if not isinstance(own, list):
        raise RuleError("file", "rules must be a list")
    base = list(defaults.rules) if use_defaults else []
    base_ids = {r.id for r in base}
    for rid in disable:
        if rid not in base_ids:
            raise RuleError(repr(rid), "disabled, but there is no such default rule")
    merged = {r.id: r for r in base if r.id not in disable}
    for i, raw in enumerate(own):
        rule = parse_rule(raw, i)
        merged[rule.id] = rule
    return RuleSet(tuple(merged.values()))


def load_rules_file(path: Path, defaults: RuleSet | None = None) -> RuleSet:
    """A rule set from a JSON file; RuleError (with the file name) for any problem."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RuleError(f"file {path}", f"cannot read rules: {exc}") from None
    return load_rules(data, defaults)
