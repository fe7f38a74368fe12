"""``GET /v1/me/stream``: server-sent events telling a signed-in person "your incidents changed".

The phone page keeps it open (``EventSource``: same origin, so the session
cookie goes with it) and re-reads ``GET /v1/me/incidents`` when told to. It
follows the same live hub as the cockpit's ``/stream``, but says much less:

* ``incidents``: ``{"id": ...}`` of an incident this person may see that changed;
  ``{}`` after a ``reset`` of the hub (changes were missed: re-read everything);
* ``closing``: the session ended (signed out, expired, password reset); the page signs in again.

Nothing else of the community passes: other incidents, alarms and devices are
dropped here, judged by the same rule as every read (twin.people.visibility).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import State
from api.errors import NotFoundError
from api.live import events as ev
from api.live.fanout import Subscriber
from api.live.hub import LiveHub
from api.models.common import problems
from api.queries.incidents import report_scope
from api.routes.live import live_hub
from api.sessions import Session, SignedIn, find_session
from api.state import ApiState
from twin.people.roles import Person
from twin.people.visibility import may_see

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


def changed_incident(person: Person, event: ev.StreamEvent) -> dict[str, str] | None:
    """What to tell ``person`` about one hub event: None for nothing.

    >>> from twin.people.roles import Household, Role
    >>> p = Person(1, "c", Role.RESIDENT, household=Household("b1", "1-101"))
    >>> mine = '{"incident": {"id": "r-1", "building": "b1", "unit": "1-101", "grid": "g1"}}'
    >>> theirs = '{"incident": {"id": "r-2", "building": "b1", "unit": "1-102", "grid": "g1"}}'
    >>> changed_incident(p, ev.StreamEvent("incident", 7, mine))
    {'id': 'r-1'}
    >>> changed_incident(p, ev.StreamEvent("incident", 8, theirs)) is None
    True
    >>> changed_incident(p, ev.StreamEvent("reset", 9, "{}"))
    {}
    """
    if event.event == ev.RESET:
        return {}
    if event.event != "incident":
        return None
    item = orjson.loads(event.data).get("incident")
    if not isinstance(item, dict) or not isinstance(item.get("id"), str):
        return None
    if not may_see(person, report_scope(person.community_id, item)):
        return None
    return {"id": item["id"]}


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
    person = session.person
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
            told = changed_incident(person, event) if event is not None else None
            if told is not None:
                yield ServerSentEvent(data=orjson.dumps(told).decode(), event="incidents")
    finally:
        hub.unsubscribe(sub)
