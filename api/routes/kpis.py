"""``GET /v1/communities/{cid}/kpis``: closed-loop KPIs over a period, optionally grouped."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query

from api.deps import CommunityRead, DbConn, State
from api.errors import BadRequestError
from api.models.common import problems
from api.models.kpis import (
    GroupBy,
    KpiGroup,
    KpisPublic,
    SatisfactionKpisPublic,
    SatisfactionPublic,
)
from api.params import IsoDatetime
from api.queries.incidents import kpi_records, rated_records, utc_param
from twin.incidents.kpis import IncidentKpis, incident_kpis
from twin.incidents.satisfaction import WINDOW, Satisfaction, satisfaction_kpis

router = APIRouter(prefix="/v1/communities/{cid}", tags=["incidents"])

DEFAULT_SPAN: Final = timedelta(days=30)
# Incidents read for one answer; a longer period is a 400 asking for a shorter one.
MAX_INCIDENTS: Final = 200_000


def _group(k: IncidentKpis) -> KpiGroup:
    return KpiGroup(
        key=k.key,
        reported=k.reported,
        closed=k.closed,
        cancelled=k.cancelled,
        open=k.open,
        closed_loop_rate=k.closed_loop_rate,
        respond_median_s=k.respond_median_s,
        respond_p90_s=k.respond_p90_s,
        close_median_s=k.close_median_s,
        close_p90_s=k.close_p90_s,
        overdue=k.overdue,
        reopened=k.reopened,
        reopen_rate=k.reopen_rate,
        satisfaction_mean=k.satisfaction_mean,
        satisfaction_count=k.satisfaction_count,
    )


@router.get("/kpis", responses=problems(400, 401, 403, 404, 429))
async def kpis(
    *,
    cid: CommunityRead,
    conn: DbConn,
    state: State,
    start: Annotated[
        IsoDatetime | None,
        Query(alias="from", description="reported at or after (default: 30 days before `to`)"),
    ] = None,
    end: Annotated[
        IsoDatetime | None, Query(alias="to", description="reported before (default: now)")
    ] = None,
    by: Annotated[
        GroupBy | None, Query(description="one row per grid, building or category")
    ] = None,
) -> KpisPublic:
    """Over incidents reported in `[from, to)`: reported, closed, `closed_loop_rate` =
    closed ÷ (reported − cancelled) as a fraction 0–1, median and p90 time to respond
    (first acceptance) and to close in seconds, overdue (as of now), reopen rate,
    mean satisfaction (1–5) of rated closures."""
    now = state.now()
    until = utc_param(end, "to") or now
    since = utc_param(start, "from") or max(
        until - DEFAULT_SPAN, until.replace(year=1970, month=1, day=1)
    )
    if until <= since:
        raise BadRequestError("to", "must be after from")
    records = await kpi_records(conn, cid, since, until, MAX_INCIDENTS)
    total = incident_kpis(records, start=since, end=until, as_of=now)[0]
    groups = incident_kpis(records, start=since, end=until, as_of=now, by=by) if by else ()
    return KpisPublic(
        community=cid,
        start=since,
        end=until,
        as_of=now,
        by=by,
        total=_group(total),
        groups=[_group(g) for g in groups],
    )


def _rating(s: Satisfaction) -> SatisfactionPublic:
    return SatisfactionPublic(key=s.key, mean=s.mean, count=s.count)


@router.get("/kpis/satisfaction", responses=problems(400, 401, 403, 404, 429))
async def satisfaction(
    *,
    cid: CommunityRead,
    conn: DbConn,
    state: State,
    tz: Annotated[
        str | None,
        Query(
            max_length=64,
            pattern=r"^[A-Za-z0-9_+-]+(/[A-Za-z0-9_+-]+)*$",
            description="IANA zone of `today`, e.g. Asia/Shanghai (default: the API's)",
        ),
    ] = None,
) -> SatisfactionKpisPublic:
    """Residents' ratings (1–5) of the incidents closed today, in the last 30 days,
    and per grid over those 30 days: mean and count."""
    zone_name = tz or state.config.timezone
    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # a directory, a bad name
        raise BadRequestError("tz", f"unknown time zone {zone_name!r}") from None
    now = state.now()
    day_start = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    records = await rated_records(conn, cid, now - WINDOW, MAX_INCIDENTS)
    found = satisfaction_kpis(records, now=now, day_start=day_start)
    return SatisfactionKpisPublic(
        community=cid,
        as_of=now,
        timezone=zone_name,
        today=_rating(found.today),
        last_30_days=_rating(found.last_30_days),
        by_grid=[_rating(g) for g in found.by_grid],
    )
