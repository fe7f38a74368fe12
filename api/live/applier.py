"""The one task that changes live states: builds, notifications, rebuilds after gaps.

Everything that changes a community's :class:`~api.live.document.CommunityLive`
runs here, in order, so reads of the database and updates never interleave.
Items that arrived together are handled together: the changes of a community
cost one read of the change log and one query per kind of object, however many.

**Whole commits.** A notification only says that a community has a new
commit. What is applied is read from the change log in one snapshot: every
row of the transactions the state's frontier snapshot did not see, with the
objects they name as that snapshot has them. A transaction's rows are all
visible or none, so each new version (and each group of ``/stream`` events
before its ``version`` event) is a set of whole commits, and the state equals
the database at one instant.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import orjson

from api.live import events as ev
from api.live.document import CommunityLive
from api.live.fanout import Fanout
from api.live.loading import ChangedObjects, alarm_ref
from api.live.reader import LiveReader, LiveUnavailableError, change_event
from api.live.rows import alarm_state, device_state, incident_state, recent_incident

log = logging.getLogger(__name__)

RETRY_S: Final = 2.0
_DRAIN_MAX: Final = 20_000


@dataclass(frozen=True, slots=True)
class Change:
    """One ``commtwin_changes`` notification: a commit of ``community`` (one per commit)."""

    seq: int
    community: str
    tx: str | None = None
    rows: int = 1
    kinds: frozenset[str] = frozenset()


def parse_change(payload: str) -> Change | None:
    """The notification's fields, or None when it is not one of ours.

    >>> parse_change('{"tx": "9", "seq": 5, "rows": 2, "community": "c", "kinds": ["alarm"]}')
    Change(seq=5, community='c', tx='9', rows=2, kinds=frozenset({'alarm'}))
    >>> parse_change('{"seq": "x"}') is None
    True
    """
    try:
        doc = orjson.loads(payload)
        kinds = doc.get("kinds") or ([doc["kind"]] if "kind" in doc else [])
        return Change(
            int(doc["seq"]),
            str(doc["community"]),
            None if doc.get("tx") is None else str(doc["tx"]),
            int(doc.get("rows", 1)),
            frozenset(str(k) for k in kinds),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None


@dataclass(frozen=True, slots=True)
class Build:
    community: str


@dataclass(frozen=True, slots=True)
class Resync:
    """Rebuild these communities (None: every one held) and replay to subscribers."""

    communities: frozenset[str] | None
    reason: str


Work = Change | Build | Resync


class Applier:
    def __init__(
        self, reader: LiveReader, fanout: Fanout, after_build: Callable[[], None] | None = None
    ) -> None:
        self.reader = reader
        self.fanout = fanout
        # Called once states were built or rebuilt (api/live/heap.py freezes them).
        self.after_build = after_build
        self.entries: dict[str, CommunityLive] = {}
        self.builds: dict[str, asyncio.Future[CommunityLive | None]] = {}
        self.work: asyncio.Queue[Work] = asyncio.Queue()

    def request_build(self, community: str) -> asyncio.Future[CommunityLive | None]:
        fut = self.builds.get(community)
        if fut is None:
            fut = asyncio.get_running_loop().create_future()
            self.builds[community] = fut
            self.work.put_nowait(Build(community))
        return fut

    def fail_builds(self, reason: str) -> None:
        for fut in self.builds.values():
            if not fut.done():
                fut.set_exception(LiveUnavailableError(reason))
        self.builds.clear()

    async def run(self) -> None:
        while True:
            items: list[Work] = [await self.work.get()]
            while not self.work.empty() and len(items) < _DRAIN_MAX:
                items.append(self.work.get_nowait())
            try:
                await self.process(items)
            except asyncio.CancelledError:
                raise
            except Exception:  # the applier must outlive any bad row or bug
                log.exception("live: applying changes failed; rebuilding in %.0f s", RETRY_S)
                self._retry(None, "an update failed")

    def _retry(self, communities: frozenset[str] | None, reason: str) -> None:
        asyncio.get_running_loop().call_later(
            RETRY_S, self.work.put_nowait, Resync(communities, reason)
        )

    async def process(self, items: list[Work]) -> None:
        resync: set[str] = set()
        reason = ""
        changes: dict[str, list[Change]] = defaultdict(list)
        builds: list[str] = []
        for item in items:
            if isinstance(item, Change):
                changes[item.community].append(item)
            elif isinstance(item, Build):
                builds.append(item.community)
            else:
                held = frozenset(self.entries) | self.fanout.communities()
                resync |= held if item.communities is None else item.communities
                reason = reason or item.reason
        for community in sorted(resync):
            await self._resync(community, reason)
        for community, batch in changes.items():
            if community in resync:
                continue  # the rebuild read it, in the same snapshot as the rest
            try:
                await self._apply(community, batch)
            except LiveUnavailableError as exc:
                log.warning("live: %s: %s; rebuilding in %.0f s", community, exc, RETRY_S)
                self._retry(frozenset({community}), "an update failed")
        for community in builds:
            await self._build(community)
        if (builds or resync) and self.after_build is not None:
            self.after_build()

    async def _build(self, community: str) -> None:
        fut = self.builds.pop(community, None)
        try:
            entry = self.entries.get(community)
            if entry is None:
                entry = await self.reader.load(community)
                if entry is not None:
                    self.entries[community] = entry
                    self._render(entry)
        except Exception as exc:  # whatever it is, the waiting request is told
            if not isinstance(exc, LiveUnavailableError):
                log.exception("live: building %s failed", community)
                exc = LiveUnavailableError(f"the live state of {community!r} could not be built")
            if fut is not None and not fut.done():
                fut.set_exception(exc)
            return
        if fut is not None and not fut.done():
            fut.set_result(entry)

    async def _rebuild(self, community: str) -> CommunityLive | None:
        """Reload a held community; its version never goes back."""
        old = self.entries.get(community)
        new = await self.reader.load(community)
        if new is None:
            self.entries.pop(community, None)
            return None
        if old is not None and new.version <= old.version:
            # The same sequence, perhaps other content (a change that committed
            # late, or missed during a gap): keep the version, change the ETag.
            new.state.set_version(old.version, old.state.last_update)
            new.revision = old.revision
            new.touch()
        self.entries[community] = new
        self._render(new)
        return new

    def _render(self, entry: CommunityLive) -> None:
        # Rendered now, the first poll's objects are frozen with the state
        # (api/live/heap.py) instead of waiting for the next periodic freeze.
        if self.after_build is not None:
            entry.document(self.reader.now())

    async def _resync(self, community: str, reason: str) -> None:
        """Rebuild one community after a gap; replay what its subscribers missed:
        the commits the new state's snapshot holds and the old one's did not."""
        old = self.entries.get(community)
        listening = self.fanout.count(community) > 0
        try:
            if old is None:
                if listening:
                    self.fanout.publish(community, [ev.reset_event(reason, 0)])
                return
            entry = await self._rebuild(community)
            if entry is None:
                self.fanout.publish(community, [ev.reset_event("the community was removed", 0)])
                return
            if not listening:
                return
            if old.frontier is None or entry.frontier is None:
                events, why = await self.reader.replay(community, old.version)
            else:
                events = await self.reader.missed(community, old.frontier, entry.frontier)
                why = None
        except LiveUnavailableError as exc:
            log.warning("live: %s: rebuild failed (%s); retry in %.0f s", community, exc, RETRY_S)
            self._retry(frozenset({community}), reason)
            return
        if why is not None:
            self.fanout.publish(community, [ev.reset_event(f"{reason}: {why}", entry.version)])
            return
        self.fanout.publish(community, [*events, ev.version_event(entry.version, entry.etag)])

    async def _apply(self, community: str, batch: list[Change]) -> None:
        entry = self.entries.get(community)
        listening = self.fanout.count(community) > 0
        if entry is None:
            if listening:  # subscribers of a community no longer held: refetch /live
                self.fanout.publish(community, [ev.reset_event("the live state was reloaded", 0)])
            return  # nobody looks at it: it is read fresh when someone does
        if entry.frontier is None or any("community" in c.kinds for c in batch):
            await self._resync(community, "the community model changed")
            return
        found = await self.reader.commits(community, entry.frontier)
        if not found.rows:
            entry.frontier = found.snapshot
            return  # commits a rebuild already held
        if any(r["kind"] == "community" for r in found.rows):
            await self._resync(community, "the community model changed")
            return
        refs = {(str(r["kind"]), str(r["ref"])) for r in found.rows}
        changed = apply_objects(entry, refs, found.objects)
        last = max(found.rows, key=lambda r: int(r["seq"]))
        entry.frontier = found.snapshot
        entry.advance(int(last["seq"]), last["at"], changed=changed)
        if listening:
            now = self.reader.now()
            out = [change_event(community, r, found.objects, now) for r in found.rows]
            out.append(ev.version_event(entry.version, entry.etag))
            self.fanout.publish(community, out)


def apply_objects(
    entry: CommunityLive, refs: Iterable[tuple[str, str]], objects: ChangedObjects
) -> bool:
    """Put the current rows of the changed objects into ``entry``; True if anything changed."""
    changed = False
    for kind, ref in sorted(refs):
        row = objects.row_for(kind, ref)
        try:
            if kind == "device":
                changed |= entry.apply_device(ref, device_state(row) if row else None)
            elif kind == "alarm":
                alarm_id = alarm_ref(ref)
                if alarm_id is not None:
                    changed |= entry.apply_alarm(alarm_id, alarm_state(row) if row else None)
            elif kind == "incident":
                state = incident_state(row) if row else None
                changed |= entry.apply_incident(ref, state, recent_incident(row) if row else None)
        except (ValueError, KeyError) as exc:
            log.warning("live: skipping the %s %r: %s", kind, ref, exc)
    return changed
