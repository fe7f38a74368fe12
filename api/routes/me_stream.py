"""``GET /v1/me/stream``: server-sent events telling a signed-in person "your incidents changed".

The phone page keeps it open (``EventSource``: same origin, so the session
cookie goes with it) and re-reads ``GET /v1/me/incidents`` when told to. It
follows the same live hub as the cockpit's ``/stream``, but says much less:

* ``incidents``: ``{"id": ...}`` of an incident this person may see that changed;
  ``{}`` after a ``reset`` of the hub (changes were missed: re-read everything);
* ``closing``: the session ended (signed out, expired, password reset); the page signs in again.

Nothing else of the community passes: other incidents, alarms and devices are
dropped here, judged by the same rule as every read (twin.people.visibility).
A worker's or the office's view follows from the event's grid; whose report
an incident is (a resident's) is not in the event, so it is read from
``people_reports`` once per incident and stream (it never changes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from psycopg_pool import AsyncConnectionPool
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.db import Conn
from api.deps import State
from api.errors import NotFoundError
from api.live import events as ev
from api.live.fanout import Subscriber
from api.live.hub import LiveHub
from api.models.common import problems
from api.queries.people_reports import incident_scope
from api.routes.live import live_hub
from api.sessions import Session, SignedIn, find_session
from api.state import ApiState
from twin.people.roles import Person, Role
from twin.people.visibility import ReportScope, may_see

router = APIRouter(tags=["people"])

RETRY_MS = 3000
# How often an open stream checks that its session still exists.
SESSION_RECHECK_S = 30.0
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an endless text/event-stream",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **problems(401, 404),
}


def changed_id(event: ev.StreamEvent, community: str) -> tuple[str, str | None] | None:
    """``(incident id, its grid)`` of an incident event of ``community``; None otherwise.

    >>> data = '{"community": "c", "incident": {"id": "r-1", "grid": "g1"}}'
    >>> changed_id(ev.StreamEvent("incident", 7, data), "c")
    ('r-1', 'g1')
    >>> changed_id(ev.StreamEvent("incident", 7, data), "elsewhere") is None
    True
    >>> changed_id(ev.StreamEvent("alarm", 8, '{"community": "c"}'), "c") is None
    True
    """
    if event.event != "incident":
        return None
    body = orjson.loads(event.data)
    if body.get("community") != community:  # the hub's subscription is per community already
        return None
    item = body.get("incident")
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    grid = item.get("grid")
    return item["id"], grid if isinstance(grid, str) else None


def sees_by_grid(person: Person, grid: str | None) -> bool:
    """Whether a worker, property staff or the office sees an incident of ``grid``.

    >>> w = Person(1, "c", Role.WORKER, grids=frozenset({"g1"}))
    >>> sees_by_grid(w, "g1"), sees_by_grid(w, "g2"), sees_by_grid(w, None)
    (True, False, False)
    """
    return may_see(person, ReportScope(person.community_id, grid_id=grid, household=None))


class Judge:
    """Which incidents of the community one stream's person may see."""

    def __init__(self, person: Person, pool: AsyncConnectionPool[Conn]) -> None:
        self.person = person
        self.pool = pool
        self.households: dict[str, bool] = {}  # a resident's verdict per incident id

    async def tells(self, event: ev.StreamEvent) -> dict[str, str] | None:
        """What to tell the person about one hub event: None for nothing."""
        if event.event == ev.RESET:
            return {}
        changed = changed_id(event, self.person.community_id)
        if changed is None:
            return None
        iid, grid = changed
        if self.person.role is not Role.RESIDENT:
            return {"id": iid} if sees_by_grid(self.person, grid) else None
        if iid not in self.households:
            if len(self.households) > 10_000:  # a stream open for months: start again
                self.households.clear()
            async with self.pool.connection() as conn:
                scope = await incident_scope(conn, self.person.community_id, iid)
            self.households[iid] = scope is not None and may_see(self.person, scope)
        return {"id": iid} if self.households[iid] else None


@router.get("/v1/me/stream", response_class=EventSourceResponse, responses=_RESPONSES)
async def my_stream(request: Request, session: SignedIn, state: State) -> EventSourceResponse:
    """Announcements that an incident this person may see changed (no content: re-read it)."""
    hub = live_hub(request)
    cid = session.person.community_id
    if await hub.ensure(cid) is None:
        raise NotFoundError("community", cid)
    sub = hub.subscribe(cid)
    return EventSourceResponse(
        _events(request, hub, sub, session, state),
        ping=state.config.sse_ping_s,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _session_lives(request: Request, state: ApiState) -> bool:
    async with state.pool.connection() as conn:
        return await find_session(request, conn) is not None


async def _events(
    request: Request, hub: LiveHub, sub: Subscriber, session: Session, state: ApiState
) -> AsyncIterator[ServerSentEvent]:
    judge = Judge(session.person, state.pool)
    try:
        # A first event at once: the page knows the stream is open and reads its list.
        yield ServerSentEvent(data="{}", event="incidents", retry=RETRY_MS)
        clock = asyncio.get_running_loop().time
        next_check = clock() + SESSION_RECHECK_S
        while True:
            try:
                event: ev.StreamEvent | None = await asyncio.wait_for(
                    sub.queue.get(), max(0.0, next_check - clock())
                )
            except TimeoutError:
                event = None
            if clock() >= next_check:
                if not await _session_lives(request, state):
                    yield ServerSentEvent(data='{"reason": "session ended"}', event="closing")
                    return
                next_check = clock() + SESSION_RECHECK_S
            if sub.lagged:
                sub.drain()
                yield ServerSentEvent(data="{}", event="incidents")
                continue
            told = await judge.tells(event) if event is not None else None
            if told is not None:
                yield ServerSentEvent(data=orjson.dumps(told).decode(), event="incidents")
    finally:
        hub.unsubscribe(sub)
