"""Elderly care figures for the cockpit's elderly scene: counts only, never readings.

Households come from ``units`` (migration 0050, ``twin.model.households``); alarms
and incidents are the ones the care rules (``twin.rules.care``,
``twin.rules.care_baseline``) and the wearables' rules raise and open.
"""

from __future__ import annotations

from typing import Any, Final

from api.db import Conn, fetch_all, fetch_one
from twin.model.households import AGE_BANDS, ELDERLY_BANDS
from twin.rules.care import ACTIVITY_METRICS, CARE_ANOMALY, CARE_CHECK

# The rule families of the elderly scene, as the summary counts them.
RULES: Final = {
    CARE_CHECK: (CARE_CHECK,),
    CARE_ANOMALY: (CARE_ANOMALY,),
    "fall": ("fall",),
    "sos": ("sos",),
    "heart_rate": ("heart_rate_high", "heart_rate_low"),
    "body_temperature": ("body_temperature_high", "body_temperature_low"),
}
CATEGORIES: Final = ("care_check", "fall", "sos")
_ELDERLY = sorted(ELDERLY_BANDS)

_HOUSEHOLDS: Final = """
SELECT count(*) FILTER (WHERE living_alone IS NOT NULL) AS known,
       count(*) FILTER (WHERE care_level > 0 OR age_band = ANY(%(elderly)s)) AS care,
       count(*) FILTER (WHERE living_alone AND (care_level > 0 OR age_band = ANY(%(elderly)s)))
           AS checked,
       count(*) FILTER (WHERE living_alone AND (care_level > 0 OR age_band = ANY(%(elderly)s))
           AND EXISTS (SELECT 1 FROM devices d WHERE d.community_id = u.community_id
                       AND d.building_id = u.building_id AND d.unit_id = u.id
                       AND d.kind = ANY(%(activity)s))) AS equipped
FROM units u WHERE community_id = %(c)s
"""
_BANDS: Final = """
SELECT age_band, care_level, count(*) AS n FROM units
WHERE community_id = %(c)s AND living_alone IS NOT NULL GROUP BY 1, 2
"""
_ALARMS: Final = """
SELECT rule_id, count(*) FILTER (WHERE state <> 'cleared') AS active,
       count(*) FILTER (WHERE raised_at >= now() - interval '24 hours') AS raised_24h
FROM alarms WHERE community_id = %(c)s AND rule_id = ANY(%(rules)s) GROUP BY 1
"""
_QUIET: Final = """
SELECT a.id, a.building_id, a.storey_idx, a.unit_id, a.grid_id, a.raised_at, a.incident_id,
       i.status AS incident_status
FROM alarms a LEFT JOIN incidents i ON i.community_id = a.community_id AND i.id = a.incident_id
WHERE a.community_id = %(c)s AND a.rule_id = %(rule)s AND a.state <> 'cleared'
ORDER BY a.raised_at LIMIT 100
"""
_INCIDENTS: Final = """
SELECT category, count(*) FILTER (WHERE status NOT IN ('closed', 'cancelled')) AS open,
       count(*) FILTER (WHERE reported_at >= now() - interval '30 days') AS reported_30d,
       count(*) FILTER (WHERE reported_at >= now() - interval '30 days' AND status = 'closed')
           AS closed_30d
FROM incidents WHERE community_id = %(c)s AND category = ANY(%(cats)s) GROUP BY 1
"""


async def care_summary(conn: Conn, cid: str) -> dict[str, Any]:
    params = {
        "c": cid,
        "elderly": _ELDERLY,
        "activity": sorted(ACTIVITY_METRICS),
        "rules": [r for rules in RULES.values() for r in rules],
        "rule": CARE_CHECK,
        "cats": list(CATEGORIES),
    }
    homes = await fetch_one(conn, _HOUSEHOLDS, params)
    assert homes is not None
    by_band = dict.fromkeys(AGE_BANDS, 0)
    by_level = [0] * 5
    for row in await fetch_all(conn, _BANDS, params):
        if row["age_band"] is not None:
            by_band[row["age_band"]] += row["n"]
        by_level[row["care_level"]] += row["n"]
    alarm_rows = {r["rule_id"]: r for r in await fetch_all(conn, _ALARMS, params)}
    alarms = {
        family: {
            "active": sum(alarm_rows[r]["active"] for r in rules if r in alarm_rows),
            "raised_24h": sum(alarm_rows[r]["raised_24h"] for r in rules if r in alarm_rows),
        }
        for family, rules in RULES.items()
    }
    found = {r["category"]: r for r in await fetch_all(conn, _INCIDENTS, params)}
    incidents = {
        c: {
            k: int(found[c][k]) if c in found else 0 for k in ("open", "reported_30d", "closed_30d")
        }
        for c in CATEGORIES
    }
    quiet = [
        {
            "alarm": r["id"],
            "building": r["building_id"],
            "storey": r["storey_idx"],
            "unit": r["unit_id"],
            "grid": r["grid_id"],
            "raised_at": r["raised_at"],
            "incident": r["incident_id"],
            "incident_status": r["incident_status"],
        }
        for r in await fetch_all(conn, _QUIET, params)
    ]
    return {
        "community": cid,
        "households": {
            "known": homes["known"],
            "care_homes": homes["care"],
            "living_alone_checked": homes["checked"],
            "checked_with_devices": homes["equipped"],
            "by_age_band": by_band,
            "by_care_level": by_level,
        },
        "alarms": alarms,
        "incidents": incidents,
        "quiet_homes": quiet,
    }
