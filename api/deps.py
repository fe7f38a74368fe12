"""Dependencies shared by the routers, as ``Annotated`` aliases.

``DbConn`` is a pooled connection for the request; ``CurrentKey`` is the
authenticated, rate-limited API key; ``CommunityRead`` & co. are the path's
community id once the key may see it (404 otherwise, hiding existence) and
holds the scope (403 otherwise).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Path, Request

from api.db import Conn
from api.errors import NotFoundError
from api.keys import ApiKey
from api.queries.communities import exists
from api.queries.keys import authenticate
from api.state import ApiState

COMMUNITY_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
# Ids of buildings and devices are free text (they come from model files and
# MQTT topics); NUL cannot be stored, so it cannot name anything.
ID_PATTERN = r"^[^\x00]+$"


def get_state(request: Request) -> ApiState:
    return cast(ApiState, request.app.state.api)


State = Annotated[ApiState, Depends(get_state)]


async def get_conn(state: State) -> AsyncIterator[Conn]:
    async with state.pool.connection() as conn:
        yield conn


DbConn = Annotated[Conn, Depends(get_conn)]


def presented_key(request: Request) -> str | None:
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
    return request.headers.get("x-api-key")


async def _authenticate(state: ApiState, text: str) -> ApiKey | None:
    async with state.pool.connection() as conn:
        return await authenticate(conn, text)


def _unauthorized(reason: str) -> HTTPException:
    return HTTPException(401, reason, headers={"WWW-Authenticate": "Bearer"})


async def current_key(request: Request, state: State) -> ApiKey:
    text = presented_key(request)
    if not text:
        raise _unauthorized("an API key is required (Authorization: Bearer KEY or X-API-Key)")
    now = state.monotonic()
    cache_key = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
    key = state.keys.get(cache_key, now)
    if key is None:
        key = await state.key_lookups.run(cache_key, lambda: _authenticate(state, text))
        if key is None:
            raise _unauthorized("the API key is not valid or has been revoked")
        state.keys.put(cache_key, key, now)
    wait = state.limiter.check(key.id, now)
    if wait is not None:
        raise HTTPException(
            429,
            f"rate limit of {state.limiter.rate:g} requests/s for this key exceeded",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )
    return key


CurrentKey = Annotated[ApiKey, Depends(current_key)]

CommunityId = Annotated[
    str, Path(pattern=COMMUNITY_PATTERN, description="community id", examples=["lanting"])
]
ObjectId = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN)]


def community_access(*scopes: str) -> Callable[..., Coroutine[Any, Any, str]]:
    """A dependency giving the path's community once ``key`` may act there.

    Existence is checked before scope so that a key of community A learns
    nothing about community B, whatever it asks.
    """

    async def check(cid: CommunityId, key: CurrentKey, state: State) -> str:
        if not key.sees(cid) or not await _community_exists(state, cid):
            raise NotFoundError("community", cid)
        if not any(key.grants(s) for s in scopes):
            raise HTTPException(403, f"this key lacks the {' or '.join(scopes)} scope")
        return cid

    return check


async def _exists(state: ApiState, cid: str) -> bool:
    async with state.pool.connection() as conn:
        return await exists(conn, cid)


async def _community_exists(state: State, cid: str) -> bool:
    now = state.monotonic()
    if state.communities.get(cid, now):
        return True
    found = await state.community_lookups.run(cid, lambda: _exists(state, cid))
    if found:
        state.communities.put(cid, True, now)
    return found


async def authorize(request: Request, cid: str, *scopes: str) -> ApiKey:
    """What ``community_access(*scopes)`` checks, as a plain call.

    For hot routes (``/live`` is polled by hundreds of screens): FastAPI's
    dependency resolution costs more than everything else such a request does.
    Same caches, same answers (401, 429, 404 across communities, 403).
    """
    state = get_state(request)
    key = await current_key(request, state)
    if not key.sees(cid) or not await _community_exists(state, cid):
        raise NotFoundError("community", cid)
    if not any(key.grants(s) for s in scopes):
        raise HTTPException(403, f"this key lacks the {' or '.join(scopes)} scope")
    return key


def require(scope: str) -> Callable[[ApiKey], ApiKey]:
    """A dependency for routes outside any community (listing, key admin)."""

    def check(key: CurrentKey) -> ApiKey:
        if not key.grants(scope):
            raise HTTPException(403, f"this key lacks the {scope} scope")
        return key

    return check


CommunityRead = Annotated[str, Depends(community_access("cockpit:read"))]
CommunityMaintain = Annotated[str, Depends(community_access("maintainer"))]
CommunityAck = Annotated[str, Depends(community_access("incidents:write", "maintainer"))]
ReaderKey = Annotated[ApiKey, Depends(require("cockpit:read"))]
AdminKey = Annotated[ApiKey, Depends(require("admin"))]
