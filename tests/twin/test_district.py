"""twin.live.district: a community's status on the district map, the ranking, the totals."""

from __future__ import annotations

from dataclasses import replace

from twin.live.district import CommunityFigures, community_status, rank_communities, totals

BASE = CommunityFigures("c", "C", 100, 100, 0, (0, 0, 0, 0), 0, 0, (0, 0), (0, 0))


def fig(ident: str, **changes: object) -> CommunityFigures:
    return replace(BASE, id=ident, name=ident.upper(), **changes)  # type: ignore[arg-type]


def test_status_takes_the_worse_of_devices_and_governance() -> None:
    assert community_status(fig("a")) == "normal"
    assert community_status(fig("a", devices_offline=1)) == "offline"
    assert community_status(fig("a", alarms=(0, 0, 1, 0))) == "warning"
    assert community_status(fig("a", alarms=(0, 1, 0, 0))) == "alarm"
    assert community_status(fig("a", devices_offline=5, incidents_open=1)) == "warning"
    assert community_status(fig("a", incidents_open=1, incidents_overdue=1)) == "alarm"
    # Devices whose state is unknown (online neither true nor false) are not offline.
    assert community_status(fig("a", devices_online=50)) == "normal"


def test_ranking_puts_what_needs_attention_first() -> None:
    communities = [
        fig("quiet", loop_30d=(9, 10)),
        fig("slow", loop_30d=(1, 10)),
        fig("dark", devices_offline=10),
        fig("dim", devices_offline=1),
        fig("late", incidents_open=2, incidents_overdue=1),
        fig("fire", alarms=(1, 0, 0, 0)),
        fig("pump", alarms=(0, 3, 0, 0)),
        fig("drip", alarms=(0, 0, 2, 0)),
        fig("new", incidents_open=1),
    ]
    ranked = rank_communities(communities)
    assert [r.figures.id for r in ranked] == [
        "fire",  # critical beats any number of major alarms
        "pump",
        "late",  # overdue: governance alarm
        "drip",  # warnings: minor alarm before an open incident
        "new",
        "dark",  # offline: the larger share first
        "dim",
        "slow",  # normal: the lower closed-loop rate first, no rate counts as 1
        "quiet",
    ]
    assert [r.rank for r in ranked] == list(range(1, 10))
    assert [r.status for r in ranked][:5] == ["alarm", "alarm", "alarm", "warning", "warning"]


def test_ties_are_broken_by_id_and_nothing_ranks_nothing() -> None:
    ranked = rank_communities([fig("b"), fig("a"), fig("c")])
    assert [r.figures.id for r in ranked] == ["a", "b", "c"]
    assert rank_communities([]) == []
    empty = totals([])
    assert empty["communities"] == 0
    assert empty["closed_loop_rate_30d"] is None


def test_totals_pool_incidents_instead_of_averaging_rates() -> None:
    big = fig("big", loop_today=(1, 1), loop_30d=(90, 100), alarms=(1, 2, 3, 4))
    small = fig("small", loop_today=(0, 3), loop_30d=(0, 10), devices_offline=2)
    t = totals([big, small])
    assert t["closed_loop_rate_30d"] == 90 / 110  # not (0.9 + 0.0) / 2
    assert t["closed_loop_rate_today"] == 1 / 4
    assert t["alarms_active"] == {"critical": 1, "major": 2, "minor": 3, "warning": 4}
    assert t["devices_total"] == 200
    assert t["by_status"] == {"alarm": 1, "warning": 0, "offline": 1, "normal": 0}
