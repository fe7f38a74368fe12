"""Votes counted by the law, checked against cases worked by hand.

The building: 24 homes, 12 of 60 m² (units 1..12) and 12 of 140 m² (units
13..24), 2,400 m² in all, unless a test says otherwise.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest

from twin.deliberation.counting import (
    CIVIL_CODE_278,
    Ballot,
    Choice,
    check_ballot,
    count,
    law_from_json,
    law_to_json,
)
from twin.deliberation.homes import DeliberationError, Home, HomeId, exact

OPEN = datetime(2026, 12, 1, 9, tzinfo=UTC)
CLOSE = OPEN + timedelta(days=7)


def home(n: int) -> HomeId:
    return HomeId("b1", f"{n:02d}")


def building(areas: list[str]) -> list[Home]:
    return [Home(home(n), exact(a)) for n, a in enumerate(areas, start=1)]


SMALL_AND_LARGE = building(["60"] * 12 + ["140"] * 12)


def votes(choices: dict[int, Choice], at: datetime = OPEN) -> list[Ballot]:
    return [Ballot(home(n), c, at + timedelta(minutes=n)) for n, c in choices.items()]


def everyone(yes: set[int]) -> dict[int, Choice]:
    return {n: Choice.YES if n in yes else Choice.NO for n in range(1, 25)}


def test_an_ordinary_matter_passes_on_owners_but_fails_on_area() -> None:
    # All 24 vote. Yes: the 12 small homes and one large = 13 owners of 24 (> 1/2),
    # but 12×60 + 140 = 860 m² of 2,400 (35.83 %, not > 1/2).
    r = count(
        SMALL_AND_LARGE, votes(everyone(set(range(1, 14)))), CIVIL_CODE_278, "ordinary", CLOSE
    )
    assert r.rule_id == "civil-code-278-ordinary"
    assert "第二百七十八条" in r.source
    assert (r.total_owners, r.total_area) == (24, Fraction(2400))
    assert (r.participating_owners, r.participating_area) == (24, Fraction(2400))
    assert (r.yes_owners, r.yes_area) == (13, Fraction(860))
    assert (r.no_owners, r.no_area) == (11, Fraction(1540))
    assert r.participation_met
    assert not r.passed
    assert "owners 13/24 (54.17%) meets > 1/2" in r.reason
    assert "area 860/2400 (35.83%) misses > 1/2" in r.reason


def test_an_ordinary_matter_needs_more_than_half_not_half() -> None:
    # The 12 large homes alone: 1,680 m² (70 %) but exactly 12 of 24 owners: not "过半数".
    r = count(
        SMALL_AND_LARGE, votes(everyone(set(range(13, 25)))), CIVIL_CODE_278, "ordinary", CLOSE
    )
    assert not r.passed
    # One small home more: 13 owners, 1,740 m².
    r = count(
        SMALL_AND_LARGE, votes(everyone(set(range(12, 25)))), CIVIL_CODE_278, "ordinary", CLOSE
    )
    assert r.passed, r.reason


def test_a_special_matter_at_exactly_three_quarters_passes() -> None:
    # 24 homes: 9 of 79.7 m², 9 of 120.1 m², 6 of 99.9 m²; total 2,397.6 m².
    # The 18 first vote yes: 717.3 + 1,080.9 = 1,798.2 m² = exactly 3/4 of 2,397.6,
    # and 18 of 24 owners = exactly 3/4. Summed and divided in floats it is 0.7499999999999999.
    areas = ["79.7"] * 9 + ["120.1"] * 9 + ["99.9"] * 6
    homes = building(areas)
    floats = [float(a) for a in areas]
    assert sum(floats[:18]) / sum(floats) < 0.75  # the trap the exact count avoids
    r = count(homes, votes(everyone(set(range(1, 19)))), CIVIL_CODE_278, "rebuild", CLOSE)
    assert r.rule_id == "civil-code-278-special"
    assert (r.yes_area, r.participating_area) == (exact("1798.2"), exact("2397.6"))
    assert r.yes_area / r.participating_area == Fraction(3, 4)
    assert (r.yes_owners, r.participating_owners) == (18, 24)
    assert r.passed, r.reason
    # One yes home fewer (a small one turned no): 17 owners, under 3/4 on both.
    r = count(homes, votes(everyone(set(range(2, 19)))), CIVIL_CODE_278, "rebuild", CLOSE)
    assert not r.passed


@pytest.mark.parametrize("matter", ["raise_maintenance_fund", "rebuild", "common_parts_use"])
def test_the_special_matters_of_items_6_to_8_need_three_quarters(matter: str) -> None:
    # 17 of 24 yes (70.8 %, 1,700 of 2,400 m² after swapping areas): passes ordinarily, not here.
    homes = building(["100"] * 24)
    ballots = votes(everyone(set(range(1, 18))))
    assert count(homes, ballots, CIVIL_CODE_278, "ordinary", CLOSE).passed
    assert count(homes, ballots, CIVIL_CODE_278, "use_maintenance_fund", CLOSE).passed
    assert not count(homes, ballots, CIVIL_CODE_278, matter, CLOSE).passed


def test_turnout_below_two_thirds_by_area_fails_for_participation() -> None:
    # The 12 small homes and 4 large vote: 16 of 24 owners (exactly 2/3: "以上" meets it),
    # but 720 + 560 = 1,280 m² of 2,400 (53.3 %) < 2/3. Everyone who voted said yes.
    choices = {n: Choice.YES for n in range(1, 17)}
    r = count(SMALL_AND_LARGE, votes(choices), CIVIL_CODE_278, "ordinary", CLOSE)
    assert (r.participating_owners, r.participating_area) == (16, Fraction(1280))
    assert not r.participation_met
    assert not r.passed
    assert r.reason.startswith("too few took part")
    assert "area 1280/2400 (53.33%) misses >= 2/3" in r.reason
    assert "owners 16/24 (66.67%) meets >= 2/3" in r.reason


def test_two_accounts_of_one_household_cast_one_ballot_the_last() -> None:
    homes = building(["100"] * 3)
    ballots = [
        Ballot(home(1), Choice.YES, OPEN, account_id=11),
        Ballot(home(2), Choice.YES, OPEN, account_id=20),
        Ballot(home(3), Choice.YES, OPEN, account_id=30),
        Ballot(home(1), Choice.NO, OPEN + timedelta(hours=1), account_id=12),  # same home
    ]
    r = count(homes, ballots, CIVIL_CODE_278, "ordinary", CLOSE)
    assert r.participating_owners == 3
    assert (r.yes_owners, r.no_owners) == (2, 1)
    # Given in another order, the later ballot still wins.
    r = count(homes, list(reversed(ballots)), CIVIL_CODE_278, "ordinary", CLOSE)
    assert (r.yes_owners, r.no_owners) == (2, 1)


def test_a_ballot_after_the_close_is_refused_and_not_counted() -> None:
    homes = building(["100"] * 3)
    late = Ballot(home(1), Choice.NO, CLOSE, account_id=11)
    with pytest.raises(DeliberationError, match="voting closed"):
        check_ballot(late, [h.id for h in homes], CLOSE)
    check_ballot(
        Ballot(home(1), Choice.NO, CLOSE - timedelta(seconds=1)), [h.id for h in homes], CLOSE
    )
    early = [Ballot(home(n), Choice.YES, OPEN) for n in (1, 2, 3)]
    r = count(homes, [*early, late], CIVIL_CODE_278, "ordinary", CLOSE)
    assert (r.yes_owners, r.no_owners) == (3, 0)


def test_a_household_outside_the_concerned_set_is_refused() -> None:
    homes = building(["100"] * 3)
    stranger = Ballot(HomeId("b2", "01"), Choice.YES, OPEN)
    with pytest.raises(DeliberationError, match="not concerned"):
        check_ballot(stranger, [h.id for h in homes], CLOSE)
    with pytest.raises(DeliberationError, match="not concerned"):
        count(homes, [stranger], CIVIL_CODE_278, "ordinary", CLOSE)


def test_a_community_configures_another_rule() -> None:
    # Half must take part; two thirds of them must agree, for everything.
    law = law_from_json(
        {
            "id": "lanting-2026",
            "rules": [
                {
                    "id": "lanting-all",
                    "name": "本社区议事规则",
                    "source": "兰亭社区业主大会议事规则 第十条",
                    "participation": {"area": ">= 1/2", "owners": ">= 1/2"},
                    "pass": {"area": ">= 2/3", "owners": "≥ 2/3"},
                    "matters": None,
                }
            ],
        }
    )
    # 12 of 24 vote (the large homes: 1,680 m², 70 %); 9 say yes (1,260 m², 75 % of those).
    choices = {n: Choice.YES if n <= 21 else Choice.NO for n in range(13, 25)}
    r = count(SMALL_AND_LARGE, votes(choices), law, "rebuild", CLOSE)
    assert (r.law_id, r.rule_id, r.source) == (
        "lanting-2026",
        "lanting-all",
        "兰亭社区业主大会议事规则 第十条",
    )
    assert r.participation_met
    assert r.passed, r.reason
    # Art. 278 would not even have had enough taking part (12 of 24 owners).
    assert not count(
        SMALL_AND_LARGE, votes(choices), CIVIL_CODE_278, "rebuild", CLOSE
    ).participation_met


def test_the_default_law_round_trips_through_json() -> None:
    assert law_from_json(law_to_json(CIVIL_CODE_278)) == CIVIL_CODE_278


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        ({"rules": []}, "exactly one rule"),
        ({"rules": [{"participation": {"area": "2/3", "owners": ">= 2/3"}}]}, "participation.area"),
        (
            {"rules": [{"participation": {"area": ">= 3/2", "owners": ">= 2/3"}}]},
            "p <= q",
        ),
        ({"rules": "all"}, "list of 'rules'"),
    ],
)
def test_a_bad_rule_is_refused_with_its_reason(data: object, reason: str) -> None:
    with pytest.raises(DeliberationError, match=reason):
        law_from_json(data)
