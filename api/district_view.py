"""The district overview, computed from the member communities' live states.

Every figure comes from the same in-memory state ``/live`` serves (no
database query but the district's membership, cached for ``key_cache_s``),
so a district screen and a community screen never disagree. The rendered
overview is kept per district with the member ETags it was computed from:
while no member changes, a request costs one ETag per member and a lookup.

Its ETag is a digest of the district, its members and their ``/live`` ETags;
it changes whenever any member's document does (time-driven changes such as
an incident becoming overdue included: each member's ETag is brought up to
``now`` first, without rendering its ``/live`` document).

**Under a feed** every member changes all the time. A member's figures are
kept with the ETag they were computed at, so a render recomputes only the
members that changed; and an overview is rendered at most once per
``render_every_s`` (the last one is served, with its own ETag, until then),
so a district's cost does not grow with its request rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import orjson
from psycopg import Error as DatabaseError
from psycopg_pool import AsyncConnectionPool, PoolTimeout

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

log = logging.getLogger(__name__)

# A district whose members are still being built answers 503 after this long.
BUILD_WAIT_S: Final = 20.0
# An overview is rendered again at most this often while its members change.
RENDER_EVERY_S: Final = 0.5


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
    """One member's figures at ``now`` (its ETag must be brought to ``now`` first)."""
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


@dataclass(frozen=True, slots=True)
class _Rendered:
    members: tuple[str, ...]
    etags: tuple[str, ...]  # the members' /live ETags it was computed at
    at: float  # monotonic time of the render
    overview: Overview


class DistrictBoard:
    """Overviews of every district asked for, in one API process."""

    def __init__(
        self,
        hub: LiveHub,
        *,
        timezone: str,
        members_ttl_s: float,
        monotonic: Callable[[], float],
        render_every_s: float = RENDER_EVERY_S,
    ) -> None:
        self.hub = hub
        self._day_start = day_start_in(timezone)
        self._districts: TtlCache[str, District] = TtlCache(members_ttl_s, max_entries=1000)
        self._positions: dict[tuple[str, str, tuple[float, float, float]], Any] = {}
        self._rendered: dict[str, _Rendered] = {}
        # Per member: the figures and the /live ETag (and membership) they hold for.
        self._figures: dict[str, tuple[str, Member, CommunityFigures]] = {}
        self._render_every_s = render_every_s
        self._monotonic = monotonic
        # Background lookups of districts' members (held so they are not collected).
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def district(self, pool: AsyncConnectionPool[Conn], ident: str) -> District | None:
        """The district and its members (cached); None when it does not exist.

        An entry past half its life is looked up again in the background (once),
        so a polled overview does not wait on the database every ``members_ttl_s``.
        """
        now = self._monotonic()
        found = self._districts.get(ident, now)
        if found is None:
            found = await self._look_up(pool, ident, now)
        elif (
            self._districts.remaining(ident, now) <= self._districts.ttl / 2
            and ident not in self._refreshing
        ):
            task = asyncio.create_task(self._refresh(pool, ident), name="district-warm")
            self._refreshing[ident] = task
            task.add_done_callback(lambda _: self._refreshing.pop(ident, None))
        return found

    async def _look_up(
        self, pool: AsyncConnectionPool[Conn], ident: str, now: float
    ) -> District | None:
        async with pool.connection() as conn:
            found = await district_members(conn, ident)
        if found is None:
            self._districts.discard(ident)
            return None
        self._districts.put(ident, found, now)
        return found

    async def _refresh(self, pool: AsyncConnectionPool[Conn], ident: str) -> None:
        try:
            await self._look_up(pool, ident, self._monotonic())
        except (DatabaseError, PoolTimeout) as exc:
            # The entry expires on its own; the next request then asks (503 if still down).
            log.warning("district %s: could not refresh its members: %s", ident, exc)

    async def entries(self, district: District) -> list[CommunityLive | None]:
        """Every member's live state, building those not held yet (all at once)."""
        held = [self.hub.held(m.id) for m in district.members]
        if all(e is not None for e in held):
            return held  # the usual case: no task per member
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
        """The overview at ``now``: rendered again only when a member's ETag changed,
        and then at most once per ``render_every_s``."""
        held = [(m, e) for m, e in zip(district.members, entries, strict=True) if e is not None]
        etags = tuple(e.etag_at(now) for _, e in held)
        ident = tuple(m.id for m, _ in held)
        last = self._rendered.get(district.id)
        clock = self._monotonic()
        if (
            last is not None
            and last.members == ident
            and (last.etags == etags or clock - last.at < self._render_every_s)
        ):
            return last.overview
        today = self._day_start(now)
        figures = [
            self._figures_of(m, e, etag, now, today)
            for (m, e), etag in zip(held, etags, strict=True)
        ]
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
        self._rendered[district.id] = _Rendered(ident, etags, clock, out)
        return out

    def _figures_of(
        self, member: Member, entry: CommunityLive, etag: str, now: datetime, today: datetime
    ) -> CommunityFigures:
        """A member's figures, kept while its ETag stands (the ETag changes whenever
        they could: a change, a deadline, midnight, the 30-day window)."""
        kept = self._figures.get(member.id)
        if kept is not None and kept[0] == etag and kept[1] == member:
            return kept[2]
        found = figures_of(member, entry, now, today)
        if len(self._figures) > 100_000:
            self._figures.clear()
        self._figures[member.id] = (etag, member, found)
        return found

    def _position(self, member: Member) -> tuple[float, float] | None:
        key = (member.id, member.crs, member.offset)
        if key not in self._positions:
            if len(self._positions) > 100_000:
                self._positions.clear()
            self._positions[key] = position(member)
        found: tuple[float, float] | None = self._positions[key]
        return found
