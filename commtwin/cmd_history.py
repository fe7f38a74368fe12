"""`commtwin history DEVICE --metric M ...`: the API's history queries, on the terminal."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta

from api.db import Conn, fetch_all, run_once
from api.errors import ApiError
from api.queries import history
from api.queries.history import HistoryRequest, HistoryResult, Selection
from commtwin.commands import CommandError, SubParsers
from commtwin.settings import Settings

MAX_POINTS = 1_000_000  # the terminal has no response size to protect
_RELATIVE = re.compile(r"^-(\d{1,6})([smhd])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def register(sub: SubParsers) -> None:
    parser = sub.add_parser(
        "history",
        help="a device's readings of one metric: raw or in buckets",
        description="Times are ISO 8601 (UTC unless an offset is given) or relative "
        "to now such as -30d, -6h. Buckets are aligned to multiples of their width "
        "since 1970 UTC and cover whole buckets overlapping [from, to).",
    )
    parser.add_argument("device", help="device id")
    parser.add_argument("--community", help="community id (may be left out when there is only one)")
    parser.add_argument("--metric", required=True, help="metric name, e.g. temperature")
    parser.add_argument("--from", dest="start", help="start (default: a day before --to)")
    parser.add_argument("--to", dest="end", help="end (default: now)")
    parser.add_argument("--bucket", help="bucket width: 30s, 5m, 1h, 1d ... (default: raw)")
    parser.add_argument("--agg", choices=history.AGGS, help="aggregate per bucket (default avg)")
    parser.add_argument("--csv", action="store_true", help="print CSV (t,v)")
    parser.set_defaults(handler=_run)


def parse_time(text: str, option: str, now: datetime) -> datetime:
    """ISO 8601 or ``-<n><s|m|h|d>`` before ``now``.

    >>> now = datetime(2026, 1, 2, tzinfo=UTC)
    >>> parse_time("-1d", "--from", now).isoformat()
    '2026-01-01T00:00:00+00:00'
    >>> parse_time("2026-01-01T06:00Z", "--to", now).hour
    6
    >>> parse_time("yesterday", "--from", now)
    Traceback (most recent call last):
    ...
    commtwin.commands.CommandError: --from: 'yesterday' is neither ISO 8601 nor like -30d
    """
    relative = _RELATIVE.match(text)
    if relative:
        return now - timedelta(**{_UNIT[relative[2]]: int(relative[1])})
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{option}: {text!r} is neither ISO 8601 nor like -30d") from None


async def _query(conn: Conn, community: str | None, req: HistoryRequest) -> HistoryResult:
    if community is None:
        rows = await fetch_all(conn, "SELECT id FROM communities ORDER BY id")
        ids = [r["id"] for r in rows]
        if len(ids) != 1:
            raise CommandError(f"--community is required (communities: {', '.join(ids) or 'none'})")
        community = ids[0]
    sel = Selection(community, device=req.selection.device)
    full = HistoryRequest(sel, req.metric, req.start, req.end, req.bucket, req.agg)
    return await history.fetch(conn, full, datetime.now(UTC), MAX_POINTS)


def _run(args: argparse.Namespace, settings: Settings) -> int:
    now = datetime.now(UTC)
    req = HistoryRequest(
        Selection(args.community or "", device=args.device),
        args.metric,
        parse_time(args.start, "--from", now) if args.start else None,
        parse_time(args.end, "--to", now) if args.end else None,
        args.bucket,
        args.agg,
    )
    try:
        result = run_once(settings.database_url, lambda c: _query(c, args.community, req))
    except ApiError as exc:
        raise CommandError(str(exc)) from None
    if args.csv:
        sys.stdout.write(history.to_csv(result))
        return 0
    p = result.plan
    what = f"{p.agg} per {args.bucket}" if p.width else "raw"
    print(
        f"# {result.request.selection.community}/{args.device} {args.metric}, {what}, "
        f"{history.iso_utc(p.window.start)} .. {history.iso_utc(p.window.end)} "
        f"from {p.source}: {len(result.points)} points"
    )
    for t, v in result.points:
        print(f"{history.iso_utc(t)}  {'' if v is None else f'{v:.12g}'}")
    return 0
