"""One community's ``/live`` document: its live state, version and cached bytes.

:class:`CommunityLive` wraps a :class:`twin.live.state.LiveState` with what the API
adds: the closed-loop cohort (incidents reported in the last 30 days), the
model version, and the serialised snapshot, rendered once per change and
served as is to every poller. Pure: the clock is passed in.

**Versions and ETags.** ``version`` is the change-log sequence the state
reflects, so every API process agrees on it. Two things change the document
without a new sequence: time (an incident becomes overdue, a day ends, an
incident leaves the 30-day window) and a change whose transaction committed
after one with a higher sequence. Both bump a local revision, and the ETag
becomes ``"<version>.<revision>"`` until the next sequence arrives, so a
poller holding the old ETag is never told 304 for a changed document.

>>> from datetime import datetime, timedelta, timezone
>>> from twin.live.state import CommunityLayout, IncidentState, LiveState
>>> t = datetime(2026, 11, 28, 10, 0, tzinfo=timezone.utc)
>>> late = IncidentState("r-1", "dispatched", t, respond_due_at=t + timedelta(minutes=5))
>>> live = CommunityLive(LiveState(CommunityLayout("c", "C"), incidents=[late], version=7))
>>> doc = live.document(t)
>>> doc.etag, doc.version, live.document(t + timedelta(minutes=5)) is doc
('"7"', 7, True)
>>> later = live.document(t + timedelta(minutes=6))
>>> later.etag, b'"incidents_overdue":1' in later.body
('"7.1"', True)
>>> live.advance(9, t, changed=True); live.document(t + timedelta(minutes=6)).etag
'"9"'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

import orjson

from api.live.answer import LiveDocument, make_document
from twin.live.state import AlarmState, ClosedLoop, DeviceState, IncidentState, LiveState

LOOP_WINDOW: Final = timedelta(days=30)
_TICK: Final = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class RecentIncident:
    """What the closed-loop rates need of an incident reported in the window."""

    reported_at: datetime
    status: str


def day_start_in(zone: str) -> Callable[[datetime], datetime]:
    """Start of the calendar day holding ``now`` in ``zone`` (for "today" rates).

    >>> from datetime import UTC
    >>> start = day_start_in("Asia/Shanghai")
    >>> start(datetime(2026, 11, 28, 17, 0, tzinfo=UTC)).isoformat()
    '2026-11-29T00:00:00+08:00'
    """
    tz = ZoneInfo(zone)

    def start(now: datetime) -> datetime:
        return datetime.combine(now.astimezone(tz).date(), time(0), tzinfo=tz)

    return start


_UTC_DAY = day_start_in("UTC")


def closed_loop(
    recent: Mapping[str, RecentIncident], now: datetime, day_start: datetime
) -> ClosedLoop:
    """Closed-loop rates as :func:`twin.incidents.kpis.incident_kpis` defines them:
    closed ÷ (reported − cancelled) over incidents reported in the last 30 days
    (``rate``, ``rate_30d``) and since ``day_start`` (``rate_today``).

    >>> from datetime import UTC
    >>> t = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    >>> rows = {"a": RecentIncident(t, "closed"), "b": RecentIncident(t, "accepted"),
    ...         "c": RecentIncident(t, "cancelled"),
    ...         "d": RecentIncident(t - timedelta(days=2), "closed")}
    >>> closed_loop(rows, t, t.replace(hour=0))
    ClosedLoop(rate=0.6666666666666666, rate_today=0.5, rate_30d=0.6666666666666666)
    """
    since = now - LOOP_WINDOW
    counted = closed = counted_today = closed_today = 0
    for r in recent.values():
        if r.status == "cancelled" or not since <= r.reported_at <= now:
            continue
        done = r.status == "closed"
        counted += 1
        closed += done
        if r.reported_at >= day_start:
            counted_today += 1
            closed_today += done
    rate = closed / counted if counted else None
    today = closed_today / counted_today if counted_today else None
    return ClosedLoop(rate=rate, rate_today=today, rate_30d=rate)


def next_deadline(incidents: Iterable[IncidentState], now: datetime) -> datetime | None:
    """The earliest due time after ``now`` at which an open incident becomes overdue.

    >>> from datetime import UTC
    >>> t = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    >>> i = IncidentState("r", "accepted", t, respond_due_at=t + timedelta(minutes=1),
    ...                   resolve_due_at=t + timedelta(hours=1), accepted_at=t)
    >>> next_deadline([i], t) - t  # accepted: only the resolve deadline is left
    datetime.timedelta(seconds=3600)
    """
    due: list[datetime] = []
    for inc in incidents:
        if inc.accepted_at is None and inc.respond_due_at is not None:
            due.append(inc.respond_due_at)
        if inc.status != "resolved" and inc.resolve_due_at is not None:
            due.append(inc.resolve_due_at)
    return min((t for t in due if t >= now), default=None)


class CommunityLive:
    """The live state of one community as the API serves it. One owner: the event loop."""

    def __init__(
        self,
        state: LiveState,
        *,
        recent: Mapping[str, RecentIncident] | None = None,
        model_version: int | None = None,
        day_start: Callable[[datetime], datetime] = _UTC_DAY,
        frontier: str | None = None,
    ) -> None:
        self.state = state
        # The database snapshot (pg_snapshot text) the state reflects: exactly the
        # commits it saw are applied; the next read asks for the ones it did not.
        self.frontier = frontier
        self.recent: dict[str, RecentIncident] = dict(recent or {})
        self.model_version = model_version
        self.revision = 0
        # What the live state holds, by id (LiveState lists them but has no lookup).
        self._alarms = {a.id: a for a in state.alarms()}
        self._incidents = {i.id: i for i in state.incidents()}
        self._day_start = day_start
        self._doc: LiveDocument | None = None
        # The document stays true while `now` is at most this (None: until a change).
        self._valid_until: datetime | None = None

    @property
    def version(self) -> int:
        return self.state.version

    # ---------------------------------------------------------------- changes
    def apply_device(self, device_id: str, device: DeviceState | None) -> bool:
        """Upsert (or remove, when ``device`` is None) one device; True if it changed."""
        old = self.state.device(device_id)
        if old == device:
            return False
        if device is None:
            self.state.remove_device(device_id)
        else:
            self.state.upsert_device(device)
        return True

    def apply_alarm(self, alarm_id: int, alarm: AlarmState | None) -> bool:
        """Upsert one alarm (a cleared or missing one leaves); True if the state changed."""
        new = alarm if alarm is not None and alarm.active else None
        if self._alarms.get(alarm_id) == new:
            return False
        if new is None:
            self.state.remove_alarm(alarm_id)
            del self._alarms[alarm_id]
        else:
            self.state.upsert_alarm(new)
            self._alarms[alarm_id] = new
        return True

    def apply_incident(
        self, incident_id: str, incident: IncidentState | None, recent: RecentIncident | None
    ) -> bool:
        """Upsert one incident and its closed-loop entry; True if either changed."""
        changed = False
        if self.recent.get(incident_id) != recent:
            changed = True
            if recent is None:
                self.recent.pop(incident_id, None)
            else:
                self.recent[incident_id] = recent
        new = incident if incident is not None and incident.open else None
        if self._incidents.get(incident_id) != new:
            changed = True
            if new is None:
                self.state.remove_incident(incident_id)
                del self._incidents[incident_id]
            else:
                self.state.upsert_incident(new)
                self._incidents[incident_id] = new
        return changed

    def advance(self, seq: int, at: datetime | None, *, changed: bool) -> None:
        """Record that the changes up to change-log ``seq`` are applied.

        A higher sequence becomes the version; a change that arrives with a
        sequence at or below it (its transaction committed late) bumps the
        revision instead, so that the ETag still changes.
        """
        if seq > self.state.version:
            self.state.set_version(seq, at)
            self.revision = 0
            self._changed()
        elif changed:
            self.revision += 1
            self._changed()

    def touch(self) -> None:
        """The document changed without a sequence (e.g. a rebuild found more)."""
        self.revision += 1
        self._changed()

    def _changed(self) -> None:
        # The content is fixed again at the next look (etag_at or document).
        self._doc = None
        self._valid_until = None

    # --------------------------------------------------------------- document
    @property
    def etag(self) -> str:
        v = self.state.version
        return f'"{v}"' if self.revision == 0 else f'"{v}.{self.revision}"'

    def etag_at(self, now: datetime) -> str:
        """The ETag of the document at ``now``, without rendering it (the district
        overview needs only this and the counters)."""
        self._bring_to(now)
        return self.etag

    def document(self, now: datetime) -> LiveDocument:
        """The document at ``now``: the cached one unless a change or time made it stale."""
        self._bring_to(now)
        doc = self._doc
        return doc if doc is not None else self._render(now)

    def _bring_to(self, now: datetime) -> None:
        """Fix until when the content stays true by time alone; past that, bump the revision.

        The content depends on time only through deadlines, the day and the
        30-day window, which :meth:`_next_change` bounds: rendered anywhere
        before ``_valid_until`` it is the same document, so the ETag can be
        told without rendering, and rendering can wait for a reader.
        """
        valid = self._valid_until
        if valid is not None and now <= valid:
            return
        if valid is not None:
            # Only time passed: an incident became overdue, a day ended, or an
            # incident left the 30-day window.
            self.revision += 1
            self._doc = None
        horizon = now - LOOP_WINDOW
        for iid in [k for k, r in self.recent.items() if r.reported_at < horizon]:
            del self.recent[iid]
        self._valid_until = self._next_change(now, self._day_start(now))

    def _render(self, now: datetime) -> LiveDocument:
        self.state.set_closed_loop(closed_loop(self.recent, now, self._day_start(now)))
        snap = self.state.snapshot(now)
        body = orjson.dumps({**snap, "model_version": self.model_version})
        doc = make_document(self.state.version, self.etag, body)
        self._doc = doc
        return doc

    def _next_change(self, now: datetime, day_start: datetime) -> datetime:
        """Until when the document rendered at ``now`` stays true by time alone."""
        next_day = self._day_start(day_start + timedelta(hours=36))
        candidates = [next_day - _TICK]
        due = next_deadline(self._incidents.values(), now)
        if due is not None:
            candidates.append(due)
        if self.recent:
            candidates.append(min(r.reported_at for r in self.recent.values()) + LOOP_WINDOW)
        return min(candidates)
