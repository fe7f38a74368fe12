"""History of one metric: raw points or time buckets, for one device or an area.

The one implementation behind ``GET .../history`` and ``commtwin history``.
Bucketed queries read the coarsest table whose rows fit whole in a bucket
(``readings_1h``, ``readings_1m``, else raw ``readings``) and re-aggregate:
avg = Σv_sum / Σn, last = the last_value with the greatest last_ts. Both
storage modes expose those columns, so answers do not depend on the mode.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, cast, get_args

from psycopg import sql

from api import buckets
from api.buckets import EPOCH, Agg, HistoryRequestError, Source, TimeWindow
from api.db import Conn, fetch_all, fetch_one
from api.errors import NotFoundError
from api.queries.rollup_split import read_split
from schemas.rollup_window import CALL, UNREAD, Split, window_params

AGGS: Final[tuple[str, ...]] = get_args(Agg)
DEFAULT_SPAN: Final = timedelta(days=1)

# Aggregates over raw rows and over rollup rows; chosen from these fixed
# texts, never built from request values. Ties on time break by device key so
# that `last` is the same whichever table answers.
_RAW_AGG: Final[dict[str, sql.SQL]] = {
    "avg": sql.SQL("avg(value)"),
    "min": sql.SQL("min(value)"),
    "max": sql.SQL("max(value)"),
    "sum": sql.SQL("sum(value)"),
    "count": sql.SQL("count(*)::float8"),
    "last": sql.SQL("(array_agg(value ORDER BY ts DESC, device_key DESC))[1]"),
}
_ROLLUP_AGG: Final[dict[str, sql.SQL]] = {
    "avg": sql.SQL("sum(v_sum) / sum(n)"),
    "min": sql.SQL("min(v_min)"),
    "max": sql.SQL("max(v_max)"),
    "sum": sql.SQL("sum(v_sum)"),
    "count": sql.SQL("sum(n)::float8"),
    "last": sql.SQL("(array_agg(last_value ORDER BY last_ts DESC, device_key DESC))[1]"),
}
_BUCKETED = sql.SQL(
    "SELECT date_bin(%(width)s, {time}, %(origin)s) AS t, {agg} AS v FROM {table}"
    " WHERE device_key = ANY(%(keys)s) AND metric_key = %(metric)s"
    " AND {time} >= %(start)s AND {time} < %(end)s"
    " GROUP BY 1 ORDER BY 1"
)
_RAW_POINTS = sql.SQL(
    "SELECT ts AS t, value AS v FROM readings"
    " WHERE device_key = ANY(%(keys)s) AND metric_key = %(metric)s"
    " AND ts >= %(start)s AND ts < %(end)s ORDER BY ts LIMIT %(limit)s"
)


@dataclass(frozen=True, slots=True)
class Selection:
    """Whose readings: one device, or every device of an area (optionally of a kind)."""

    community: str
    device: str | None = None
    building: str | None = None
    storey: int | None = None
    kind: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryRequest:
    selection: Selection
    metric: str
    start: datetime | None = None
    end: datetime | None = None
    bucket: str | None = None
    agg: str | None = None


@dataclass(frozen=True, slots=True)
class HistoryPlan:
    window: TimeWindow  # widened to whole buckets when bucketed
    width: timedelta | None
    agg: Agg | None
    source: Source
    limit: int


@dataclass(frozen=True, slots=True)
class HistoryResult:
    request: HistoryRequest
    plan: HistoryPlan
    devices: int
    points: list[tuple[datetime, float | None]]


def plan(req: HistoryRequest, now: datetime, max_points: int) -> HistoryPlan:
    """Check the parameters and decide what to read (pure).

    >>> now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    >>> p = plan(HistoryRequest(Selection("c", "d"), "t", bucket="2h"), now, 100)
    >>> p.source, p.agg, p.window.start.isoformat(), p.window.end.isoformat()
    ('readings_1h', 'avg', '2026-02-28T12:00:00+00:00', '2026-03-01T14:00:00+00:00')
    >>> plan(HistoryRequest(Selection("c", "d"), "t", bucket="1m"), now, 100)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    api.buckets.HistoryRequestError: bucket: 1m over this range gives 1440 points, more than ...
    """
    sel = req.selection
    if sel.device is None and req.bucket is None:
        raise HistoryRequestError("bucket", "is required when aggregating across devices")
    if sel.storey is not None and sel.building is None:
        raise HistoryRequestError("storey", "needs building")
    if req.agg is not None and req.agg not in AGGS:
        raise HistoryRequestError("agg", f"{req.agg!r} is not one of {', '.join(AGGS)}")
    win = buckets.window(req.start, req.end, now, DEFAULT_SPAN)
    if req.bucket is None:
        if req.agg is not None:
            raise HistoryRequestError("agg", "needs bucket")
        return HistoryPlan(win, None, None, "readings", max_points)
    width = buckets.parse_bucket(req.bucket)
    widened = buckets.widen(win, width)
    count = buckets.bucket_count(widened, width)
    if count > max_points:
        raise HistoryRequestError(
            "bucket",
            f"{req.bucket} over this range gives {count} points, more than the limit of "
            f"{max_points}; use a wider bucket or a shorter range",
        )
    # Checked against AGGS above.
    agg = cast(Agg, req.agg if req.agg is not None else "avg")
    return HistoryPlan(widened, width, agg, buckets.source_for(width), max_points)


def statement(p: HistoryPlan) -> sql.Composed:
    """The SQL for a plan (parameters come from :func:`parameters`)."""
    if p.width is None or p.agg is None:
        return _RAW_POINTS.format()
    rollup = p.source != "readings"
    return _BUCKETED.format(
        time=sql.Identifier("bucket" if rollup else "ts"),
        agg=(_ROLLUP_AGG if rollup else _RAW_AGG)[p.agg],
        # The live rollups: rows of closed buckets, the newest from raw readings
        # (schemas/sql/0090), so a fresh reading counts at once; for a window
        # of whole buckets and a split read first, so only the raw partitions
        # it needs are planned (0093, 0094).
        table=sql.SQL(CALL.format(p.source)) if rollup else sql.Identifier(p.source),
    )


def parameters(
    p: HistoryPlan, device_keys: list[int], metric_key: int, split: Split = UNREAD
) -> dict[str, object]:
    """The statement's parameters; a rollup source's ``split`` read just before."""
    bounds = {}
    if p.source != "readings":
        bounds = window_params(p.source, p.window.start, p.window.end, split)
    return {
        **bounds,
        "width": p.width,
        "origin": EPOCH,
        "keys": device_keys,
        "metric": metric_key,
        "start": p.window.start,
        "end": p.window.end,
        # One more than allowed tells "exactly the limit" from "too many".
        "limit": p.limit + 1,
    }


async def fetch(conn: Conn, req: HistoryRequest, now: datetime, max_points: int) -> HistoryResult:
    """Run a history request: 404 for unknown objects, 400 for bad parameters."""
    p = plan(req, now, max_points)
    metric_key = await _metric_key(conn, req.metric)
    keys = await _device_keys(conn, req.selection)
    points: list[tuple[datetime, float | None]] = []
    if keys:
        split = await read_split(conn, p.source) if p.source != "readings" else UNREAD
        rows = await fetch_all(conn, statement(p), parameters(p, keys, metric_key, split))
        points = [(r["t"], r["v"]) for r in rows]
    if p.width is None and len(points) > max_points:
        raise HistoryRequestError(
            "from",
            f"the range holds more than {max_points} raw points; "
            "shorten it or set bucket to aggregate",
        )
    return HistoryResult(req, p, len(keys), points)


async def _metric_key(conn: Conn, name: str) -> int:
    row = await fetch_one(conn, "SELECT key FROM metrics WHERE name = %(n)s", {"n": name})
    if row is None:
        raise HistoryRequestError("metric", f"unknown metric {name!r}")
    return int(row["key"])


async def _device_keys(conn: Conn, sel: Selection) -> list[int]:
    if sel.device is not None:
        row = await fetch_one(
            conn,
            "SELECT key FROM devices WHERE community_id = %(c)s AND id = %(d)s",
            {"c": sel.community, "d": sel.device},
        )
        if row is None:
            raise NotFoundError("device", sel.device)
        return [int(row["key"])]
    if sel.building is not None:
        found = await fetch_one(
            conn,
            "SELECT 1 FROM buildings WHERE community_id = %(c)s AND id = %(b)s",
            {"c": sel.community, "b": sel.building},
        )
        if found is None:
            raise NotFoundError("building", sel.building)
    rows = await fetch_all(
        conn,
        "SELECT key FROM devices WHERE community_id = %(c)s"
        " AND (%(b)s::text IS NULL OR building_id = %(b)s)"
        " AND (%(s)s::integer IS NULL OR storey_idx = %(s)s)"
        " AND (%(k)s::text IS NULL OR kind = %(k)s) ORDER BY key",
        {"c": sel.community, "b": sel.building, "s": sel.storey, "k": sel.kind},
    )
    return [int(r["key"]) for r in rows]


def to_csv(result: HistoryResult) -> str:
    """Points as CSV: ``t`` in ISO 8601 UTC, ``v`` empty when there is none.

    >>> p = HistoryPlan(TimeWindow(EPOCH, EPOCH), None, None, "readings", 1)
    >>> r = HistoryResult(HistoryRequest(Selection("c"), "m"), p, 1, [(EPOCH, 1.5), (EPOCH, None)])
    >>> print(to_csv(r), end="")
    t,v
    1970-01-01T00:00:00Z,1.5
    1970-01-01T00:00:00Z,
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["t", "v"])
    for t, v in result.points:
        writer.writerow([iso_utc(t), "" if v is None else repr(v)])
    return out.getvalue()


def iso_utc(t: datetime) -> str:
    """``2026-01-01T10:00:00Z`` (microseconds kept when present)."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")
