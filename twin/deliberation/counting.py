"""Votes counted the way the law counts them, the law being data.

A :class:`Law` is a list of :class:`CountingRule`: each names the matters it
applies to (one rule names none: it counts every other matter), a
participation bar and a passing bar, each bar a threshold by exclusive floor
area AND a threshold by owners, each threshold a fraction that must be met
("≥", 以上) or exceeded (">", 过半数).

The default, :data:`CIVIL_CODE_278`, is the PRC Civil Code art. 278
(《中华人民共和国民法典》第二百七十八条, in force 2021-01-01):

* owners holding at least 2/3 of the exclusive floor area AND at least 2/3 of
  the owners take part (专有部分面积占比三分之二以上的业主且人数占比三分之二以上的业主参与表决);
* items (6)-(8) — raising the maintenance fund (筹集维修资金), rebuilding or
  altering the buildings and their facilities (改建、重建), changing the use of
  the common parts or running a business on them (改变共有部分的用途或者利用共有部分从事经营活动) —
  pass with at least 3/4 of the participating area AND of the participating owners;
* every other matter, using the maintenance fund (item 5) among them, passes
  with MORE than half of the participating area AND of the participating owners.

"以上" includes the number itself (Civil Code art. 1259), "过半数" does not.
One household is one owner (the interpretation on building ownership, art. 9:
one exclusive part counts as one owner). Every figure is an exact Fraction.

>>> from datetime import datetime, timezone
>>> from twin.deliberation.homes import Home, HomeId
>>> homes = [Home(HomeId("b1", str(n)), Fraction(100)) for n in range(4)]
>>> t = datetime(2026, 12, 1, tzinfo=timezone.utc)
>>> choices = [Choice.YES, Choice.YES, Choice.YES, Choice.NO]
>>> votes = [Ballot(HomeId("b1", str(n)), c, t) for n, c in enumerate(choices)]
>>> r = count(homes, votes, CIVIL_CODE_278, "rebuild", closes_at=t.replace(day=2))
>>> r.rule_id, r.passed, r.yes_owners, r.participating_owners, str(r.yes_area)
('civil-code-278-special', True, 3, 4, '300')
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from fractions import Fraction
from typing import Any

from twin.deliberation.homes import DeliberationError, Home, HomeId, exact


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"  # takes part (counts for participation), does not agree


@dataclass(frozen=True, slots=True)
class Threshold:
    """``part / whole`` must be at least ``fraction`` (or more than it, when ``strict``)."""

    fraction: Fraction
    strict: bool = False

    def met(self, part: Fraction | int, whole: Fraction | int) -> bool:
        if whole <= 0:
            return False
        ratio = Fraction(part) / Fraction(whole)
        return ratio > self.fraction if self.strict else ratio >= self.fraction

    def __str__(self) -> str:
        return f"{'>' if self.strict else '>='} {self.fraction}"


@dataclass(frozen=True, slots=True)
class Bar:
    """Both must be met: a share of the floor area and a share of the owners."""

    area: Threshold
    owners: Threshold


@dataclass(frozen=True, slots=True)
class CountingRule:
    id: str
    name: str
    source: str  # the legal text or the community's decision that sets this rule
    participation: Bar  # shares of ALL concerned households that must take part
    passing: Bar  # shares of the PARTICIPATING households that must vote yes
    matters: frozenset[str] | None  # None: every matter no other rule of the law names


@dataclass(frozen=True, slots=True)
class Law:
    id: str
    rules: tuple[CountingRule, ...]

    def __post_init__(self) -> None:
        fallbacks = [r for r in self.rules if r.matters is None]
        if len(fallbacks) != 1:
            raise DeliberationError(
                f"law {self.id}: exactly one rule must count the other matters (no 'matters'),"
                f" found {len(fallbacks)}"
            )
        seen: set[str] = set()
        for rule in self.rules:
            twice = seen & (rule.matters or frozenset())
            if twice:
                raise DeliberationError(f"law {self.id}: matter {min(twice)!r} has two rules")
            seen |= rule.matters or frozenset()

    def rule_for(self, matter: str) -> CountingRule:
        for rule in self.rules:
            if rule.matters is not None and matter in rule.matters:
                return rule
        return next(r for r in self.rules if r.matters is None)


MATTERS: tuple[str, ...] = (
    "ordinary",  # anything else the owners decide together
    "rules_of_procedure",  # (1) 制定和修改业主大会议事规则
    "management_statute",  # (2) 制定和修改管理规约
    "owners_committee",  # (3) 选举业主委员会或者更换业主委员会成员
    "property_manager",  # (4) 选聘和解聘物业服务企业或者其他管理人
    "use_maintenance_fund",  # (5) 使用建筑物及其附属设施的维修资金
    "raise_maintenance_fund",  # (6) 筹集建筑物及其附属设施的维修资金
    "rebuild",  # (7) 改建、重建建筑物及其附属设施
    "common_parts_use",  # (8) 改变共有部分的用途或者利用共有部分从事经营活动
    "other_major",  # (9) 有关共有和共同管理权利的其他重大事项
)
"""Matter kinds in the order of art. 278's items; a configured law may name others."""

_SOURCE_278 = "《中华人民共和国民法典》第二百七十八条 (PRC Civil Code art. 278)"
_TWO_THIRDS = Threshold(Fraction(2, 3))
_PARTICIPATION_278 = Bar(_TWO_THIRDS, _TWO_THIRDS)

CIVIL_CODE_278 = Law(
    "civil-code-278",
    (
        CountingRule(
            "civil-code-278-special",
            "特别事项：参与表决面积与人数均四分之三以上同意",
            _SOURCE_278 + " 第二款",
            _PARTICIPATION_278,
            Bar(Threshold(Fraction(3, 4)), Threshold(Fraction(3, 4))),
            frozenset({"raise_maintenance_fund", "rebuild", "common_parts_use"}),
        ),
        CountingRule(
            "civil-code-278-ordinary",
            "一般事项：参与表决面积与人数均过半数同意",
            _SOURCE_278 + " 第二款",
            _PARTICIPATION_278,
            Bar(Threshold(Fraction(1, 2), strict=True), Threshold(Fraction(1, 2), strict=True)),
            None,
        ),
    ),
)


@dataclass(frozen=True, slots=True)
class Ballot:
    """A household's vote; ``account_id`` is whoever of the household cast it."""

    home: HomeId
    choice: Choice
    cast_at: datetime
    account_id: int | None = None


def check_ballot(ballot: Ballot, concerned: Iterable[HomeId], closes_at: datetime) -> None:
    """DeliberationError unless the ballot's household is concerned and voting is open."""
    if ballot.cast_at >= closes_at:
        raise DeliberationError(f"voting closed at {closes_at.isoformat()}")
    if ballot.home not in set(concerned):
        raise DeliberationError(f"household {ballot.home} is not concerned by this vote")


def ballots_that_count(ballots: Iterable[Ballot], closes_at: datetime) -> dict[HomeId, Ballot]:
    """One ballot per household: its last one cast before the close (later ones are refused).

    Of two with the same time the one given later wins, as the store keeps it.
    """
    kept: dict[HomeId, Ballot] = {}
    for b in ballots:
        if b.cast_at >= closes_at:
            continue
        held = kept.get(b.home)
        if held is None or b.cast_at >= held.cast_at:
            kept[b.home] = b
    return kept


@dataclass(frozen=True, slots=True)
class Result:
    """What the count found and which rule found it, with the figures behind it."""

    law_id: str
    rule_id: str
    rule_name: str
    source: str
    matter: str
    total_area: Fraction
    total_owners: int
    participating_area: Fraction
    participating_owners: int
    yes_area: Fraction
    yes_owners: int
    no_area: Fraction
    no_owners: int
    participation_met: bool
    passed: bool
    reason: str


def count(
    homes: Iterable[Home],
    ballots: Iterable[Ballot],
    law: Law,
    matter: str,
    closes_at: datetime,
) -> Result:
    """Count ``ballots`` among the concerned ``homes`` by the rule ``law`` has for ``matter``."""
    by_id: Mapping[HomeId, Home] = {h.id: h for h in homes}
    kept = ballots_that_count(ballots, closes_at)
    strangers = sorted(set(kept) - set(by_id))
    if strangers:
        raise DeliberationError(f"household {strangers[0]} is not concerned by this vote")
    rule = law.rule_for(matter)

    def area(ids: Iterable[HomeId]) -> Fraction:
        return sum((by_id[i].area_m2 for i in ids), Fraction(0))

    yes = [i for i, b in kept.items() if b.choice == Choice.YES]
    no = [i for i, b in kept.items() if b.choice == Choice.NO]
    total_area, total_owners = area(by_id), len(by_id)
    part_area, part_owners = area(kept), len(kept)
    yes_area = area(yes)
    p, q = rule.participation, rule.passing
    turnout = [
        f"{label} {_share(part, whole)} {'meets' if t.met(part, whole) else 'misses'} {t}"
        for label, t, part, whole in (
            ("area", p.area, part_area, total_area),
            ("owners", p.owners, Fraction(part_owners), Fraction(total_owners)),
        )
    ]
    took_part = p.area.met(part_area, total_area) and p.owners.met(part_owners, total_owners)
    agreed = [
        f"{label} {_share(part, whole)} {'meets' if t.met(part, whole) else 'misses'} {t}"
        for label, t, part, whole in (
            ("area", q.area, yes_area, part_area),
            ("owners", q.owners, Fraction(len(yes)), Fraction(part_owners)),
        )
    ]
    passed = took_part and q.area.met(yes_area, part_area) and q.owners.met(len(yes), part_owners)
    if not took_part:
        reason = "too few took part: " + "; ".join(turnout)
    else:
        reason = ("passed: " if passed else "not passed: ") + "; ".join(agreed)
    return Result(
        law.id,
        rule.id,
        rule.name,
        rule.source,
        matter,
        total_area,
        total_owners,
        part_area,
        part_owners,
        yes_area,
        len(yes),
        area(no),
        len(no),
        took_part,
        passed,
        reason,
    )


def _share(part: Fraction, whole: Fraction) -> str:
    pct = float(part / whole * 100) if whole else 0.0
    return f"{_num(part)}/{_num(whole)} ({pct:.2f}%)"


def _num(x: Fraction) -> str:
    return str(x.numerator) if x.denominator == 1 else f"{float(x):g}"


# --- configuring another law -------------------------------------------------------------

_THRESHOLD = re.compile(r"^\s*(>=|≥|>)\s*(\d+)\s*/\s*(\d+)\s*$")


def threshold_from_text(text: Any, where: str) -> Threshold:
    """``">= 2/3"`` (at least) or ``"> 1/2"`` (more than); the fraction within 0..1.

    >>> threshold_from_text("> 1/2", "x"), str(threshold_from_text("≥ 3/4", "x"))
    (Threshold(fraction=Fraction(1, 2), strict=True), '>= 3/4')
    """
    found = _THRESHOLD.match(text) if isinstance(text, str) else None
    if not found or int(found[3]) == 0 or int(found[2]) > int(found[3]):
        raise DeliberationError(f"{where}: a threshold is '>= p/q' or '> p/q' with p <= q")
    return Threshold(Fraction(int(found[2]), int(found[3])), strict=found[1] == ">")


def _bar(data: Any, where: str) -> Bar:
    if not isinstance(data, Mapping) or set(data) != {"area", "owners"}:
        raise DeliberationError(f"{where}: give exactly 'area' and 'owners' thresholds")
    return Bar(
        threshold_from_text(data["area"], f"{where}.area"),
        threshold_from_text(data["owners"], f"{where}.owners"),
    )


def law_from_json(data: Any) -> Law:
    """A law from its JSON (a community's ``counting_rules`` attribute; docs/roundtable.md)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), list):
        raise DeliberationError("counting_rules: an object with 'id' and a list of 'rules'")
    law_id = str(data.get("id") or "configured")
    rules = []
    for n, raw in enumerate(data["rules"]):
        where = f"counting_rules.rules[{n}]"
        if not isinstance(raw, Mapping):
            raise DeliberationError(f"{where}: a rule is an object")
        matters = raw.get("matters")
        if matters is not None and (
            not isinstance(matters, list) or not all(isinstance(m, str) for m in matters)
        ):
            raise DeliberationError(f"{where}.matters: a list of matter names, or null")
        rules.append(
            CountingRule(
                str(raw.get("id") or f"{law_id}-{n}"),
                str(raw.get("name") or ""),
                str(raw.get("source") or ""),
                _bar(raw.get("participation"), f"{where}.participation"),
                _bar(raw.get("pass"), f"{where}.pass"),
                None if matters is None else frozenset(matters),
            )
        )
    return Law(law_id, tuple(rules))


def law_to_json(law: Law) -> dict[str, Any]:
    """The inverse of :func:`law_from_json` (tested on :data:`CIVIL_CODE_278`)."""
    return {
        "id": law.id,
        "rules": [
            {
                "id": r.id,
                "name": r.name,
                "source": r.source,
                "participation": {
                    "area": str(r.participation.area),
                    "owners": str(r.participation.owners),
                },
                "pass": {"area": str(r.passing.area), "owners": str(r.passing.owners)},
                "matters": None if r.matters is None else sorted(r.matters),
            }
            for r in law.rules
        ],
    }


__all__ = ["CIVIL_CODE_278", "MATTERS", "Ballot", "Choice", "Law", "Result", "count", "exact"]
