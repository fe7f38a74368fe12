"""``GET /v1/communities/{cid}/live`` answered before FastAPI's routing, when it can be.

Hundreds of screens poll ``/live``; FastAPI's routing and parameter handling
cost several times what the answer itself does (bytes already rendered). This
middleware serves the request directly when everything it needs is already
in memory: the key in the key cache, the community known to exist, the
document rendered. The checks are those of the route (:func:`api.deps.authorize`,
same caches, same order). Anything else (a key or community not cached, a
rate-limited key, a community not built yet, a malformed path) falls through
to the route, which answers it with the same rules and fills the caches.
"""

from __future__ import annotations

import hashlib
import re
import time
from typing import Final, cast

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from api.deps import presented_key
from api.live.answer import answer
from api.live.hub import LiveHub
from api.live.warm import CacheWarmer
from api.routes import live as live_routes
from api.state import ApiState

_PREFIX: Final = "/v1/communities/"
_SUFFIX: Final = "/live"
_COMMUNITY: Final = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


class LiveFastPath:
    def __init__(self, app: ASGIApp, hub: LiveHub, route: BaseRoute) -> None:
        self.app = app
        self.hub = hub
        # The /live route, set in the scope as routing would (the metrics' label).
        self.route = route
        self.warmer = CacheWarmer()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                cid = path[len(_PREFIX) : -len(_SUFFIX)]
                if _COMMUNITY.fullmatch(cid):
                    answered = await self.answer(scope, cid, send)
                    if answered:
                        return
        await self.app(scope, receive, send)

    async def answer(self, scope: Scope, cid: str, send: Send) -> int:
        """Answer the poll from memory: its status, or 0 when the route must answer."""
        state = cast(ApiState | None, getattr(scope["app"].state, "api", None))
        if state is None:
            return 0
        request = Request(scope)
        text = presented_key(request)
        if not text:
            return 0
        now = state.monotonic()
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
        key = state.keys.get(digest, now)
        if key is None or not key.sees(cid) or not key.grants("cockpit:read"):
            return 0
        if not state.communities.get(cid, now):
            return 0
        # Looked up again before they expire, so polls never stampede the route.
        self.warmer.key(state, digest, text, now)
        self.warmer.community(state, cid, now)
        doc = self.hub.cached(cid, state.now())
        if doc is None:
            return 0
        # Last, as the route does it: a token is spent only on a request served.
        if state.limiter.check(key.id, now) is not None:
            return 0  # the route answers 429 (its check spends nothing more)
        scope["route"] = self.route
        headers = request.headers
        status, raw, body = answer(
            doc, headers.get("if-none-match"), headers.get("accept-encoding")
        )
        await send({"type": "http.response.start", "status": status, "headers": list(raw)})
        await send({"type": "http.response.body", "body": body})
        return status


class LiveFront:
    """The same fast path in front of the whole app, as ``commtwin api`` serves it.

    Inside the app a poll still crosses FastAPI's and Starlette's own layers
    and the metrics and body-limit middlewares before it reaches
    :class:`LiveFastPath`: about a quarter of its CPU time (py-spy, 304
    path). In front of them it is answered by the same checks and counted in
    the same metrics; everything else, and any poll it cannot answer, goes
    to the app unchanged. A cross-origin request goes to the app when CORS
    is configured (its middleware adds the headers).
    """

    def __init__(self, app: Starlette, hub: LiveHub, route: BaseRoute) -> None:
        self.app = app
        self.fast = LiveFastPath(app, hub, route)
        self.route_path = str(getattr(route, "path", "unmatched"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            path: str = scope["path"]
            if path.startswith(_PREFIX) and path.endswith(_SUFFIX):
                cid = path[len(_PREFIX) : -len(_SUFFIX)]
                if _COMMUNITY.fullmatch(cid) and await self._answer(scope, cid, send):
                    return
        await self.app(scope, receive, send)

    async def _answer(self, scope: Scope, cid: str, send: Send) -> bool:
        state = cast(ApiState | None, getattr(self.app.state, "api", None))
        if state is None:
            return False
        if state.config.cors_origins and any(k == b"origin" for k, _ in scope["headers"]):
            return False
        started = time.perf_counter()
        scope["app"] = self.app  # as Starlette sets it; the fast path reads the state there
        status = await self.fast.answer(scope, cid, send)
        if status:
            state.metrics.observe(self.route_path, "GET", status, time.perf_counter() - started)
        return bool(status)


def live_front(app: Starlette) -> LiveFront:
    """:class:`LiveFront` around an app made by :func:`api.app.create_app`."""
    return LiveFront(app, cast(LiveHub, app.state.live), live_routes.router.routes[0])
