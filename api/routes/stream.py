"""``GET /v1/communities/{cid}/stream``: server-sent events of the live state's changes.

Events (``event:`` name, ``id:`` change sequence, JSON ``data``):

* ``device``, ``alarm``, ``incident``, ``community``: one per change-log row,
  with the object's current state (see :mod:`api.live.events`);
* ``version``: after each batch of changes, the version (ETag) ``/live`` now has;
* ``reset``: changes were missed (resume too old, client too slow, database
  link lost): refetch ``/live``;
* ``closing``: the key was revoked; the stream ends.

A reconnecting client sends ``Last-Event-ID`` (browsers do by themselves) and
gets the changes it missed from the change log. Keep-alive comments every
``sse_ping_s`` seconds keep proxies from closing an idle stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.deps import CommunityRead, State, authorize
from api.errors import ApiError, BadRequestError, NotFoundError
from api.live import events as ev
from api.live.fanout import Subscriber
from api.live.hub import LiveHub
from api.live.reader import LiveUnavailableError
from api.models.common import problems
from api.routes.live import live_hub

router = APIRouter(prefix="/v1/communities/{cid}", tags=["live"])

RETRY_MS = 3000
_MAX_ID_DIGITS = 18
_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "an endless text/event-stream",
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    },
    **problems(400, 401, 403, 404, 429),
}


def parse_last_event_id(value: str | None, param: str) -> int | None:
    """The change sequence a client resumes after.

    >>> parse_last_event_id("42", "Last-Event-ID"), parse_last_event_id(" ", "x")
    (42, None)
    >>> parse_last_event_id("abc", "Last-Event-ID")
    Traceback (most recent call last):
    ...
    api.errors.BadRequestError: Last-Event-ID: must be a change sequence number (an event id)
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isascii() or not text.isdigit() or len(text) > _MAX_ID_DIGITS:
        raise BadRequestError(param, "must be a change sequence number (an event id)")
    return int(text)


def _sse(event: ev.StreamEvent, retry: int | None = None) -> ServerSentEvent:
    ident = str(event.id) if event.id is not None else None
    return ServerSentEvent(data=event.data, event=event.event, id=ident, retry=retry)


@router.get("/stream", response_class=EventSourceResponse, responses=_RESPONSES)
async def stream(
    *,
    request: Request,
    cid: CommunityRead,
    state: State,
    last_event_id: Annotated[
        str | None,
        Header(description="resume after this event id (browsers send it on reconnect)"),
    ] = None,
    resume: Annotated[
        str | None,
        Query(
            alias="last_event_id",
            max_length=40,
            description="the same as the Last-Event-ID header, for a first connection",
        ),
    ] = None,
) -> EventSourceResponse:
    """Changes as they commit: alarms raised/acknowledged/cleared, incidents changed,
    devices online/offline, model imports, and the snapshot version after each batch."""
    after = parse_last_event_id(last_event_id, "Last-Event-ID")
    if after is None:
        after = parse_last_event_id(resume, "last_event_id")
    hub = live_hub(request)
    entry = await hub.ensure(cid)
    if entry is None:
        raise NotFoundError("community", cid)
    # No await between reading the version and subscribing: nothing slips between.
    first = ev.version_event(entry.version, entry.etag)
    # The replay stops at the commits this version holds; later ones come live.
    upto = entry.frontier
    sub = hub.subscribe(cid)
    recheck_s = max(1.0, state.config.key_cache_s)
    return EventSourceResponse(
        _events(request, hub, sub, after=after, upto=upto, first=first, recheck_s=recheck_s),
        ping=state.config.sse_ping_s,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request,
    hub: LiveHub,
    sub: Subscriber,
    *,
    after: int | None,
    upto: str | None,
    first: ev.StreamEvent,
    recheck_s: float,
) -> AsyncIterator[ServerSentEvent]:
    cid = sub.community
    try:
        replayed: set[int] = set()
        if after is not None:
            try:
                events, why = await hub.replay(cid, after, upto)
            except LiveUnavailableError as exc:
                events, why = [], str(exc)
            if why is not None:
                yield _sse(ev.reset_event(why, first.id or 0), RETRY_MS)
            for missed in events:
                yield _sse(missed, RETRY_MS if not replayed else None)
                replayed.add(missed.id or 0)
        yield _sse(first, RETRY_MS)
        clock = asyncio.get_running_loop().time
        next_check = clock() + recheck_s
        while True:
            try:
                event: ev.StreamEvent | None = await asyncio.wait_for(
                    sub.queue.get(), max(0.0, next_check - clock())
                )
            except TimeoutError:
                event = None
            if clock() >= next_check:
                # A stream outlives its key check: look again (cached, cheap), so a
                # revoked key stops streaming like it stops polling.
                try:
                    await authorize(request, cid, "cockpit:read")
                except (HTTPException, ApiError) as exc:
                    yield _sse(ev.closing_event(str(getattr(exc, "detail", exc))))
                    return
                next_check = clock() + recheck_s
            if event is None:
                continue
            if sub.lagged:
                sub.drain()
                current = hub.cached(cid, hub.now())
                version = current.version if current is not None else 0
                yield _sse(ev.reset_event("this client fell behind the changes", version))
                continue
            if event.id is not None and event.id in replayed and event.event != ev.VERSION:
                continue
            yield _sse(event)
    finally:
        hub.unsubscribe(sub)
