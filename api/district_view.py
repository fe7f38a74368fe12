"""The district overview, computed from the member communities' live states.

Every figure comes from the same in-memory state ``/live`` serves (no
database query but the district's membership, cached for ``key_cache_s``),
so a district screen and a community screen never disagree. The rendered
overview is kept per district with the member ETags it was computed from:
while no member changes, a request costs one ETag per member and a lookup.

Its ETag is a digest of the district, its members and their ``/live`` ETags;
it changes whenever any member's document does (time-driven changes such as
an incident becoming overdue included, since each member document is
brought up to ``now`` first).
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from psycopg_pool import AsyncConnectionPool

from api.cache import TtlCache
from api.db import Conn
from api.live.answer import LiveDocument, make_document
from api.live.document import LOOP_WINDOW, CommunityLive, RecentIncident, day_start_in
from api.live.hub import LiveHub
from api.live.reader import LiveUnavailableError
from api.queries.districts import District, Member, district_members
from twin.errors import ModelError
from twin.live.district import CommunityFigures, community_entry, rank_communities, totals
from twin.live.rows import iso
from twin.model.crs import Frame

# A district whose members are still being built answers 503 after this long.
BUILD_WAIT_S: Final = 20.0


def loop_counts(
    recent: Mapping[str, RecentIncident], now: datetime, since: datetime
) -> tuple[int, int]:
    """(closed, counted) of incidents reported in ``[since, now]``, as
    :func:`api.live.document.closed_loop` counts them (cancelled ones do not count).

    >>> from datetime import UTC, timedelta
    >>> t = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    >>> rows = {"a": RecentIncident(t, "closed"), "b": RecentIncident(t, "cancelled"),
    ...         "c": RecentIncident(t - timedelta(hours=10), "accepted")}
    >>> loop_counts(rows, t, t.replace(hour=0)), loop_counts(rows, t, t - LOOP_WINDOW)
    ((1, 1), (1, 2))
    """
    closed = counted = 0
    for r in recent.values():
        if r.status == "cancelled" or not since <= r.reported_at <= now:
            continue
        counted += 1
        closed += r.status == "closed"
    return closed, counted


def figures_of(
    member: Member, entry: CommunityLive, now: datetime, today: datetime
) -> CommunityFigures:
    """One member's figures at ``now`` (its document must be brought to ``now`` first)."""
    tally = entry.state.community
    critical, major, minor, warning = tally.by_severity()
    return CommunityFigures(
        id=member.id,
        name=entry.state.layout.name or member.name,
        devices_total=tally.devices_total,
        devices_online=tally.devices_online,
        devices_offline=sum(tally.offline),
        alarms=(critical, major, minor, warning),
        incidents_open=tally.incidents_open,
        incidents_overdue=sum(1 for i in entry.state.incidents() if i.overdue(now)),
        loop_today=loop_counts(entry.recent, now, today),
        loop_30d=loop_counts(entry.recent, now, now - LOOP_WINDOW),
    )


def position(member: Member) -> tuple[float, float] | None:
    """Longitude and latitude of the community's local origin (None: not convertible)."""
    try:
        lon, lat, _ = Frame(member.crs, member.offset).to_wgs84([0.0], [0.0])
    except (ModelError, ValueError):
        return None
    x, y = float(lon[0]), float(lat[0])
    return (round(x, 6), round(y, 6)) if math.isfinite(x) and math.isfinite(y) else None


def district_etag(district: District, member_etags: list[str]) -> str:
    """A strong ETag of the overview: the same members at the same versions, the same tag.

    >>> d = District("d", "D", ())
    >>> district_etag(d, ['"7"']) == district_etag(d, ['"7"']), district_etag(d, ['"8"'])[:3]
    (True, '"d-')
    """
    h = hashlib.blake2b(digest_size=12)
    h.update(district.id.encode())
    h.update(district.name.encode())
    for member, etag in zip(district.members, member_etags, strict=False):
        h.update(b"\0" + member.id.encode() + b"=" + etag.encode())
    return f'"d-{h.hexdigest()}"'


@dataclass(frozen=True, slots=True)
class Overview:
    etag: str
    document: LiveDocument  # the rendered answer (identity, gzip, 304), as /live's


class DistrictBoard:
    """Overviews of every district asked for, in one API process."""

    def __init__(
        self,
        hub: LiveHub,
        *,
        timezone: str,
        members_ttl_s: float,
        monotonic: Callable[[], float],
    ) -> None:
        self.hub = hub
        self._day_start = day_start_in(timezone)
        self._districts: TtlCache[str, District] = TtlCache(members_ttl_s, max_entries=1000)
        self._positions: dict[tuple[str, str, tuple[float, float, float]], Any] = {}
        self._rendered: dict[str, tuple[tuple[str, ...], Overview]] = {}
        self._monotonic = monotonic

    async def district(self, pool: AsyncConnectionPool[Conn], ident: str) -> District | None:
        """The district and its members (cached); None when it does not exist."""
        now = self._monotonic()
        found = self._districts.get(ident, now)
        if found is None:
            async with pool.connection() as conn:
                found = await district_members(conn, ident)
            if found is None:
                return None
            self._districts.put(ident, found, now)
        return found

    async def entries(self, district: District) -> list[CommunityLive | None]:
        """Every member's live state, building those not held yet (all at once)."""
        try:
            return list(
                await asyncio.wait_for(
                    asyncio.gather(*(self.hub.ensure(m.id) for m in district.members)),
                    BUILD_WAIT_S,
                )
            )
        except TimeoutError:
            raise LiveUnavailableError(
                f"the live state of district {district.id!r} is being built, try again"
            ) from None

    def overview(
        self, district: District, entries: list[CommunityLive | None], now: datetime
    ) -> Overview:
        """The overview at ``now``; rendered again only when a member's ETag changed."""
        held = [(m, e) for m, e in zip(district.members, entries, strict=True) if e is not None]
        etags = tuple(e.document(now).etag for _, e in held)
        ident = tuple(m.id for m, _ in held)
        cached = self._rendered.get(district.id)
        if cached is not None and cached[0] == (*ident, *etags):
            return cached[1]
        today = self._day_start(now)
        figures = [figures_of(m, e, now, today) for m, e in held]
        ranked = rank_communities(figures)
        members = {m.id: m for m, _ in held}
        versions = {m.id: e.version for m, e in held}
        rows = []
        for r in ranked:
            row = community_entry(r)
            pos = self._position(members[r.figures.id])
            row["lon"], row["lat"] = pos if pos is not None else (None, None)
            row["version"] = versions[r.figures.id]
            row["cockpit"] = f"/cockpit/{r.figures.id}"
            rows.append(row)
        etag = district_etag(
            District(district.id, district.name, tuple(m for m, _ in held)), list(etags)
        )
        body = orjson.dumps(
            {
                "district": district.id,
                "name": district.name,
                "etag": etag,
                "generated_at": iso(now),
                "totals": totals(figures),
                "communities": rows,
            }
        )
        out = Overview(etag, make_document(max(versions.values(), default=0), etag, body))
        if len(self._rendered) > 1000:  # a bound against made-up ids; a few lookups lost
            self._rendered.clear()
        self._rendered[district.id] = ((*ident, *etags), out)
        return out

    def _position(self, member: Member) -> tuple[float, float] | None:
        key = (member.id, member.crs, member.offset)
        if key not in self._positions:
            if len(self._positions) > 100_000:
                self._positions.clear()
            self._positions[key] = position(member)
        found: tuple[float, float] | None = self._positions[key]
        return found
